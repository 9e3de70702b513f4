import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { readCertificatePair } from './certificate-pair';
import { ThrowawayCa } from './throwaway-ca';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('readCertificatePair', () => {
  let ca: ThrowawayCa;

  beforeAll(async () => {
    ca = await ThrowawayCa.create();
  });

  afterAll(async () => {
    await ca.dispose();
  });

  it('accepts a chain and its key, with no warning when it names the public host', async () => {
    const files = await ca.issueServer({ hosts: ['relay.example.net', '192.0.2.7'] });
    const reading = await readCertificatePair(files, { publicHosts: ['relay.example.net', '192.0.2.7'] });
    expect(reading.ok).toBe(true);
    if (!reading.ok) return;
    expect(reading.warnings).toEqual([]);
    expect(reading.pair.leaf.subject).toContain('relay.example.net');
    expect(reading.pair.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it('lists every problem at once: an unreadable certificate and a key readable by everyone', async () => {
    const files = await ca.issueServer({ name: 'open-key' });
    await chmod(files.keyFile, 0o644);
    const reading = await readCertificatePair({
      certFile: join(ca.dir, 'absent.crt'),
      keyFile: files.keyFile,
    });
    expect(reading.ok).toBe(false);
    if (reading.ok) return;
    expect(reading.problems).toEqual([
      expect.stringMatching(/absent\.crt: cannot read \(ENOENT\)/),
      expect.stringMatching(/open-key\.key: is readable by every user \(mode 644\)/),
    ]);
  });

  it('refuses the key of another certificate, and never quotes key bytes', async () => {
    const first = await ca.issueServer({ name: 'first' });
    const second = await ca.issueServer({ name: 'second' });
    const reading = await readCertificatePair({ certFile: first.certFile, keyFile: second.keyFile });
    expect(reading.ok).toBe(false);
    if (reading.ok) return;
    expect(reading.problems).toEqual([
      expect.stringMatching(/second\.key: is not the key of the certificate/),
    ]);
    const keyBody = second.keyPem.split('\n')[1] ?? '';
    expect(reading.problems.join('\n')).not.toContain(keyBody.slice(0, 16));
  });

  it('refuses files that are not PEM', async () => {
    const certFile = join(ca.dir, 'garbage.crt');
    const keyFile = join(ca.dir, 'garbage.key');
    await writeFile(certFile, 'not a certificate');
    await writeFile(keyFile, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', {
      mode: 0o600,
    });
    const reading = await readCertificatePair({ certFile, keyFile });
    expect(reading.ok).toBe(false);
    if (reading.ok) return;
    expect(reading.problems).toEqual([
      expect.stringMatching(/holds no PEM certificate/),
      expect.stringMatching(/is not an unencrypted PEM private key/),
    ]);
  });

  it('serves an expired certificate or one without the public host, with a warning naming the date', async () => {
    const notAfter = new Date(Date.now() - DAY_MS);
    const files = await ca.issueServer({
      name: 'expired',
      hosts: ['old.example.net'],
      notBefore: new Date(Date.now() - 2 * DAY_MS),
      notAfter,
    });
    const reading = await readCertificatePair(files, { publicHosts: ['new.example.net'] });
    expect(reading.ok).toBe(true);
    if (!reading.ok) return;
    expect(reading.warnings).toEqual([
      expect.stringContaining(
        `expired on ${new Date(Math.floor(notAfter.getTime() / 1000) * 1000).toISOString()}`,
      ),
      expect.stringMatching(/names none of new\.example\.net .*DNS:old\.example\.net/),
    ]);
  });
});
