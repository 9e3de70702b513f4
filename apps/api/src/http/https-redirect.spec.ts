import { httpsLocation } from './https-redirect';

describe('httpsLocation', () => {
  const withoutPublicUrl = { publicUrl: undefined, httpsPort: 21114 };

  it('sends every request to PUBLIC_URL whatever Host it names', () => {
    const target = { publicUrl: 'https://rd.example.com:8443', httpsPort: 21114 };
    expect(httpsLocation({ url: '/login?next=%2F', headers: { host: 'evil.example.net' } }, target)).toBe(
      'https://rd.example.com:8443/login?next=%2F',
    );
    expect(httpsLocation({ url: 'http://evil.example.net/x', headers: {} }, target)).toBe(
      'https://rd.example.com:8443/',
    );
  });

  it("uses the request's host name on API_PORT without PUBLIC_URL, dropping the port it named", () => {
    expect(httpsLocation({ url: '/a', headers: { host: 'RD.example.com:80' } }, withoutPublicUrl)).toBe(
      'https://rd.example.com:21114/a',
    );
    expect(httpsLocation({ url: '/', headers: { host: '[::1]:8080' } }, withoutPublicUrl)).toBe(
      'https://[::1]:21114/',
    );
    expect(
      httpsLocation({ url: '/', headers: { host: '10.0.0.5' } }, { publicUrl: undefined, httpsPort: 443 }),
    ).toBe('https://10.0.0.5/');
  });

  it('refuses a Host that is not a host name', () => {
    for (const host of [
      undefined,
      '',
      'a b',
      'evil.com/x',
      'user@evil.com',
      'host:port',
      '[nope]',
      'a:1:2',
      '-x.com',
    ]) {
      expect(httpsLocation({ url: '/', headers: { host } }, withoutPublicUrl)).toBeUndefined();
    }
  });
});
