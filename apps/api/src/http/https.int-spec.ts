import { chmod, rename, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { type AddressInfo } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createLogger } from '@switchboard/observability';
import { createTestDatabase, ephemeralPort, type TestDatabase } from '@switchboard/testing';
import { type ServerCertificateFiles, ThrowawayCa, type TlsCredentials } from '@switchboard/tls';
import { WebSocket } from 'ws';

import { createUser } from '../../test/auth-helpers';
import { runTs, startTestApp, testApiConfig } from '../../test/api-test-harness';
import { CSRF_COOKIE, SESSION_COOKIE } from '../auth/session-cookies';
import { MetricsRegistry } from '../metrics/metrics.registry';
import { loadApiCredentials } from './api-tls';
import { type HttpsRedirectListener, startHttpsRedirect } from './https-redirect';

// HTTPS on API_PORT as main.ts assembles it (credentials loaded with the app's registry, Node's
// https.Server under Fastify), over real sockets with clients that trust a throwaway CA.
jest.setTimeout(60_000);

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** SHA-256 fingerprint of the certificate the server presented on this connection. */
  readonly fingerprint: string;
  readonly localPort: number;
}

describe('api over HTTPS', () => {
  let database: TestDatabase;
  let ca: ThrowawayCa;
  let files: ServerCertificateFiles;
  let credentials: TlsCredentials;
  let metrics: MetricsRegistry;
  let app: NestFastifyApplication;
  let port: number;
  let origin: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    ca = await ThrowawayCa.create();
    files = await ca.issueServer();
    const env = { DATABASE_URL: database.url, TLS_CERT_FILE: files.certFile, TLS_KEY_FILE: files.keyFile };
    metrics = new MetricsRegistry();
    const loaded = await loadApiCredentials(
      testApiConfig(env),
      createLogger({ name: 'tls', level: 'silent' }),
      metrics.registry,
    );
    if (!loaded) throw new Error('a certificate is configured, so TLS should be on');
    credentials = loaded;
    app = await startTestApp(env, { tls: credentials, metrics });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.getHttpServer().address() as AddressInfo).port;
    origin = `https://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await app?.close();
    await ca?.dispose();
    await database?.drop();
  });

  function call(
    path: string,
    options: {
      method?: string;
      headers?: Record<string, string>;
      body?: unknown;
      agent?: Agent;
      servername?: string;
    } = {},
  ): Promise<Answer> {
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(
        {
          host: '127.0.0.1',
          port,
          path,
          method: options.method ?? 'GET',
          ca: ca.certPem,
          agent: options.agent ?? false,
          ...(options.servername ? { servername: options.servername } : {}),
          headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...options.headers },
        },
        (response) => {
          const socket = response.socket as TLSSocket;
          const fingerprint = socket.getPeerCertificate().fingerprint256;
          const localPort = socket.localPort ?? 0;
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: text,
              fingerprint,
              localPort,
            }),
          );
        },
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  async function metricValue(line: RegExp): Promise<number> {
    const match = line.exec(await metrics.render());
    return match ? Number(match[1]) : 0;
  }

  async function signIn(): Promise<{ cookie: string; setCookies: string[] }> {
    const user = await createUser(app, 'admin');
    const login = await call('/api/v1/auth/login', {
      method: 'POST',
      headers: { origin },
      body: { username: user.username, password: user.password },
    });
    expect(login.status).toBe(200);
    const setCookies = [login.headers['set-cookie'] ?? []].flat();
    const cookie = setCookies.map((header) => header.split(';')[0]).join('; ');
    return { cookie, setCookies };
  }

  it('signs in and serves an authenticated call, with Secure cookies and HSTS on the direct TLS connection', async () => {
    const { cookie, setCookies } = await signIn();
    expect(setCookies.map((header) => header.split('=')[0]).sort()).toEqual([CSRF_COOKIE, SESSION_COOKIE]);
    for (const header of setCookies) expect(header).toMatch(/; Secure/);
    const me = await call('/api/v1/auth/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(me.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const health = await call('/healthz');
    expect(health.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(
      await metricValue(/^switchboard_tls_handshakes_total\{[^}]*result="ok"[^}]*\} (\d+)/m),
    ).toBeGreaterThan(0);
  });

  it('serves the live stream as wss on the same port', async () => {
    const { cookie } = await signIn();
    const socket = new WebSocket(`wss://127.0.0.1:${port}/api/v1/live`, {
      ca: ca.certPem,
      headers: { cookie, origin },
    });
    try {
      const first = await new Promise<{ type: string }>((resolve, reject) => {
        socket.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()) as { type: string }));
        socket.once('unexpected-response', (_request, response) =>
          reject(new Error(`refused ${response.statusCode}`)),
        );
        socket.once('error', reject);
      });
      expect(first.type).toBe('hello');
    } finally {
      socket.terminate();
    }
  });

  it('closes a plain-http request to the TLS port without harm to the next client', async () => {
    const failedBefore = await metricValue(
      /^switchboard_tls_handshakes_total\{[^}]*result="failed"[^}]*\} (\d+)/m,
    );
    await expect(
      new Promise((resolve, reject) => {
        const outgoing = httpRequest({ host: '127.0.0.1', port, path: '/healthz' }, resolve);
        outgoing.on('error', reject);
        outgoing.end();
      }),
    ).rejects.toThrow();
    expect((await call('/healthz')).status).toBe(200);
    expect(
      await metricValue(/^switchboard_tls_handshakes_total\{[^}]*result="failed"[^}]*\} (\d+)/m),
    ).toBeGreaterThan(failedBefore);
  });

  /** A TLS 1.1 handshake's outcome: the error code, or 'connected'. */
  function connectWithTls11(servername?: string): Promise<string> {
    return new Promise<string>((resolve) => {
      // SECLEVEL=0 so this client's own OpenSSL is willing to offer TLS 1.1: the refusal must be the server's.
      const socket = tlsConnect({
        host: '127.0.0.1',
        port,
        ca: ca.certPem,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1.1',
        ciphers: 'DEFAULT:@SECLEVEL=0',
        ...(servername ? { servername } : {}),
      });
      socket.once('secureConnect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    });
  }

  it('refuses a TLS 1.1 client', async () => {
    const failedBefore = await metricValue(
      /^switchboard_tls_handshakes_total\{[^}]*result="failed"[^}]*\} (\d+)/m,
    );
    expect(await connectWithTls11()).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(
      await metricValue(/^switchboard_tls_handshakes_total\{[^}]*result="failed"[^}]*\} (\d+)/m),
    ).toBeGreaterThan(failedBefore);
  });

  it('serves a replaced certificate to new connections while a keep-alive connection carries on, and keeps it when the next pair is broken', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.certPem });
    try {
      const before = await call('/healthz', { agent: keepAlive });
      expect(before.status).toBe(200);

      // Rename-over, as a certificate manager or a deploy script replaces the files.
      const next = await ca.issueServer({ name: 'next' });
      await rename(next.keyFile, files.keyFile);
      await rename(next.certFile, files.certFile);
      expect(await credentials.checkNow()).toBe('reloaded');
      const nextFingerprint = credentials.certificate.leaf.fingerprint256;
      expect(nextFingerprint).not.toBe(before.fingerprint);

      const fresh = await call('/healthz');
      expect(fresh.fingerprint).toBe(nextFingerprint);
      // A client that sends SNI takes the SNICallback path: the new pair there too.
      expect((await call('/healthz', { servername: 'localhost' })).fingerprint).toBe(nextFingerprint);
      const reused = await call('/healthz', { agent: keepAlive });
      expect(reused).toMatchObject({
        status: 200,
        localPort: before.localPort,
        fingerprint: before.fingerprint,
      });
      // The reloaded context keeps the protocol floor, on both paths.
      expect(await connectWithTls11()).not.toBe('connected');
      expect(await connectWithTls11('localhost')).not.toBe('connected');

      // A certificate without its key: the pair on disk is unusable, the last good one keeps serving.
      const other = await ca.issueServer({ name: 'other' });
      await writeFile(`${files.certFile}.new`, other.certPem);
      await rename(`${files.certFile}.new`, files.certFile);
      expect(await credentials.checkNow()).toBe('failed');
      expect((await call('/healthz')).fingerprint).toBe(nextFingerprint);
      expect(await metricValue(/^switchboard_tls_certificate_reload_failed (\d+)/m)).toBe(1);
    } finally {
      keepAlive.destroy();
    }
  });
});

describe('plain-http redirect listener', () => {
  const listeners: HttpsRedirectListener[] = [];
  const logger = createLogger({ name: 'redirect', level: 'silent' });

  afterAll(async () => {
    await Promise.all(listeners.map((listener) => listener.close()));
  });

  async function redirectOn(publicUrl: string | undefined): Promise<number> {
    const listener = await startHttpsRedirect({
      port: 0,
      host: '127.0.0.1',
      publicUrl,
      httpsPort: 21114,
      logger,
    });
    listeners.push(listener);
    return listener.port;
  }

  function get(port: number, path: string, headers: Record<string, string>) {
    return new Promise<{ status: number; location: string | undefined }>((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port, path, headers, method: 'POST' }, (response) => {
        response.resume();
        resolve({ status: response.statusCode ?? 0, location: response.headers.location });
      });
      outgoing.on('error', reject);
      outgoing.end('{"ignored":"body"}');
    });
  }

  it("answers 308 to PUBLIC_URL's origin, whatever Host a client names", async () => {
    const port = await redirectOn('https://rd.example.com');
    expect(await get(port, '/api/v1/auth/me?x=1', { host: 'evil.example.net' })).toEqual({
      status: 308,
      location: 'https://rd.example.com/api/v1/auth/me?x=1',
    });
  });

  it('without PUBLIC_URL, redirects to the host name on API_PORT, refuses a Host that is none and an oversized request', async () => {
    const port = await redirectOn(undefined);
    expect(await get(port, '/x', { host: `localhost:${port}` })).toEqual({
      status: 308,
      location: 'https://localhost:21114/x',
    });
    expect((await get(port, '/x', { host: 'evil.example.net/@x' })).status).toBe(400);
    expect((await get(port, '/x', { host: 'localhost', 'x-padding': 'a'.repeat(16 * 1024) })).status).toBe(
      431,
    );
    expect((await get(port, '/', { host: 'localhost' })).status).toBe(308);
  });
});

describe('api process with TLS', () => {
  let ca: ThrowawayCa;

  beforeEach(async () => {
    ca = await ThrowawayCa.create();
  });

  afterEach(async () => {
    await ca?.dispose();
  });

  function httpsStatus(url: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const outgoing = httpsRequest(url, { ca: ca.certPem, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
  }

  async function untilServing(url: string, deadlineMs: number): Promise<number> {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      try {
        return await httpsStatus(url);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  it('serves HTTPS and the redirect port, reports the certificate on the ops port, and exits 0 on SIGTERM', async () => {
    const database = await createTestDatabase();
    const files = await ca.issueServer();
    const [port, metricsPort, redirectPort] = [
      await ephemeralPort(),
      await ephemeralPort(),
      await ephemeralPort(),
    ];
    const api = runTs('apps/api/src/main.ts', {
      API_PORT: String(port),
      API_HOST: '127.0.0.1',
      METRICS_PORT: String(metricsPort),
      API_HTTP_REDIRECT_PORT: String(redirectPort),
      TLS_CERT_FILE: files.certFile,
      TLS_KEY_FILE: files.keyFile,
      DATABASE_URL: database.url,
      KEY_DIR: `${ca.dir}/keys`,
      LOG_LEVEL: 'info',
    });
    try {
      expect(await untilServing(`https://127.0.0.1:${port}/healthz`, 45_000)).toBe(200);
      const redirect = await fetch(`http://127.0.0.1:${redirectPort}/healthz`, { redirect: 'manual' });
      expect(redirect.status).toBe(308);
      expect(redirect.headers.get('location')).toBe(`https://127.0.0.1:${port}/healthz`);
      const ops = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      expect(ops).toMatch(/^switchboard_tls_certificate_expiry_timestamp_seconds \d+/m);
      expect(ops).toMatch(/^switchboard_tls_certificate_reload_failed 0/m);

      api.child.kill('SIGTERM');
      expect(await api.exited).toEqual({ code: 0, signal: null });
      expect(api.stderr()).toBe('');
    } finally {
      api.child.kill('SIGKILL');
      await database.drop();
    }
  });

  it('exits 78 naming a world-readable key', async () => {
    const files = await ca.issueServer();
    await chmod(files.keyFile, 0o644);
    const api = runTs('apps/api/src/main.ts', {
      API_PORT: String(await ephemeralPort()),
      METRICS_PORT: String(await ephemeralPort()),
      TLS_CERT_FILE: files.certFile,
      TLS_KEY_FILE: files.keyFile,
      KEY_DIR: `${ca.dir}/keys`,
      DATABASE_URL: 'postgresql://unused@127.0.0.1:1/unused',
    });
    const { code } = await api.exited;
    expect(code).toBe(78);
    expect(api.stdout() + api.stderr()).toContain(
      `TLS_KEY_FILE ${files.keyFile}: is readable by every user (mode 644)`,
    );
  });
});
