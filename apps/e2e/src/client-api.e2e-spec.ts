import { randomInt, randomUUID } from 'node:crypto';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import { NatType, RegisterPkResponse_Result } from '@switchboard/protocol';
import { readUntil } from '@switchboard/test-net';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { type ApiProcess, startApi } from './support/api-process';
import { answered, Fleet, type Machine, newMachine } from './support/fleet';
import { type SignalProcess, startSignal } from './support/signal-process';

// Issue 12 end to end: the client story of docs/client-api.md with the real api and signal processes
// on one database and Redis prefix. The operator acts only through the operator API (/api/v1); the
// devices only through what a stock client sends: rendezvous messages from reference peers, and the
// client's HTTP calls with its own bodies (§2 login, §6 sysinfo and heartbeat, §7 connection audit).

jest.setTimeout(120_000);

/** The largest u64: a session id no double can hold, posted as the client posts it (a bare JSON number). */
const SESSION_ID = '18446744073709551615';
const ALICE_PASSWORD = `alice-${randomUUID()}`;

interface HeartbeatReply {
  modified_at: number;
  strategy?: { config_options: Record<string, string>; extra: Record<string, string> };
  disconnect?: number[];
  sysinfo?: true;
}

interface ConnectionView {
  deviceId: string;
  connId: number;
  sessionId: string;
  ip: string | null;
  peerId: string | null;
  peerName: string | null;
  connType: number | null;
  user: { id: string; username: string | null } | null;
  openedAt: string | null;
  authorizedAt: string | null;
  closedAt: string | null;
}

describe('the RustDesk client API end to end (real api and signal processes)', () => {
  const prefix = `e2e-client-api-${randomUUID()}`;
  let database: TestDatabase;
  let signal: SignalProcess;
  let api: ApiProcess;
  let fleet: Fleet;
  let authorization: string;
  let redis: Redis;

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379');
    database = await createTestDatabase();
    signal = await startSignal({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      REGISTRATION_POLICY: 'open',
    });
    // The api verifies the conn_audit_ref signal signs (§7.5) with signal's public key.
    api = await startApi({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      SIGNAL_PUBLIC_KEY_FILE: join(signal.keyDir, 'id_ed25519.pub'),
    });
    authorization = `Bearer ${await api.adminToken()}`;
    fleet = new Fleet({ host: signal.host, port: signal.port, key: signal.publicKeyFile });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stopAll();
    const stopped = await Promise.all([api?.stop(), signal?.stop()]);
    await database?.drop();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    for (const result of stopped) expect(result?.code).toBe(0);
  }, 60_000);

  /** The operator API, with the first admin's bearer token. */
  async function operator<T>(method: string, path: string, body?: object): Promise<T> {
    const response = await fetch(`${api.baseUrl}/api/v1${path}`, {
      method,
      headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A client call: a JSON text body, as the client's HTTP stack sends it. */
  async function client(
    path: string,
    body: string,
    token?: string,
  ): Promise<{ status: number; type: string; text: string }> {
    const response = await fetch(`${api.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      body,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
    };
  }

  /** `crate::encode64(get_uuid())`: the bytes the device sent as RegisterPk.uuid, standard base64. */
  const uuidOf = (machine: Machine): string => machine.uuid.toString('base64');

  async function heartbeat(body: object): Promise<{ status: number; reply: HeartbeatReply }> {
    const answer = await client('/api/heartbeat', JSON.stringify(body));
    return { status: answer.status, reply: JSON.parse(answer.text) as HeartbeatReply };
  }

  /**
   * A connection record as src/server/connection.rs posts it: serde_json writes the u64 session id as
   * a bare number, which JSON.stringify of a JS number never could (it would round it).
   */
  function connRecord(fields: Record<string, unknown>): string {
    return `{"session_id":${SESSION_ID},${JSON.stringify(fields).slice(1)}`;
  }

  it('sysinfo, strategies, login, a punch with the token, connection audit, a disconnect and logout', async () => {
    // 1. Both devices register with signal as stock clients do.
    const machineB = newMachine();
    const machineA = newMachine();
    const { peer: b, outcome: bRegistered } = await fleet.register(machineB, 'tcp', {
      natType: NatType.ASYMMETRIC,
    });
    expect(bRegistered).toEqual(answered(RegisterPkResponse_Result.OK));
    const { peer: a, outcome: aRegistered } = await fleet.register(machineA, 'udp');
    expect(aRegistered).toEqual(answered(RegisterPkResponse_Result.OK));
    const identityB = { id: machineB.id, uuid: uuidOf(machineB) };

    // 2. B reports its system info; signal writes the device row asynchronously, and until then the
    // answer is ID_NOT_FOUND, on which the client tries again.
    const sysinfo = JSON.stringify({
      cpu: 'Intel(R) Xeon(R) CPU, 2 cores',
      memory: '3.84GB',
      os: 'Linux / Debian 12',
      hostname: 'b-host',
      username: 'bob',
      version: '1.4.9',
      ...identityB,
    });
    const stored = await readUntil(
      () => client('/api/sysinfo', sysinfo),
      (answer) => answer.text !== 'ID_NOT_FOUND',
      15_000,
    );
    expect(stored).toMatchObject({ status: 200, text: 'SYSINFO_UPDATED' });
    expect(stored.type).toMatch(/^text\/plain/);
    const deviceView = await operator<{ hostname: string; os: string }>('GET', `/devices/${machineB.id}`);
    expect(deviceView).toMatchObject({ hostname: 'b-host', os: 'Linux / Debian 12' });

    // 3. Someone else's uuid is refused and overwrites nothing.
    const wrongUuid = Buffer.from(randomUUID()).toString('base64');
    const forged = await client(
      '/api/sysinfo',
      JSON.stringify({ ...JSON.parse(sysinfo), hostname: 'forged-host', os: 'Windows', uuid: wrongUuid }),
    );
    expect(forged).toMatchObject({ status: 403, text: 'UUID_MISMATCH' });
    const forgedBeat = await heartbeat({ id: machineB.id, uuid: wrongUuid, ver: 1004009, modified_at: 0 });
    expect(forgedBeat.status).toBe(403);
    expect(forgedBeat.reply).toEqual({ error: expect.any(String) as string });
    expect(await operator('GET', `/devices/${machineB.id}`)).toMatchObject({
      hostname: 'b-host',
      os: 'Linux / Debian 12',
    });

    // 4. A strategy assigned to B reaches it on its heartbeat, once per change.
    const options = { 'enable-clipboard': 'N', 'enable-file-transfer': 'N' };
    const strategy = await operator<{ id: string }>('POST', '/strategies', { name: 'locked-down', options });
    await operator('POST', `/strategies/${strategy.id}/assign`, { device: machineB.id });
    const pushed = await readUntil(
      () => heartbeat({ ...identityB, ver: 1004009, modified_at: 0 }),
      (beat) => beat.reply.strategy !== undefined,
      15_000,
    );
    expect(pushed.status).toBe(200);
    expect(pushed.reply.strategy).toEqual({ config_options: options, extra: {} });
    expect(pushed.reply.modified_at).toBeGreaterThan(0);
    const unchanged = await heartbeat({ ...identityB, ver: 1004009, modified_at: pushed.reply.modified_at });
    expect(unchanged).toEqual({ status: 200, reply: { modified_at: pushed.reply.modified_at } });

    // 5. The operator creates alice; A signs in as the client does.
    const { user: alice } = await operator<{ user: { id: string } }>('POST', '/users', {
      username: 'alice',
      password: ALICE_PASSWORD,
      role: 'viewer',
      passwordMustChange: false,
    });
    const login = await client(
      '/api/login',
      JSON.stringify({
        username: 'alice',
        password: ALICE_PASSWORD,
        id: machineA.id,
        uuid: uuidOf(machineA),
        autoLogin: true,
        type: 'account',
        deviceInfo: { os: 'linux', type: 'client', name: 'alice-pc' },
      }),
    );
    expect(login.status).toBe(200);
    const signedIn = JSON.parse(login.text) as { type: string; access_token: string; user: object };
    expect(signedIn).toMatchObject({
      type: 'access_token',
      access_token: expect.any(String) as string,
      user: { name: 'alice', is_admin: false, info: {} },
    });
    const token = signedIn.access_token;

    // 6. A punches B with its token (over a secured link, as the client does when it has a Key and a
    // token); the context signal hands B carries a reference naming alice.
    const push = b.nextPush({ timeoutMs: 15_000 });
    const punch = a.punchHole(machineB.id, { token });
    const { push: received } = await push;
    expect(['punch-hole', 'fetch-local-addr']).toContain(received.kind);
    const connAuditRef =
      received.kind === 'request-relay' ? '' : (received.message.controlledContext?.connAuditRef ?? '');
    expect(connAuditRef).not.toBe('');
    expect((await punch).secureTcp).toBe('secured');

    // 7. B reports the connection: the open record, then the authorised one; each stored is 200 with
    // an empty body, and a retried record (same nonce) changes nothing.
    const connId = randomInt(1, 2 ** 31 - 1);
    const record = { ...identityB, conn_id: connId };
    const opened = connRecord({
      ...record,
      nonce: randomUUID(),
      action: 'new',
      ip: '127.0.0.2',
      conn_audit_ref: connAuditRef,
    });
    expect(await client('/api/audit/conn', opened)).toMatchObject({ status: 200, text: '' });
    const authorised = connRecord({
      ...record,
      nonce: randomUUID(),
      peer: [machineA.id, 'alice-pc'],
      type: 0,
    });
    expect(await client('/api/audit/conn', authorised)).toMatchObject({ status: 200, text: '' });
    expect(await client('/api/audit/conn', opened)).toMatchObject({ status: 200, text: '' });
    const connections = () =>
      operator<{ items: ConnectionView[] }>('GET', `/client-audit/connections?device=${machineB.id}`);
    expect((await connections()).items).toHaveLength(1);

    // 8. The operator ends the session; B's next heartbeat carries it once. A forged heartbeat first
    // must not take the request away from the device.
    await operator('POST', `/devices/${machineB.id}/disconnect`, { connId });
    expect(
      await heartbeat({ id: machineB.id, uuid: wrongUuid, ver: 1004009, conns: [connId], modified_at: 0 }),
    ).toMatchObject({ status: 403 });
    const live = { ...identityB, ver: 1004009, conns: [connId], modified_at: pushed.reply.modified_at };
    const ended = await readUntil(
      () => heartbeat(live),
      (beat) => beat.reply.disconnect !== undefined,
      15_000,
    );
    expect(ended).toMatchObject({ status: 200, reply: { disconnect: [connId] } });
    const after = await heartbeat(live);
    expect(after.status).toBe(200);
    expect(after.reply.disconnect).toBeUndefined();

    // 9. B closes the record; the operator sees one connection, who made it, and for how long.
    const closed = connRecord({ ...record, nonce: randomUUID(), action: 'close' });
    expect(await client('/api/audit/conn', closed)).toMatchObject({ status: 200, text: '' });
    const { items } = await connections();
    expect(items).toEqual([
      expect.objectContaining({
        deviceId: machineB.id,
        connId,
        sessionId: SESSION_ID,
        ip: '127.0.0.2',
        peerId: machineA.id,
        peerName: 'alice-pc',
        connType: 0,
        user: { id: alice.id, username: 'alice' },
        openedAt: expect.any(String) as string,
        authorizedAt: expect.any(String) as string,
        closedAt: expect.any(String) as string,
      }),
    ]);
    const [connection] = items;
    expect(Date.parse(connection?.closedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(connection?.openedAt ?? ''),
    );
    const assigned = await operator<{ entries: { targetId: string; details: unknown }[] }>(
      'GET',
      '/audit?action=strategy.assign',
    );
    expect(assigned.entries).toEqual([
      expect.objectContaining({ targetId: strategy.id, details: expect.objectContaining({}) as object }),
    ]);
    expect(JSON.stringify(assigned.entries[0]?.details)).toContain(machineB.id);
    const disconnected = await operator<{ entries: { details: unknown }[] }>(
      'GET',
      `/audit?action=device.disconnect&targetId=${machineB.id}`,
    );
    expect(disconnected.entries).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ connId }) as object }),
    ]);

    // 10. A signs out; its token is then refused as the client expects (it signs out and wipes caches).
    const identityA = JSON.stringify({ id: machineA.id, uuid: uuidOf(machineA) });
    const current = await client('/api/currentUser', identityA, token);
    expect(current.status).toBe(200);
    expect(JSON.parse(current.text)).toMatchObject({ name: 'alice' });
    expect(await client('/api/logout', identityA, token)).toMatchObject({ status: 200 });
    const afterLogout = await client('/api/currentUser', identityA, token);
    expect(afterLogout.status).toBe(401);
    expect(JSON.parse(afterLogout.text)).toEqual({ error: 'Invalid token' });
  });
});
