import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { readCertificatePair } from './certificate-pair';
import { ensureSelfSignedPair, type SelfSignedRequest } from './self-signed-files';

describe('ensureSelfSignedPair', () => {
  let dir: string;
  let request: SelfSignedRequest;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'self-signed-'));
    request = {
      certFile: join(dir, 'tls', 'server.crt'),
      keyFile: join(dir, 'tls', 'server.key'),
      hosts: ['localhost', '127.0.0.1', '::1', 'box.example'],
      days: 365,
      renewWithinDays: 30,
    };
  });

  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('creates a usable pair naming every host, the key 0600 and the certificate 0644', async () => {
    const outcome = await ensureSelfSignedPair(request);

    expect(outcome.action).toBe('created');
    expect((await stat(request.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(request.certFile)).mode & 0o777).toBe(0o644);
    const reading = await readCertificatePair(request, { publicHosts: request.hosts });
    expect(reading).toMatchObject({ ok: true, warnings: [] });
    // No temporary file is left beside them.
    expect((await readdir(join(dir, 'tls'))).sort()).toEqual(['server.crt', 'server.key']);
  });

  it('keeps a pair that still fits', async () => {
    await ensureSelfSignedPair(request);
    const before = await readFile(request.keyFile, 'utf8');

    const outcome = await ensureSelfSignedPair(request);

    expect(outcome.action).toBe('kept');
    expect(await readFile(request.keyFile, 'utf8')).toBe(before);
  });

  it('replaces a pair that no longer names a host, is about to expire, or does not match', async () => {
    await ensureSelfSignedPair(request);
    const renamed = await ensureSelfSignedPair({ ...request, hosts: [...request.hosts, 'new.example'] });
    expect(renamed).toMatchObject({ action: 'replaced', reason: 'it does not name new.example' });

    const inAYear = new Date(Date.now() + 340 * 24 * 60 * 60 * 1000);
    const expiring = await ensureSelfSignedPair({ ...request, now: inAYear });
    expect(expiring).toMatchObject({ action: 'replaced', reason: expect.stringContaining('expires') });

    const { keyFile } = request;
    const other = { certFile: join(dir, 'other.crt'), keyFile: join(dir, 'other.key') };
    await ensureSelfSignedPair({ ...request, ...other });
    await writeFile(keyFile, await readFile(join(dir, 'other.key')), { mode: 0o600 });
    const mismatched = await ensureSelfSignedPair(request);
    expect(mismatched).toMatchObject({
      action: 'replaced',
      reason: expect.stringContaining('is not the key'),
    });
    expect(await readCertificatePair(request)).toMatchObject({ ok: true });
  });

  it('makes a whole new pair when only the key is left', async () => {
    await ensureSelfSignedPair(request);
    await rm(request.certFile);

    const outcome = await ensureSelfSignedPair(request);

    expect(outcome).toMatchObject({ action: 'created', reason: `${request.certFile} is missing` });
    expect(await readCertificatePair(request)).toMatchObject({ ok: true });
  });
});
