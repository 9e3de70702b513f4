import { randomUUID } from 'node:crypto';

import { Redis } from 'ioredis';

import { decodeConnAuditRef, parsePublicKeyFile } from '@switchboard/crypto';
import {
  type HttpProxyRequest,
  type HttpProxyResponse,
  NatType,
  RegisterPkResponse_Result,
} from '@switchboard/protocol';
import { createTestDatabase, FramedLink, secureTcp, type TestDatabase } from '@switchboard/testing';

import { type ApiProcess, E2E_ADMIN_USERNAME, startApi } from './support/api-process';
import { type SignalProcess, startSignal } from './support/signal-process';

// The client API tunnelled through signal (HttpProxyRequest on secure TCP, docs/client-api.md §10), with
// the real api and signal processes: signal forwards to API_URL, and the api, which lists signal's
// address in TRUST_PROXY, records the client's own address from signal's X-Forwarded-For.

jest.setTimeout(90_000);

const CLIENT_ADDRESS = '127.0.0.3';

describe('the client API through signal (real api and signal processes)', () => {
  const prefix = `e2e-api-proxy-${randomUUID()}`;
  let database: TestDatabase;
  let signal: SignalProcess;
  let api: ApiProcess;
  let authorization: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379');
    database = await createTestDatabase();
    api = await startApi({ DATABASE_URL: database.url, REDIS_KEY_PREFIX: prefix, TRUST_PROXY: '127.0.0.1' });
    signal = await startSignal({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      REGISTRATION_POLICY: 'token',
      API_URL: api.baseUrl,
    });
    authorization = `Bearer ${await api.adminToken()}`;
  }, 120_000);

  afterAll(async () => {
    const stopped = await Promise.all([api?.stop(), signal?.stop()]);
    await database?.drop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    for (const result of stopped) expect(result?.code).toBe(0);
  }, 60_000);

  async function securedLink(localAddress: string): Promise<FramedLink> {
    const link = await FramedLink.connectTcp({
      host: signal.host,
      port: signal.port,
      localAddress,
      timeoutMs: 5_000,
    });
    const secured = await secureTcp(link, {
      serverKey: parsePublicKeyFile(signal.publicKeyFile),
      timeoutMs: 5_000,
    });
    expect(secured).toBe('secured');
    return link;
  }

  /** What the client's tcp_proxy_request does: connect, secure, one request, one answer. */
  async function tunnel(request: Partial<HttpProxyRequest>): Promise<HttpProxyResponse> {
    const link = await securedLink(CLIENT_ADDRESS);
    try {
      await link.sendRendezvous({
        $case: 'httpProxyRequest',
        value: { method: 'GET', path: '/', headers: [], body: Buffer.alloc(0), ...request },
      });
      const answer = await link.nextNonKeyExchange(15_000, 'HttpProxyResponse');
      if (answer.$case !== 'httpProxyResponse')
        throw new Error(`expected httpProxyResponse, got ${answer.$case}`);
      return answer.value;
    } finally {
      link.close();
    }
  }

  it('serves a client path, refuses the operator API, and deploys with the client’s own address audited', async () => {
    const options = await tunnel({ method: 'GET', path: '/api/login-options' });
    expect(options).toMatchObject({ status: 200, error: '' });
    expect(JSON.parse(options.body.toString())).toEqual([]);

    const operator = await tunnel({
      path: '/api/v1/devices',
      headers: [{ name: 'Authorization', value: authorization }],
    });
    expect(operator).toMatchObject({ status: 403, error: 'path not served through signal' });

    const created = await fetch(`${api.baseUrl}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'deploy' }),
    });
    expect(created.status).toBe(201);
    const { key } = (await created.json()) as { key: string };

    const deployed = await tunnel({
      method: 'POST',
      path: '/api/devices/deploy',
      headers: [
        { name: 'Authorization', value: `Bearer ${key}` },
        { name: 'X-Forwarded-For', value: '203.0.113.9' },
      ],
      body: Buffer.from(
        JSON.stringify({
          id: '765432109',
          uuid: Buffer.from('uuid').toString('base64'),
          pk: Buffer.alloc(32, 1).toString('base64'),
        }),
      ),
    });
    expect(deployed).toMatchObject({ status: 200, error: '' });
    expect(JSON.parse(deployed.body.toString())).toEqual({ result: 'OK' });

    const audit = await fetch(`${api.baseUrl}/api/v1/audit?action=device.deploy&targetId=765432109`, {
      headers: { authorization },
    });
    const { entries } = (await audit.json()) as { entries: { ip: string | null }[] };
    expect(entries.map((entry) => entry.ip)).toEqual([CLIENT_ADDRESS]);
  });

  it('a client logged in through the tunnel punches with its token; the device gets a reference naming it', async () => {
    const login = await tunnel({
      method: 'POST',
      path: '/api/login',
      body: Buffer.from(
        JSON.stringify({
          username: E2E_ADMIN_USERNAME,
          password: api.adminPassword,
          id: '111222333',
          uuid: Buffer.from('controller').toString('base64'),
          autoLogin: true,
          type: 'account',
          deviceInfo: { os: 'linux', type: 'client', name: 'e2e' },
        }),
      ),
    });
    expect(login).toMatchObject({ status: 200, error: '' });
    const { access_token: token } = JSON.parse(login.body.toString()) as { access_token: string };

    // The controlled device registers over a secured link (policy token: deploy it first).
    const created = await fetch(`${api.baseUrl}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'deploy-b' }),
    });
    const { key } = (await created.json()) as { key: string };
    const uuid = Buffer.from('controlled');
    const pk = Buffer.alloc(32, 2);
    const deployed = await tunnel({
      method: 'POST',
      path: '/api/devices/deploy',
      headers: [{ name: 'Authorization', value: `Bearer ${key}` }],
      body: Buffer.from(
        JSON.stringify({ id: '444333222', uuid: uuid.toString('base64'), pk: pk.toString('base64') }),
      ),
    });
    expect(JSON.parse(deployed.body.toString())).toEqual({ result: 'OK' });
    const b = await securedLink('127.0.0.4');
    const licenceKey = signal.publicKeyFile.trim();
    let registered = false;
    for (let attempt = 0; attempt < 20 && !registered; attempt++) {
      await b.sendRendezvous({
        $case: 'registerPk',
        value: { id: '444333222', uuid, pk, oldId: '', noRegisterDevice: false },
      });
      const answer = await b.nextNonKeyExchange(5_000, 'RegisterPkResponse');
      registered =
        answer.$case === 'registerPkResponse' && answer.value.result === RegisterPkResponse_Result.OK;
      if (!registered) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(registered).toBe(true);

    const a = await securedLink('127.0.0.5');
    await a.sendRendezvous({
      $case: 'punchHoleRequest',
      value: {
        id: '444333222',
        natType: NatType.ASYMMETRIC,
        licenceKey,
        connType: 0,
        token,
        version: '1.4.9',
        udpPort: 0,
        forceRelay: false,
        upnpPort: 0,
        socketAddrV6: Buffer.alloc(0),
        switchCode: '',
      },
    });
    const hole = await b.nextNonKeyExchange(5_000, 'PunchHole');
    if (hole.$case !== 'punchHole') throw new Error(`expected punchHole, got ${hole.$case}`);
    const claims = decodeConnAuditRef(
      hole.value.controlledContext?.connAuditRef ?? '',
      parsePublicKeyFile(signal.publicKeyFile),
    );
    expect(claims).toMatchObject({ username: E2E_ADMIN_USERNAME, targetId: '444333222' });
    a.close();
    b.close();
  });
});
