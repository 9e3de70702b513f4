import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { decodeConnAuditRef, parsePublicKeyFile } from '@switchboard/crypto';
import { encodeClientAccessToken, EventSigningKey } from '@switchboard/events';
import { type HttpProxyRequest, NatType, type PunchHoleRequest } from '@switchboard/protocol';
import { TrustedProxies } from '@switchboard/transport';

import { ConnAuditRefIssuer } from '../caller/conn-audit-refs';
import { KeyStore, loadServerKey } from '../key-store';
import { type SignalAddresses, SignalServer } from '../server';
import { CoreHarness, peerIdentity, silentLogger } from '../test/core-harness';
import { FramedClient } from '../test/rendezvous-client';
import { ApiForwarder } from './api-forwarder';
import { DEFAULT_PROXY_REQUEST_LIMITS } from './proxy-request';

// HttpProxyRequest over real secure TCP to a real HTTP server standing in for the api, and the
// conn_audit_ref a logged-in caller's punch carries to the controlled side.

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function fakeApi(seen: Seen[]): Server {
  return createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      if (request.url === '/api/slow') {
        setTimeout(() => response.end('late'), 1_000).unref();
        return;
      }
      if (request.url === '/api/big') {
        response.end('x'.repeat(4096));
        return;
      }
      response.writeHead(201, { 'content-type': 'text/plain', 'x-api': 'yes', connection: 'keep-alive' });
      response.end(`echo:${body}`);
    });
  });
}

function proxyRequest(overrides: Partial<HttpProxyRequest> = {}): HttpProxyRequest {
  return {
    method: 'POST',
    path: '/api/heartbeat?x=1',
    headers: [
      { name: 'Content-Type', value: 'application/json' },
      { name: 'Authorization', value: 'Bearer abc' },
      { name: 'X-Forwarded-For', value: '6.6.6.6' },
    ],
    body: Buffer.from('{"id":"1"}'),
    ...overrides,
  };
}

describe('HttpProxyRequest through signal', () => {
  let keyDir: string;
  let publicKey: Uint8Array;
  let api: Server;
  let apiUrl: string;
  const seen: Seen[] = [];
  let harness: CoreHarness;
  let server: SignalServer;
  let ports: SignalAddresses;
  const eventKey = EventSigningKey.generate();
  const clients: FramedClient[] = [];

  beforeAll(async () => {
    keyDir = await mkdtemp(join(tmpdir(), 'signal-api-proxy-'));
    api = fakeApi(seen);
    api.listen(0, '127.0.0.1');
    await once(api, 'listening');
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    api.closeAllConnections();
    await new Promise((resolve) => api.close(resolve));
    await rm(keyDir, { recursive: true, force: true });
  });

  async function start(target = apiUrl): Promise<void> {
    const serverKey = await loadServerKey('-', new KeyStore(keyDir, silentLogger));
    publicKey = parsePublicKeyFile(await readFile(join(keyDir, 'id_ed25519.pub'), 'utf8'));
    harness = new CoreHarness({
      key: serverKey,
      limits: { messageTimeoutMs: 3_000, apiProxyPerConnection: 1 },
      apiProxy: new ApiForwarder({
        apiUrl: target,
        timeoutMs: 300,
        maxResponseBytes: 1024,
        maxInFlight: 2,
        ...DEFAULT_PROXY_REQUEST_LIMITS,
      }),
      auditRefs: new ConnAuditRefIssuer(eventKey.verifyKey, serverKey.signingKeyPair!.secretKey),
    });
    server = new SignalServer(harness.core, {
      ports: { host: '127.0.0.1', port: 0, natTestPort: 0, wsPort: 0 },
      trustedProxies: new TrustedProxies([]),
      logger: silentLogger,
    });
    ports = await server.start();
  }
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await server.close();
    seen.length = 0;
  });

  async function client(localAddress = '127.0.0.3', secure = true): Promise<FramedClient> {
    const socket = connect({ host: '127.0.0.1', port: ports.tcp.port, localAddress });
    await once(socket, 'connect');
    const framed = new FramedClient(socket);
    clients.push(framed);
    if (secure) await framed.secure(publicKey);
    return framed;
  }

  async function ask(request: HttpProxyRequest, secure = true) {
    const link = await client('127.0.0.3', secure);
    link.send({ $case: 'httpProxyRequest', value: request });
    return link.expect('httpProxyResponse');
  }

  it('forwards method, path, query, headers and body, and tells the api the client’s address', async () => {
    await start();
    const link = await client('127.0.0.3');
    link.send({ $case: 'httpProxyRequest', value: proxyRequest() });
    const response = await link.expect('httpProxyResponse');
    expect(response.status).toBe(201);
    expect(response.error).toBe('');
    expect(response.body.toString()).toBe('echo:{"id":"1"}');
    expect(response.headers).toEqual(
      expect.arrayContaining([
        { name: 'content-type', value: 'text/plain' },
        { name: 'x-api', value: 'yes' },
      ]),
    );
    expect(response.headers.map((h) => h.name)).not.toContain('connection');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/heartbeat?x=1', body: '{"id":"1"}' });
    expect(seen[0]?.headers).toMatchObject({
      authorization: 'Bearer abc',
      'x-forwarded-for': '127.0.0.3',
      host: new URL(apiUrl).host,
    });
    // The client reads one answer and hangs up; signal closes its end too.
    await link.closed;
    expect(
      await harness.metric('switchboard_signal_api_proxy_requests_total', { outcome: 'forwarded' }),
    ).toBe(1);
  });

  it('refuses a link that is not secured, operator paths and oversize bodies, without calling the api', async () => {
    await start();
    expect(await ask(proxyRequest(), false)).toMatchObject({ status: 403, error: 'secure TCP required' });
    expect(await ask(proxyRequest({ path: '/api/v1/users' }))).toMatchObject({ status: 403 });
    expect(await ask(proxyRequest({ path: '/api/../api/v1/users' }))).toMatchObject({ status: 403 });
    expect(await ask(proxyRequest({ path: 'http://evil.example/api/x' }))).toMatchObject({ status: 403 });
    expect(await ask(proxyRequest({ method: 'CONNECT' }))).toMatchObject({ status: 405 });
    const malformed = proxyRequest({ headers: [{ name: 'Bad Name', value: 'x' }] });
    expect(await ask(malformed)).toMatchObject({ status: 400, error: 'malformed headers' });
    expect(await ask(proxyRequest({ body: Buffer.alloc(61 * 1024) }))).toMatchObject({ status: 413 });
    expect(seen).toHaveLength(0);
  });

  it('answers 504 for a slow api, 502 for an oversize answer, and keeps serving', async () => {
    await start();
    const slow = await ask(proxyRequest({ path: '/api/slow' }));
    expect(slow).toMatchObject({ status: 504, error: 'api did not answer in time' });
    expect(JSON.parse(slow.body.toString())).toEqual({ error: 'api did not answer in time' });
    expect(await ask(proxyRequest({ path: '/api/big', method: 'GET' }))).toMatchObject({ status: 502 });
    expect(await ask(proxyRequest())).toMatchObject({ status: 201, error: '' });
  });

  it('answers 502 when the api is down', async () => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await start(`http://127.0.0.1:${closedPort}`);
    expect(await ask(proxyRequest())).toMatchObject({ status: 502, error: 'api unreachable' });
  });

  it('caps requests in flight per connection and per process with 503, not a queue', async () => {
    await start();
    const link = await client('127.0.0.3');
    link.send({ $case: 'httpProxyRequest', value: proxyRequest({ path: '/api/slow' }) });
    link.send({ $case: 'httpProxyRequest', value: proxyRequest() });
    expect(await link.expect('httpProxyResponse')).toMatchObject({ status: 503 });
    expect(await link.expect('httpProxyResponse')).toMatchObject({ status: 504 });

    const [a, b, c] = [await client('127.0.0.4'), await client('127.0.0.5'), await client('127.0.0.6')];
    for (const each of [a, b])
      each.send({ $case: 'httpProxyRequest', value: proxyRequest({ path: '/api/slow' }) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    c.send({ $case: 'httpProxyRequest', value: proxyRequest() });
    expect(await c.expect('httpProxyResponse')).toMatchObject({ status: 503, error: 'api tunnel busy' });
    expect(await a.expect('httpProxyResponse')).toMatchObject({ status: 504 });
    expect(await b.expect('httpProxyResponse')).toMatchObject({ status: 504 });
  });

  describe('who is connecting', () => {
    function punch(token: string): PunchHoleRequest {
      return {
        id: '123456789',
        natType: NatType.ASYMMETRIC,
        licenceKey: harness.licence,
        connType: 0,
        token,
        version: '1.4.9',
        udpPort: 0,
        forceRelay: false,
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
        switchCode: '',
      };
    }

    async function controlledSide(): Promise<FramedClient> {
      const link = await client('127.0.0.8');
      const { uuid, pk } = peerIdentity(9);
      link.send({
        $case: 'registerPk',
        value: { id: '123456789', uuid, pk, oldId: '', noRegisterDevice: false },
      });
      await link.expect('registerPkResponse');
      return link;
    }

    it('gives the controlled side a reference naming the logged-in caller and itself', async () => {
      await start();
      const target = await controlledSide();
      const token = encodeClientAccessToken(
        { sessionId: 's-1', userId: 'u-1', username: 'alice', expiresAt: Date.now() + 60_000, nonce: 'n' },
        eventKey,
      );
      (await client('127.0.0.9')).send({ $case: 'punchHoleRequest', value: punch(token) });
      const hole = await target.expect('punchHole');
      const claims = decodeConnAuditRef(hole.controlledContext?.connAuditRef ?? '', publicKey);
      expect(claims).toMatchObject({
        sessionId: 's-1',
        userId: 'u-1',
        username: 'alice',
        targetId: '123456789',
      });
      expect(await harness.metric('switchboard_signal_caller_tokens_total', { outcome: 'issued' })).toBe(1);
    });

    it('gives none for a forged token, and the punch goes ahead', async () => {
      await start();
      const target = await controlledSide();
      const forged = encodeClientAccessToken(
        { sessionId: 's-1', userId: 'u-1', username: 'alice', expiresAt: Date.now() + 60_000, nonce: 'n' },
        EventSigningKey.generate(),
      );
      (await client('127.0.0.9')).send({ $case: 'punchHoleRequest', value: punch(forged) });
      const hole = await target.expect('punchHole');
      expect(hole.controlledContext).toBeUndefined();
      expect(await harness.metric('switchboard_signal_caller_tokens_total', { outcome: 'forged' })).toBe(1);
    });
  });
});
