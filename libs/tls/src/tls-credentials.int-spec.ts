import { mkdir, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createLogger, createMetricsRegistry, type Registry } from '@switchboard/observability';
import { metric } from '@switchboard/test-net';

import { ThrowawayCa } from './throwaway-ca';
import { TlsConfigError, TlsCredentials } from './tls-credentials';

const logger = createLogger({ name: 'tls-test', level: 'silent', format: 'json' });

describe('TlsCredentials', () => {
  let ca: ThrowawayCa;
  let registry: Registry;

  beforeEach(async () => {
    ca = await ThrowawayCa.create();
    registry = createMetricsRegistry({ defaultMetrics: false });
  });

  afterEach(async () => {
    await ca.dispose();
  });

  function load(files: { certFile: string; keyFile: string }): Promise<TlsCredentials> {
    return TlsCredentials.load({ files, logger, registry, reloadIntervalMs: 0 });
  }

  it('refuses to start with every problem listed', async () => {
    const files = await ca.issueServer();
    const failure: unknown = await load({
      certFile: files.certFile,
      keyFile: join(ca.dir, 'missing.key'),
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TlsConfigError);
    expect((failure as TlsConfigError).problems).toEqual([
      expect.stringMatching(/missing\.key: cannot read \(ENOENT\)/),
    ]);
  });

  it('exports the expiry of the certificate it serves', async () => {
    const notAfter = new Date(Date.now() + 3 * 24 * 60 * 60 * 1000);
    const credentials = await load(await ca.issueServer({ notAfter }));
    expect(await metric(registry, 'switchboard_tls_certificate_expiry_timestamp_seconds')).toBe(
      Math.floor(notAfter.getTime() / 1000),
    );
    expect(credentials.certificate.notAfter.getTime()).toBe(Math.floor(notAfter.getTime() / 1000) * 1000);
  });

  it('picks up a pair renamed over the old files, and tells its listeners', async () => {
    const files = await ca.issueServer();
    const credentials = await load(files);
    const before = credentials.certificate.leaf.serialNumber;
    const seen: unknown[] = [];
    credentials.onChange((context) => seen.push(context));
    expect(await credentials.checkNow()).toBe('unchanged');

    const next = await ca.issueServer({ name: 'next' });
    await rename(next.keyFile, files.keyFile);
    await rename(next.certFile, files.certFile);
    expect(await credentials.checkNow()).toBe('reloaded');
    expect(credentials.certificate.leaf.serialNumber).not.toBe(before);
    expect(seen).toEqual([credentials.context]);
    expect(await metric(registry, 'switchboard_tls_certificate_reloads_total', { result: 'reloaded' })).toBe(
      1,
    );
  });

  it('follows a Kubernetes Secret update: the ..data symlink swapped to a new folder', async () => {
    // The kubelet's atomic writer: tls.crt -> ..data/tls.crt, ..data -> ..<timestamp>/, swapped by rename.
    const mount = join(ca.dir, 'secret');
    await mkdir(mount);
    const publish = async (version: string, pair: { certPem: string; keyPem: string }) => {
      await mkdir(join(mount, version));
      await writeFile(join(mount, version, 'tls.crt'), pair.certPem);
      await writeFile(join(mount, version, 'tls.key'), pair.keyPem, { mode: 0o400 });
      await symlink(version, join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
    };
    await publish('..v1', await ca.issueServer({ name: 'v1' }));
    await symlink('..data/tls.crt', join(mount, 'tls.crt'));
    await symlink('..data/tls.key', join(mount, 'tls.key'));
    const credentials = await load({ certFile: join(mount, 'tls.crt'), keyFile: join(mount, 'tls.key') });
    const before = credentials.certificate.leaf.serialNumber;

    await publish('..v2', await ca.issueServer({ name: 'v2' }));
    expect(await credentials.checkNow()).toBe('reloaded');
    expect(credentials.certificate.leaf.serialNumber).not.toBe(before);
  });

  it('keeps serving the old pair while the new files do not match, and raises the alert until they do', async () => {
    const files = await ca.issueServer();
    const credentials = await load(files);
    const served = credentials.context;
    const next = await ca.issueServer({ name: 'next' });

    // The certificate arrives first: it does not match the old key yet.
    await rename(next.certFile, files.certFile);
    expect(await credentials.checkNow()).toBe('failed');
    expect(credentials.context).toBe(served);
    expect(await metric(registry, 'switchboard_tls_certificate_reload_failed')).toBe(1);
    // Nothing changed since: not counted again.
    expect(await credentials.checkNow()).toBe('unchanged');
    expect(await metric(registry, 'switchboard_tls_certificate_reloads_total', { result: 'failed' })).toBe(1);

    await rename(next.keyFile, files.keyFile);
    expect(await credentials.checkNow()).toBe('reloaded');
    expect(credentials.context).not.toBe(served);
    expect(await metric(registry, 'switchboard_tls_certificate_reload_failed')).toBe(0);
  });

  it('keeps serving when the files disappear', async () => {
    const files = await ca.issueServer();
    const credentials = await load(files);
    const served = credentials.context;
    await unlink(files.keyFile);
    expect(await credentials.checkNow()).toBe('failed');
    expect(credentials.context).toBe(served);
    expect(await metric(registry, 'switchboard_tls_certificate_reload_failed')).toBe(1);
  });

  it('polls on its own once started', async () => {
    const files = await ca.issueServer();
    const credentials = await TlsCredentials.load({
      files,
      logger,
      registry,
      reloadIntervalMs: 50,
    });
    credentials.start();
    try {
      const next = await ca.issueServer({ name: 'next' });
      await rename(next.keyFile, files.keyFile);
      await rename(next.certFile, files.certFile);
      const deadline = Date.now() + 10_000;
      while (
        (await metric(registry, 'switchboard_tls_certificate_reloads_total', { result: 'reloaded' })) === 0
      ) {
        if (Date.now() > deadline) throw new Error('no reload within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      credentials.stop();
    }
  });
});
