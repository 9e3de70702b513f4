import { randomUUID } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SettingRepository } from '@switchboard/data-access';
import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';
import { type Response as InjectResponse } from 'light-my-request';

import { startTestApp } from '../../test/api-test-harness';
import { createUser, enableTotp, totpCode, type TestUser } from '../../test/auth-helpers';
import {
  auditPostOutcome,
  CLIENT_PAGE_SIZE,
  fetchAllPages,
  parseAbPeer,
  parseAbPersonal,
  parseAbProfile,
  parseAbSettings,
  parseAbTags,
  parseAbWrite,
  parseCliAnswer,
  parseConnActive,
  parseCurrentUser,
  parseDeployAnswer,
  parseDeviceGroup,
  parseHeartbeatReply,
  parseLegacyAbGet,
  parseLegacyAbPost,
  parseLoginAnswer,
  parseLoginOptions,
  parsePage,
  parsePeerPayload,
  parseRustUserPayload,
  parseSciterAbGet,
  parseSysinfoAnswer,
  parseUserPayload,
  parseUsersPage,
} from '../../test/client-parsers';
import { ManualClock } from '../../test/manual-clock';
import { openKitParts } from '../../test/device-test-kit';

// The contract suite: every client endpoint driven with the exact requests of the stock RustDesk
// client (1.4.9) and every answer read by parsers that behave like the client's own
// (apps/api/test/client-parsers.ts). Requests follow flutter/lib/models/{user_model,ab_model,
// group_model,model}.dart, flutter/lib/common/hbbs/hbbs.dart, src/hbbs_http/sync.rs,
// src/server/connection.rs, src/ui_interface.rs and src/core_main.rs; the rules are docs/client-api.md.

const U64_MAX = '18446744073709551615';
/** A field a newer client might add: request bodies must accept and ignore it (docs/client-api.md §1.3). */
const FUTURE = { x_future_field: { nested: [1, 'two'] } };

/**
 * Real time plus whatever a test skips: TOTP steps move on (enableTotp advances it) while rows the
 * database stamps with now() never lie in the api's future.
 */
class RunningClock extends ManualClock {
  private offsetMs = 0;

  override now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  override advance(ms: number): void {
    this.offsetMs += ms;
  }
}

describe('client API contract', () => {
  const clock = new RunningClock();
  let parts: Awaited<ReturnType<typeof openKitParts>>;
  let app: NestFastifyApplication;
  let admin: TestUser;
  let alice: TestUser;
  let adminToken: string;
  let aliceToken: string;
  let operatorAuth: string;
  let apiKey: string;
  const device = { id: '246800135', uuid: Buffer.from('contract-machine-uid').toString('base64') };

  beforeAll(async () => {
    parts = await openKitParts('client-contract');
    await parts.prisma.device.create({
      data: { rustdeskId: device.id, uuid: Buffer.from(device.uuid, 'base64'), pk: Buffer.alloc(32, 3) },
    });
    app = await startTestApp({ DATABASE_URL: parts.database.url, REDIS_KEY_PREFIX: parts.prefix }, { clock });
    admin = await createUser(app, 'admin');
    alice = await createUser(app, 'operator');
    adminToken = await login(admin);
    aliceToken = await login(alice);
    const operator = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username: admin.username, password: admin.password },
    });
    operatorAuth = `Bearer ${operator.json<{ accessToken: string }>().accessToken}`;
    const key = await app.inject({
      method: 'POST',
      url: '/api/v1/api-keys',
      headers: { authorization: operatorAuth },
      payload: { name: 'contract' },
    });
    apiKey = key.json<{ key: string }>().key;
  });

  afterAll(async () => {
    await app?.close();
    parts?.redis.disconnect();
    await parts?.prisma.$disconnect();
    await parts?.database.drop();
  });

  // ---- requests exactly as the client sends them --------------------------------------------

  /** Flutter `http.post` with no headers: http_service.dart adds `Content-Type: application/json`. */
  const flutterPost = (url: string, body: unknown, token?: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** ab_model.dart list calls: bearer, JSON content type, `Content-Length: 0`, no body (`_setEmptyBody`). */
  const abList = (url: string, token: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': '0',
      },
    });

  /** ab_model.dart writes: bearer and JSON. */
  const abWrite = (method: 'POST' | 'PUT' | 'DELETE', url: string, body: unknown, token: string) =>
    app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  /** group_model.dart: GET with `getHttpHeaders()` only, no Content-Type. */
  const groupGet = (url: string, token: string) =>
    app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });

  /** Rust `post_request` (sync.rs, connection.rs): JSON content type, no auth unless a header is given. */
  const rustPost = (url: string, body: string, authorization?: string) =>
    app.inject({
      method: 'POST',
      url,
      headers: {
        'content-type': 'application/json',
        ...(authorization === undefined ? {} : { authorization }),
      },
      payload: body,
    });

  async function login(user: TestUser): Promise<string> {
    const answer = parseLoginAnswer(await flutterPost('/api/login', loginBody(user)));
    if (answer.kind !== 'signed-in') throw new Error(`login: ${JSON.stringify(answer)}`);
    return answer.accessToken;
  }

  /** hbbs.dart `LoginRequest.toJson` for the password step. */
  function loginBody(user: TestUser) {
    return {
      username: user.username,
      password: user.password,
      id: '123456789',
      uuid: device.uuid,
      autoLogin: true,
      type: 'account',
      deviceInfo: { os: 'linux', type: 'client', name: 'contract-host' },
      ...FUTURE,
    };
  }

  const page = (path: string, current: number, extra = '') =>
    `${path}?current=${current}&pageSize=${CLIENT_PAGE_SIZE}${extra}`;

  function expectJsonError(response: InjectResponse): void {
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(response.json()).toEqual(expect.objectContaining({ error: expect.any(String) }));
  }

  // ---- the client's sequence ----------------------------------------------------------------

  describe('account', () => {
    it('HEAD and GET /api/login-options', async () => {
      const probe = await app.inject({ method: 'HEAD', url: '/api/login-options' });
      // A TLS probe: any HTTP status is a success, but a 5xx would mean the route is broken.
      expect(probe.statusCode).toBeLessThan(500);
      const options = await app.inject({
        method: 'GET',
        url: '/api/login-options',
        headers: { 'content-type': 'application/json' },
      });
      expect(parseLoginOptions(options)).toEqual([]);
    });

    it('POST /api/login with a password: access_token with a user both the Dart and Rust sides accept', async () => {
      const answer = parseLoginAnswer(await flutterPost('/api/login', loginBody(alice)));
      expect(answer).toMatchObject({ kind: 'signed-in', user: { name: alice.username, isAdmin: false } });
      const raw = (await flutterPost('/api/login', loginBody(admin))).json<{ user: unknown }>();
      expect(parseRustUserPayload(raw.user)).toEqual({ name: admin.username, isAdmin: true });
    });

    it('POST /api/login with the TOTP step: email_check/tfa_check, then the code in verificationCode and tfaCode', async () => {
      const totpUser = await createUser(app, 'viewer');
      const { secret } = await enableTotp(app, totpUser, clock);
      const first = parseLoginAnswer(await flutterPost('/api/login', loginBody(totpUser)));
      expect(first).toMatchObject({
        kind: 'second-factor',
        method: 'totp',
        user: { name: totpUser.username },
      });
      if (first.kind !== 'second-factor') return;
      const code = await totpCode(secret, clock);
      // login.dart: `username: user.name`, both code fields, `type: email_code`.
      const second = parseLoginAnswer(
        await flutterPost('/api/login', {
          username: first.user?.name,
          verificationCode: code,
          tfaCode: code,
          secret: first.secret,
          id: '123456789',
          uuid: device.uuid,
          autoLogin: true,
          type: 'email_code',
          deviceInfo: { os: 'windows', type: 'client', name: 'pc' },
          ...FUTURE,
        }),
      );
      expect(second).toMatchObject({ kind: 'signed-in', user: { name: totpUser.username } });
    });

    it('POST /api/currentUser', async () => {
      const response = await flutterPost(
        '/api/currentUser',
        { id: '123456789', uuid: device.uuid, ...FUTURE },
        aliceToken,
      );
      expect(parseCurrentUser(response)).toMatchObject({ kind: 'user', user: { name: alice.username } });
      expect(parseRustUserPayload(response.json())).toMatchObject({ name: alice.username });
    });
  });

  describe('address book v2', () => {
    let guid: string;

    beforeAll(async () => {
      const personal = parseAbPersonal(await abList('/api/ab/personal', aliceToken));
      if (personal.legacy) throw new Error('ab/personal answered 404: the client would fall back to legacy');
      guid = personal.guid;
    });

    it('POST /api/ab/personal and /api/ab/settings', async () => {
      expect(parseAbPersonal(await abList('/api/ab/personal', aliceToken))).toEqual({ legacy: false, guid });
      expect(parseAbSettings(await abList('/api/ab/settings', aliceToken))).toEqual({ maxPeerOneAb: 0 });
    });

    it('every AB write answers 200 with an EMPTY body, and the lists read back with the client types', async () => {
      const writes: ['POST' | 'PUT' | 'DELETE', string, unknown][] = [
        ['POST', `/api/ab/tag/add/${guid}`, { name: 'servers', color: 4288585374, ...FUTURE }],
        ['POST', `/api/ab/tag/add/${guid}`, { name: 'old', color: 0 }],
        [
          'POST',
          `/api/ab/peer/add/${guid}`,
          {
            id: '111222333',
            alias: 'db',
            tags: ['servers'],
            hash: 'remembered-hash',
            username: 'root',
            hostname: 'db-1',
            platform: 'Linux',
            forceAlwaysRelay: 'true',
            rdpPort: '3389',
            rdpUsername: 'admin',
            loginName: '',
            device_group_name: '',
            note: 'primary',
            same_server: true,
            ...FUTURE,
          },
        ],
        ['POST', `/api/ab/peer/add/${guid}`, { id: '444555666', alias: '', tags: ['old'] }],
        ['PUT', `/api/ab/peer/update/${guid}`, { id: '444555666', tags: ['old', 'servers'] }],
        ['PUT', `/api/ab/peer/update/${guid}`, { id: '444555666', alias: 'web' }],
        ['PUT', `/api/ab/peer/update/${guid}`, { id: '444555666', note: 'front', ...FUTURE }],
        ['PUT', `/api/ab/peer/update/${guid}`, { id: '444555666', hash: 'h2' }],
        [
          'PUT',
          `/api/ab/peer/update/${guid}`,
          { id: '444555666', username: 'u', hostname: 'h', platform: 'Windows' },
        ],
        ['PUT', `/api/ab/tag/rename/${guid}`, { old: 'old', new: 'legacy' }],
        ['PUT', `/api/ab/tag/update/${guid}`, { name: 'legacy', color: 4294967295 }],
        ['POST', `/api/ab/peer/add/${guid}`, { id: '777888999', alias: 'gone', tags: [] }],
        ['DELETE', `/api/ab/peer/${guid}`, ['777888999']],
        ['POST', `/api/ab/tag/add/${guid}`, { name: 'temp', color: 1 }],
        ['DELETE', `/api/ab/tag/${guid}`, ['temp']],
      ];
      for (const [method, url, body] of writes) {
        const response = await abWrite(method, url, body, aliceToken);
        expect({
          url,
          ...(() => {
            try {
              parseAbWrite(response);
              return { ok: true };
            } catch (error) {
              return { ok: false, error: String(error) };
            }
          })(),
        }).toEqual({ url, ok: true });
      }
      const tags = parseAbTags(await abList(`/api/ab/tags/${guid}`, aliceToken));
      expect(tags).toEqual(
        expect.arrayContaining([
          { name: 'servers', color: 4288585374 },
          { name: 'legacy', color: 4294967295 },
        ]),
      );
      expect(tags.map((tag) => tag.name)).not.toContain('temp');
      const peers = await fetchAllPages(
        (current) => abList(page('/api/ab/peers', current, `&ab=${guid}`), aliceToken),
        parseAbPeer,
        (peer) => peer.id,
        'ab/peers',
      );
      expect(peers.items.map((peer) => peer.id).sort()).toEqual(['111222333', '444555666']);
      expect(peers.items.find((peer) => peer.id === '111222333')).toMatchObject({
        forceAlwaysRelay: true,
        rdpPort: '3389',
        sameServer: true,
        hash: 'remembered-hash',
        note: 'primary',
      });
      expect(peers.items.find((peer) => peer.id === '444555666')).toMatchObject({
        alias: 'web',
        note: 'front',
        tags: expect.arrayContaining(['legacy', 'servers']),
        hostname: 'h',
      });
    });

    it('pages /api/ab/peers over more than 100 peers without duplicates', async () => {
      const book = await sharedBook('contract-many-peers');
      for (let i = 0; i < 105; i++) {
        parseAbWrite(
          await abWrite(
            'POST',
            `/api/ab/peer/add/${book}`,
            { id: `9${String(i).padStart(8, '0')}`, alias: '', tags: [] },
            adminToken,
          ),
        );
      }
      const peers = await fetchAllPages(
        (current) => abList(page('/api/ab/peers', current, `&ab=${book}`), adminToken),
        parseAbPeer,
        (peer) => peer.id,
        'ab/peers',
      );
      expect(peers.requests).toBe(2);
      expect(peers.raw).toHaveLength(105);
      expect(new Set(peers.raw.map((peer) => peer.id)).size).toBe(105);
    });

    it('pages /api/ab/shared/profiles over more than 100 books without duplicates', async () => {
      for (let i = 0; i < 101; i++) await sharedBook(`contract-book-${String(i).padStart(3, '0')}`);
      const profiles = await fetchAllPages(
        (current) => abList(page('/api/ab/shared/profiles', current), adminToken),
        parseAbProfile,
        (profile) => profile.name,
        'ab/shared/profiles',
      );
      expect(profiles.requests).toBe(2);
      expect(profiles.raw.length).toBeGreaterThan(101);
      expect(new Set(profiles.raw.map((profile) => profile.guid)).size).toBe(profiles.raw.length);
      expect(profiles.items.map((profile) => profile.name)).not.toContain('My address book');
      expect(profiles.items.every((profile) => profile.rule === 3)).toBe(true);
    });

    it('legacy GET /api/ab, POST /api/ab and the Sciter POST /api/ab/get show the same book', async () => {
      const get = () =>
        app.inject({
          method: 'GET',
          url: '/api/ab',
          headers: {
            authorization: `Bearer ${aliceToken}`,
            'content-type': 'application/json',
            'accept-encoding': 'gzip',
          },
        });
      const before = parseLegacyAbGet(await get());
      expect(before?.peers.map((peer) => peer.id).sort()).toEqual(['111222333', '444555666']);
      const blob = {
        tags: ['servers', 'legacy'],
        peers: [
          ...(before?.peers ?? []).map((peer) => ({
            id: peer.id,
            hash: peer.hash,
            username: peer.username,
            hostname: peer.hostname,
            platform: peer.platform,
            alias: peer.alias,
            tags: peer.tags,
          })),
          {
            id: '123123123',
            hash: '',
            username: '',
            hostname: '',
            platform: '',
            alias: 'new',
            tags: ['servers'],
          },
        ],
        tag_colors: JSON.stringify({ servers: 4288585374, legacy: 4294967295 }),
      };
      parseLegacyAbPost(await flutterPost('/api/ab', { data: JSON.stringify(blob), ...FUTURE }, aliceToken));
      const after = parseLegacyAbGet(await get());
      expect(after?.peers.map((peer) => peer.id).sort()).toEqual(['111222333', '123123123', '444555666']);
      expect(after?.tagColors).toEqual({ servers: 4288585374, legacy: 4294967295 });
      const sciter = parseSciterAbGet(await flutterPost('/api/ab/get', {}, aliceToken));
      expect(sciter.peers.map((peer) => peer.id).sort()).toEqual(['111222333', '123123123', '444555666']);
      // Fields the blob lacks survive a push on the peers it keeps.
      const v2 = parsePage(
        await abList(page('/api/ab/peers', 1, `&ab=${guid}`), aliceToken),
        parseAbPeer,
        'ab/peers',
      );
      expect(v2.items.find((peer) => peer.id === '111222333')).toMatchObject({
        note: 'primary',
        rdpPort: '3389',
      });
    });
  });

  async function sharedBook(name: string): Promise<string> {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/address-books',
      headers: { authorization: operatorAuth },
      payload: { name },
    });
    expect(created.statusCode).toBe(201);
    return created.json<{ id: string }>().id;
  }

  describe('group tab', () => {
    it('GET /api/device-group/accessible, /api/users and /api/peers without Content-Type', async () => {
      const groups = await fetchAllPages(
        (current) => groupGet(page('/api/device-group/accessible', current), aliceToken),
        parseDeviceGroup,
        (group) => group.name,
        'device-group/accessible',
      );
      expect(groups.raw.length).toBe(new Set(groups.raw.map((group) => group.name)).size);
      const users = await fetchAllPages(
        (current) => groupGet(page('/api/users', current, '&accessible=&status=1'), aliceToken),
        (json) => parseUserPayload(json),
        (user) => user.name,
        'users',
      );
      expect(users.items.map((user) => user.name)).toContain(alice.username);
      const first = await groupGet(page('/api/users', 1, '&accessible=&status=1'), aliceToken);
      expect(() => parseUsersPage(first)).not.toThrow();
      const peers = await fetchAllPages(
        (current) => groupGet(page('/api/peers', current, '&accessible=&status=1'), adminToken),
        parsePeerPayload,
        (peer) => peer.id,
        'peers',
      );
      expect(peers.items.map((peer) => peer.id)).toContain(device.id);
    });
  });

  describe('device sync', () => {
    const sysinfo = {
      cpu: 'Intel(R) Core(TM) i7-8565U CPU @ 1.80GHz, 1.99GHz, 8/4 cores',
      memory: '15.55GB',
      os: 'ubuntu / Linux 22.04 Ubuntu',
      hostname: 'contract-box',
      username: 'alice',
      version: '1.4.9',
      id: device.id,
      uuid: device.uuid,
      ...FUTURE,
    };

    it('POST /api/sysinfo answers SYSINFO_UPDATED in plain text; the group tab then shows the os', async () => {
      const response = await rustPost('/api/sysinfo', JSON.stringify(sysinfo));
      expect(parseSysinfoAnswer(response.body)).toBe('updated');
      const peers = parsePage(
        await groupGet(page('/api/peers', 1, '&accessible=&status=1'), adminToken),
        parsePeerPayload,
        'peers',
      );
      expect(peers.items.find((peer) => peer.id === device.id)).toMatchObject({
        platform: 'Linux',
        hostname: 'contract-box',
      });
    });

    it('POST /api/sysinfo_ver answers without a 5xx (unreachable in the client, harmless)', async () => {
      const response = await rustPost('/api/sysinfo_ver', '');
      expect(response.statusCode).toBeLessThan(500);
    });

    it('POST /api/heartbeat: the reply parses, modified_at an integer, strategy strings only', async () => {
      const create = await app.inject({
        method: 'POST',
        url: '/api/v1/strategies',
        headers: { authorization: operatorAuth },
        payload: {
          name: 'contract-strategy',
          options: { 'enable-camera': 'N', 'allow-auto-disconnect': 'Y' },
        },
      });
      expect(create.statusCode).toBe(201);
      const assign = await app.inject({
        method: 'POST',
        url: `/api/v1/strategies/${create.json<{ id: string }>().id}/assign`,
        headers: { authorization: operatorAuth },
        payload: { device: device.id },
      });
      expect(assign.statusCode).toBe(204);
      const body = (modifiedAt: number) =>
        JSON.stringify({
          id: device.id,
          uuid: device.uuid,
          ver: 1004090,
          conns: [1, 2],
          modified_at: modifiedAt,
          ...FUTURE,
        });
      const first = parseHeartbeatReply((await rustPost('/api/heartbeat', body(0))).body);
      expect(first.sysinfoRequested).toBe(false);
      expect(typeof first.modifiedAt).toBe('number');
      expect(first.strategy?.configOptions).toMatchObject({ 'enable-camera': 'N' });
      const again = parseHeartbeatReply((await rustPost('/api/heartbeat', body(first.modifiedAt ?? 0))).body);
      expect(again.strategy).toBeUndefined();
    });
  });

  describe('audit', () => {
    const conn = (fields: string) =>
      `{"id":"${device.id}","uuid":"${device.uuid}","conn_id":7,"session_id":${U64_MAX},"nonce":"${randomUUID()}",${fields}}`;

    it('POST /api/audit/conn|file|alarm with a raw u64 session_id: stored on an empty 2xx', async () => {
      for (const body of [
        conn('"ip":"192.0.2.5","action":"new","x_future_field":1'),
        conn('"peer":["987654321","alice-pc"],"type":0,"primary_auth":3,"two_factor":1'),
      ]) {
        expect(auditPostOutcome(await rustPost('/api/audit/conn', body))).toBe('stored');
      }
      const file = {
        id: device.id,
        uuid: device.uuid,
        peer_id: '987654321',
        conn_id: 7,
        type: 0,
        path: '/home/alice',
        is_file: false,
        info: JSON.stringify({ ip: '192.0.2.5', name: 'alice-pc', num: 1, files: [['a.txt', 12]] }),
        nonce: randomUUID(),
        ...FUTURE,
      };
      expect(auditPostOutcome(await rustPost('/api/audit/file', JSON.stringify(file)))).toBe('stored');
      const alarm = {
        id: device.id,
        uuid: device.uuid,
        typ: 2,
        info: JSON.stringify({ ip: '192.0.2.66' }),
        conn_id: 8,
        nonce: randomUUID(),
        ...FUTURE,
      };
      expect(auditPostOutcome(await rustPost('/api/audit/alarm', JSON.stringify(alarm)))).toBe('stored');
      const rows = await parts.prisma.$queryRaw<{ session_id: string }[]>`
        SELECT session_id::text AS session_id FROM connection_audits WHERE conn_id = 7`;
      expect(rows).toEqual([{ session_id: U64_MAX }]);
    });

    it('GET /api/audit/conn/active answers a JSON string, PUT /api/audit sets the note, then close', async () => {
      const active = await app.inject({
        method: 'GET',
        url: `/api/audit/conn/active?id=${device.id}&session_id=${U64_MAX}&conn_type=0`,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      });
      const found = parseConnActive(active);
      expect(found.kind).toBe('guid');
      if (found.kind !== 'guid') return;
      const note = await app.inject({
        method: 'PUT',
        url: '/api/audit',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ guid: found.guid, note: 'checked the backups', ...FUTURE }),
      });
      expect(note.statusCode).toBe(200);
      // The controlling side's in-session note: no token, no uuid, no nonce (ui_session_interface.rs).
      const sessionNote = await rustPost(
        '/api/audit/conn',
        `{"id":"${device.id}","session_id":${U64_MAX},"note":"hi"}`,
      );
      expect(auditPostOutcome(sessionNote)).toBe('stored');
      expect(auditPostOutcome(await rustPost('/api/audit/conn', conn('"action":"close"')))).toBe('stored');
    });
  });

  describe('deployment and CLI', () => {
    const pk = Buffer.alloc(32, 9).toString('base64');
    const deploy = (body: unknown) =>
      rustPost('/api/devices/deploy', JSON.stringify(body), `Bearer ${apiKey}`);

    it('POST /api/devices/deploy answers the four result codes the client knows', async () => {
      const id = '135790001';
      const uuid = Buffer.from('deploy-machine').toString('base64');
      expect(parseDeployAnswer((await deploy({ id, uuid, pk, ...FUTURE })).body)).toMatchObject({
        result: 'OK',
      });
      expect(
        parseDeployAnswer((await deploy({ id, uuid: Buffer.from('other').toString('base64'), pk })).body),
      ).toMatchObject({
        result: 'ID_TAKEN',
        exitCode: 6,
      });
      expect(parseDeployAnswer((await deploy({ id: 'bad id', uuid, pk })).body)).toMatchObject({
        result: 'INVALID_INPUT',
        exitCode: 5,
      });
      const settings = new SettingRepository(parts.prisma);
      await settings.write(REGISTRATION_POLICY_KEY, 'open', null);
      try {
        expect(parseDeployAnswer((await deploy({ id: '135790002', uuid, pk })).body)).toMatchObject({
          result: 'NOT_ENABLED',
          exitCode: 3,
        });
      } finally {
        await settings.remove(REGISTRATION_POLICY_KEY);
      }
    });

    it('POST /api/devices/cli answers an empty body ("Done!") and readable text otherwise', async () => {
      const done = await rustPost(
        '/api/devices/cli',
        JSON.stringify({ id: device.id, uuid: device.uuid, note: 'assigned', ...FUTURE }),
        `Bearer ${apiKey}`,
      );
      expect(parseCliAnswer(done.body)).toBe('Done!');
      const refused = await rustPost(
        '/api/devices/cli',
        JSON.stringify({ id: device.id, uuid: device.uuid }),
      );
      expect(refused.statusCode).toBe(401);
      expect(parseCliAnswer(refused.body)).not.toMatch(/^\s*[{[]/);
    });
  });

  describe('logout', () => {
    it('POST /api/logout, then currentUser answers 401 {error: "Invalid token"}', async () => {
      const bob = await createUser(app, 'viewer');
      const token = await login(bob);
      const out = await flutterPost('/api/logout', { id: '123456789', uuid: device.uuid, ...FUTURE }, token);
      expect(out.statusCode).toBeLessThan(300);
      const after = await flutterPost('/api/currentUser', { id: '123456789', uuid: device.uuid }, token);
      expect(after.statusCode).toBe(401);
      expect(after.json()).toEqual({ error: 'Invalid token' });
      expect(parseCurrentUser(after)).toEqual({ kind: 'logged-out', wipe: true });
    });
  });

  // ---- one test per trap (docs/client-api.md §0) --------------------------------------------

  describe('the traps', () => {
    let guid: string;
    beforeAll(async () => {
      const personal = parseAbPersonal(await abList('/api/ab/personal', adminToken));
      if (personal.legacy) throw new Error('legacy');
      guid = personal.guid;
    });

    it('1. AB v2 write endpoints succeed only on HTTP 200 with an EMPTY body', async () => {
      parseAbWrite(await abWrite('POST', `/api/ab/tag/add/${guid}`, { name: 'trap1', color: 5 }, adminToken));
      parseAbWrite(
        await abWrite('POST', `/api/ab/peer/add/${guid}`, { id: '808080808', tags: ['trap1'] }, adminToken),
      );
      // Failures are never a 200: the client must not count them as done.
      const duplicate = await abWrite('POST', `/api/ab/peer/add/${guid}`, { id: '808080808' }, adminToken);
      expect(duplicate.statusCode).not.toBe(200);
      expectJsonError(duplicate);
      const unknown = await abWrite(
        'PUT',
        `/api/ab/peer/update/${guid}`,
        { id: '000111000', alias: 'x' },
        adminToken,
      );
      expect(unknown.statusCode).not.toBe(200);
      expectJsonError(unknown);
    });

    it('2. Audit posts succeed only on 2xx with an EMPTY body', async () => {
      const nonce = randomUUID();
      const body = `{"id":"${device.id}","uuid":"${device.uuid}","conn_id":21,"session_id":1,"nonce":"${nonce}","ip":"192.0.2.1","action":"new"}`;
      expect(auditPostOutcome(await rustPost('/api/audit/conn', body))).toBe('stored');
      // The retry of the same record (same nonce) is also an empty 2xx, stored once.
      expect(auditPostOutcome(await rustPost('/api/audit/conn', body))).toBe('stored');
      // Unknown devices and bad input are dropped (a non-transient 4xx), never retried forever.
      const unknown = await rustPost('/api/audit/conn', body.replace(device.id, '999999999'));
      expect(auditPostOutcome(unknown)).toBe('dropped');
      const wrongUuid = await rustPost('/api/audit/conn', body.replace(device.uuid, 'AAAA'));
      expect(auditPostOutcome(wrongUuid)).toBe('dropped');
    });

    it("3. Fastify's default JSON parser will break the address book", async () => {
      for (const url of [
        '/api/ab/personal',
        '/api/ab/settings',
        page('/api/ab/shared/profiles', 1),
        page('/api/ab/peers', 1, `&ab=${guid}`),
        `/api/ab/tags/${guid}`,
      ]) {
        const response = await abList(url, adminToken);
        expect({ url, status: response.statusCode }).toEqual({ url, status: 200 });
        expect(response.body).not.toContain('Bad Request');
      }
    });

    it('4. session_id is a random u64', async () => {
      for (const sessionId of ['9007199254740993', U64_MAX, '18446744073709551614']) {
        const body = `{"id":"${device.id}","uuid":"${device.uuid}","conn_id":33,"session_id":${sessionId},"nonce":"${randomUUID()}","ip":"192.0.2.1","action":"new"}`;
        expect(auditPostOutcome(await rustPost('/api/audit/conn', body))).toBe('stored');
      }
      const rows = await parts.prisma.$queryRaw<{ session_id: string }[]>`
        SELECT session_id::text AS session_id FROM connection_audits c WHERE conn_id = 33 ORDER BY c.session_id`;
      expect(rows.map((row) => row.session_id)).toEqual([
        '9007199254740993',
        '18446744073709551614',
        '18446744073709551615',
      ]);
      const tooBig = `{"id":"${device.id}","uuid":"${device.uuid}","conn_id":34,"session_id":18446744073709551616,"nonce":"${randomUUID()}","action":"new"}`;
      expect(auditPostOutcome(await rustPost('/api/audit/conn', tooBig))).toBe('dropped');
    });

    it('5. /api/sysinfo_ver is never called by the current client', async () => {
      // Unreachable (src/hbbs_http/sync.rs): whatever it answers must not break anything.
      const response = await rustPost('/api/sysinfo_ver', '');
      expect(response.statusCode).toBeLessThan(500);
    });

    it('6. /api/record is dead code in the stock client', async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/record?type=new&file=incoming_1_20260101000000000_display0_vp9.webm',
        payload: Buffer.from([1, 2, 3]),
      });
      expect(response.statusCode).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expectJsonError(response);
    });

    it('7. Easy to miss: conn/active is a JSON string, POST /api/ab/get serves Sciter, deploy has four codes', async () => {
      const active = await app.inject({
        method: 'GET',
        url: `/api/audit/conn/active?id=${device.id}&session_id=424242&conn_type=0`,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      });
      // Not yet recorded: `""`, so the client asks again instead of giving up.
      expect(parseConnActive(active)).toEqual({ kind: 'ask-again' });
      expect(
        parseSciterAbGet(await flutterPost('/api/ab/get', {}, adminToken)).peers.map((p) => p.id),
      ).toContain('808080808');
    });

    it('8. Paged responses must contain total', async () => {
      for (const [url, post] of [
        [page('/api/ab/shared/profiles', 99), true],
        [page('/api/ab/peers', 99, `&ab=${guid}`), true],
        [page('/api/users', 99, '&accessible=&status=1'), false],
        [page('/api/peers', 99, '&accessible=&status=1'), false],
        [page('/api/device-group/accessible', 99), false],
        ['/api/device-group/accessible', false],
      ] as const) {
        const response = post ? await abList(url, adminToken) : await groupGet(url, adminToken);
        const body = response.json<Record<string, unknown>>();
        expect({ url, total: typeof body['total'], data: Array.isArray(body['data']) }).toEqual({
          url,
          total: 'number',
          data: true,
        });
      }
    });

    it('9. Field-type traps', async () => {
      parseAbWrite(
        await abWrite('POST', `/api/ab/tag/add/${guid}`, { name: 'argb', color: 4288585374 }, adminToken),
      );
      parseAbWrite(
        await abWrite(
          'POST',
          `/api/ab/peer/add/${guid}`,
          { id: '909090909', tags: ['argb'], forceAlwaysRelay: 'false', rdpPort: '', same_server: false },
          adminToken,
        ),
      );
      expect(parseAbTags(await abList(`/api/ab/tags/${guid}`, adminToken))).toContainEqual({
        name: 'argb',
        color: 4288585374,
      });
      const raw = (await abList(page('/api/ab/peers', 1, `&ab=${guid}`), adminToken)).json<{
        data: Record<string, unknown>[];
      }>();
      const peer = raw.data.find((item) => item['id'] === '909090909');
      expect(peer).toMatchObject({ forceAlwaysRelay: 'false', rdpPort: '', same_server: false });
      // A peer added without the optional fields still has them in the client's types.
      const bare = raw.data.find((item) => item['id'] === '808080808');
      expect(() => parseAbPeer(bare)).not.toThrow();
      expect(typeof bare?.['forceAlwaysRelay']).toBe('string');
      const user = (await flutterPost('/api/currentUser', { id: '1', uuid: 'x' }, adminToken)).json<
        Record<string, unknown>
      >();
      expect([0, 1, -1]).toContain(user['status']);
      expect(user['info']).toEqual(expect.any(Object));
      expect(user['is_admin']).toBe(true);
    });

    it('10. Client-side 2FA input limits', async () => {
      const user = await createUser(app, 'viewer');
      const { secret } = await enableTotp(app, user, clock);
      const step = parseLoginAnswer(await flutterPost('/api/login', loginBody(user)));
      if (step.kind !== 'second-factor') throw new Error('no second factor');
      const code = await totpCode(secret, clock);
      // dialog.dart: the TOTP field takes exactly six digits; the code is what the server gets.
      expect(code).toMatch(/^\d{6}$/);
      const wrong = parseLoginAnswer(
        await flutterPost('/api/login', {
          username: user.username,
          verificationCode: '000000' === code ? '111111' : '000000',
          tfaCode: '000000' === code ? '111111' : '000000',
          secret: step.secret,
          type: 'email_code',
        }),
      );
      expect(wrong.kind).toBe('refused');
    });
  });

  // ---- bad input on every POST/PUT endpoint -------------------------------------------------

  describe('bad input', () => {
    /**
     * `sysinfo`: sync.rs reads any answer but its two keywords as "try again in 120 s", so the
     * refusal may be `{error}` (docs/client-api.md §1.1) as long as it is not `ID_NOT_FOUND`.
     */
    type Shape = 'json' | 'text' | 'deploy' | 'sysinfo';
    interface Row {
      url: string;
      method?: 'POST' | 'PUT';
      auth: 'client' | 'api-key' | 'none';
      shape: Shape;
      /** False for the list calls, which never read their body: an array or wrong types may still answer 200. */
      readsBody: boolean;
      wrongTypes: Record<string, unknown>;
    }
    const rows: Row[] = [
      {
        url: '/api/login',
        auth: 'none',
        shape: 'json',
        readsBody: true,
        wrongTypes: { username: 5, password: ['x'], type: 'account' },
      },
      {
        url: '/api/currentUser',
        auth: 'client',
        shape: 'json',
        readsBody: false,
        wrongTypes: { id: 5, uuid: [] },
      },
      { url: '/api/oidc/auth', auth: 'none', shape: 'json', readsBody: true, wrongTypes: { op: 5, id: [] } },
      { url: '/api/ab/personal', auth: 'client', shape: 'json', readsBody: false, wrongTypes: { x: 1 } },
      { url: '/api/ab/settings', auth: 'client', shape: 'json', readsBody: false, wrongTypes: { x: 1 } },
      {
        url: '/api/ab/shared/profiles?current=1&pageSize=100',
        auth: 'client',
        shape: 'json',
        readsBody: false,
        wrongTypes: { x: 1 },
      },
      {
        url: '/api/ab/peer/add/GUID',
        auth: 'client',
        shape: 'json',
        readsBody: true,
        wrongTypes: { id: 5, tags: 'a', forceAlwaysRelay: true },
      },
      {
        url: '/api/ab/peer/update/GUID',
        method: 'PUT',
        auth: 'client',
        shape: 'json',
        readsBody: true,
        wrongTypes: { id: ['x'], alias: 5 },
      },
      {
        url: '/api/ab/tag/add/GUID',
        auth: 'client',
        shape: 'json',
        readsBody: true,
        wrongTypes: { name: 5, color: 'red' },
      },
      {
        url: '/api/ab/tag/rename/GUID',
        method: 'PUT',
        auth: 'client',
        shape: 'json',
        readsBody: true,
        wrongTypes: { old: 5, new: null },
      },
      {
        url: '/api/ab/tag/update/GUID',
        method: 'PUT',
        auth: 'client',
        shape: 'json',
        readsBody: true,
        wrongTypes: { name: 'x', color: -1 },
      },
      { url: '/api/ab', auth: 'client', shape: 'json', readsBody: true, wrongTypes: { data: { tags: [] } } },
      { url: '/api/ab/get', auth: 'client', shape: 'json', readsBody: false, wrongTypes: { x: 1 } },
      {
        url: '/api/heartbeat',
        auth: 'none',
        shape: 'json',
        readsBody: true,
        wrongTypes: { id: 5, uuid: [], ver: 'x', modified_at: 'y' },
      },
      {
        url: '/api/sysinfo',
        auth: 'none',
        shape: 'sysinfo',
        readsBody: true,
        wrongTypes: { id: 5, uuid: {}, hostname: 1 },
      },
      {
        url: '/api/audit/conn',
        auth: 'none',
        shape: 'json',
        readsBody: true,
        wrongTypes: { id: 5, uuid: 1, conn_id: 'x', session_id: 'abc' },
      },
      {
        url: '/api/audit/file',
        auth: 'none',
        shape: 'json',
        readsBody: true,
        wrongTypes: { id: 5, uuid: 1, is_file: 'yes', type: 'x' },
      },
      {
        url: '/api/audit/alarm',
        auth: 'none',
        shape: 'json',
        readsBody: true,
        wrongTypes: { id: 5, uuid: 1, typ: 'x' },
      },
      {
        url: '/api/audit',
        method: 'PUT',
        auth: 'client',
        shape: 'json',
        readsBody: true,
        wrongTypes: { guid: 5, note: [] },
      },
      {
        url: '/api/devices/deploy',
        auth: 'api-key',
        shape: 'deploy',
        readsBody: true,
        wrongTypes: { id: 5, uuid: [], pk: {} },
      },
      {
        url: '/api/devices/cli',
        auth: 'api-key',
        shape: 'text',
        readsBody: true,
        wrongTypes: { id: 5, uuid: [], note: 7 },
      },
    ];
    let guid: string;
    beforeAll(async () => {
      const personal = parseAbPersonal(await abList('/api/ab/personal', adminToken));
      if (personal.legacy) throw new Error('legacy');
      guid = personal.guid;
    });

    const send = (row: Row, payload: string | Buffer) =>
      app.inject({
        method: row.method ?? 'POST',
        url: row.url.replace('GUID', guid),
        headers: {
          'content-type': 'application/json',
          ...(row.auth === 'client' ? { authorization: `Bearer ${adminToken}` } : {}),
          ...(row.auth === 'api-key' ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        payload,
      });

    function expectUnderstood(row: Row, response: InjectResponse, mustRefuse: boolean): void {
      const where = `${row.method ?? 'POST'} ${row.url} → ${response.statusCode} ${response.body.slice(0, 200)}`;
      expect({ where, serverError: response.statusCode >= 500 }).toEqual({ where, serverError: false });
      if (!mustRefuse && response.statusCode < 300) return;
      expect({ where, clientError: response.statusCode >= 400 }).toEqual({ where, clientError: true });
      if (row.shape === 'sysinfo') {
        expect({ where, next: parseSysinfoAnswer(response.body) }).toEqual({ where, next: 'retry-in-120s' });
      } else if (row.shape === 'text') {
        expect({ where, text: !/^\s*[{[]/.test(response.body) && response.body.length > 0 }).toEqual({
          where,
          text: true,
        });
      } else if (row.shape === 'deploy') {
        expect({ where, deploy: parseDeployAnswer(response.body).result }).toEqual({
          where,
          deploy: expect.stringMatching(/^(INVALID_INPUT|error)$/),
        });
        expect(response.json()).toEqual(expect.objectContaining({ error: expect.any(String) }));
      } else {
        let body: unknown;
        try {
          body = response.json();
        } catch {
          body = response.body;
        }
        expect({ where, body }).toEqual({
          where,
          body: expect.objectContaining({ error: expect.any(String) }),
        });
      }
    }

    it.each([
      ['malformed JSON', () => '{"id": ', true],
      ['a JSON array', () => '[1,2,3]', 'readsBody'],
      ['wrong field types', (row: Row) => JSON.stringify(row.wrongTypes), 'readsBody'],
      ['a 2 MiB body', () => JSON.stringify({ id: 'x'.repeat(2 * 1024 * 1024) }), true],
    ] as const)('answers %s with a 4xx the client understands, never a 5xx', async (_name, body, refuse) => {
      for (const row of rows) {
        const response = await send(row, body(row));
        expectUnderstood(row, response, refuse === true || row.readsBody);
      }
    });
  });
});
