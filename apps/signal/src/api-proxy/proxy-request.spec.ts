import { type HttpProxyRequest } from '@switchboard/protocol';

import { clientApiPath, DEFAULT_PROXY_REQUEST_LIMITS, planForward } from './proxy-request';

function request(overrides: Partial<HttpProxyRequest> = {}): HttpProxyRequest {
  return { method: 'POST', path: '/api/heartbeat', headers: [], body: Buffer.from('{}'), ...overrides };
}

describe('clientApiPath', () => {
  it.each([
    '/api/heartbeat',
    '/api/audit/conn',
    '/api/ab/peers?current=1&pageSize=100',
    '/api/login-options',
  ])('forwards the client path %s unchanged', (path) => expect(clientApiPath(path, 2048)).toBe(path));

  it.each([
    ['the operator API', '/api/v1/devices'],
    ['the operator API, upper case', '/api/V1/users'],
    ['the operator API root', '/api/v1'],
    ['the API docs', '/api/docs'],
    ['an absolute URL', 'http://evil.example/api/heartbeat'],
    ['a scheme-relative URL', '//evil.example/api/x'],
    ['a path outside /api/', '/healthz'],
    ['a dot-dot segment', '/api/../api/v1/devices'],
    ['a dot segment', '/api/./heartbeat'],
    ['an encoded slash', '/api/v1%2fdevices'],
    ['an encoded dot', '/api/%2e%2e/v1/devices'],
    ['a backslash', '/api/..\\v1'],
    ['an empty segment', '/api//v1/devices'],
    ['a fragment', '/api/heartbeat#x'],
    ['a space', '/api/heart beat'],
    ['a control character', '/api/heartbeat\r\nHost: x'],
    ['nothing', ''],
  ])('refuses %s', (_what, path) => expect(clientApiPath(path, 2048)).toBeUndefined());

  it('refuses a path over the length limit', () => {
    expect(clientApiPath(`/api/${'a'.repeat(100)}`, 50)).toBeUndefined();
  });
});

describe('planForward', () => {
  it('drops hop-by-hop and address headers, keeps the rest, defaults Content-Type to JSON', () => {
    const plan = planForward(
      request({
        headers: [
          { name: 'Authorization', value: 'Bearer t' },
          { name: 'Connection', value: 'close' },
          { name: 'Host', value: 'evil.example' },
          { name: 'X-Forwarded-For', value: '6.6.6.6' },
          { name: 'Forwarded', value: 'for=6.6.6.6' },
          { name: 'Transfer-Encoding', value: 'chunked' },
          { name: 'Proxy-Foo', value: '1' },
        ],
      }),
      DEFAULT_PROXY_REQUEST_LIMITS,
    );
    expect(plan).toEqual({
      method: 'POST',
      path: '/api/heartbeat',
      headers: [
        ['authorization', 'Bearer t'],
        ['content-type', 'application/json'],
      ],
      body: Buffer.from('{}'),
    });
  });

  it('keeps the caller’s Content-Type, and on GET sends no body and adds no type', () => {
    const typed = planForward(
      request({ method: 'put', headers: [{ name: 'Content-Type', value: 'text/plain' }] }),
      DEFAULT_PROXY_REQUEST_LIMITS,
    );
    expect(typed).toMatchObject({ method: 'PUT', headers: [['content-type', 'text/plain']] });
    const get = planForward(
      request({ method: 'get', headers: [{ name: 'Authorization', value: 'Bearer t' }] }),
      DEFAULT_PROXY_REQUEST_LIMITS,
    );
    expect(get).toEqual({
      method: 'GET',
      path: '/api/heartbeat',
      headers: [['authorization', 'Bearer t']],
      body: undefined,
    });
  });

  it.each([
    ['CONNECT', request({ method: 'CONNECT' }), 405],
    ['TRACE', request({ method: 'TRACE' }), 405],
    ['operator path', request({ path: '/api/v1/users' }), 403],
    ['header name with a colon', request({ headers: [{ name: 'X:Y', value: '1' }] }), 400],
    ['header value with CRLF', request({ headers: [{ name: 'X-A', value: 'a\r\nX-B: b' }] }), 400],
    [
      'too many headers',
      request({ headers: Array.from({ length: 65 }, () => ({ name: 'X-A', value: '1' })) }),
      400,
    ],
    ['oversize body', request({ body: Buffer.alloc(60 * 1024 + 1) }), 413],
  ])('refuses %s', (_what, input, status) => {
    expect(planForward(input, DEFAULT_PROXY_REQUEST_LIMITS)).toMatchObject({ status });
  });
});
