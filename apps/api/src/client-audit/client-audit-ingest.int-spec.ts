import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodeConnAuditRef, encodePublicKeyFile, generateIdentityKeyPair } from '@switchboard/crypto';
import { type PrismaClient } from '@switchboard/data-access';

import { MetricsRegistry } from '../metrics/metrics.registry';
import { auditEntries, JSON_HEADERS, openKitParts, startKitApp } from '../../test/device-test-kit';

// The records a stock client posts to /api/audit/* (src/server/connection.rs post_conn_audit,
// post_file_audit, post_alarm_audit; src/ui_session_interface.rs send_note), byte for byte in shape,
// against the real app, Postgres and Redis.
describe('client audit ingest', () => {
  const signal = generateIdentityKeyPair();
  const keyDir = mkdtempSync(join(tmpdir(), 'client-audit-'));
  let parts: Awaited<ReturnType<typeof openKitParts>>;
  let app: NestFastifyApplication;
  let prisma: PrismaClient;
  const device = { id: '123456789', uuidBytes: Buffer.from('a1b2c3d4-machine-uid') };
  const uuid = device.uuidBytes.toString('base64');
  const controller = { id: '987654321', name: 'alice-laptop' };

  beforeAll(async () => {
    writeFileSync(join(keyDir, 'id_ed25519.pub'), encodePublicKeyFile(signal.publicKey));
    parts = await openKitParts('client-audit');
    prisma = parts.prisma;
    await prisma.device.create({ data: { rustdeskId: device.id, uuid: device.uuidBytes } });
    await prisma.device.create({ data: { rustdeskId: '555000111', uuid: Buffer.from('other-machine') } });
    app = await startKitApp(parts, { KEY_DIR: keyDir });
  });

  afterAll(async () => {
    await app?.close();
    parts.redis.disconnect();
    await prisma?.$disconnect();
    await parts?.database.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  function post(kind: 'conn' | 'file' | 'alarm', payload: unknown) {
    return app.inject({
      method: 'POST',
      url: `/api/audit/${kind}`,
      headers: JSON_HEADERS,
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
  }

  function conn(sessionId: string, connId: number, fields: Record<string, unknown>): string {
    // session_id spelled as the client's serde_json writes a u64: a bare integer literal.
    const { session_id: _unused, ...rest } = { ...fields, session_id: 0 };
    const json = JSON.stringify({ id: device.id, uuid, conn_id: connId, nonce: randomUUID(), ...rest });
    return `${json.slice(0, -1)},"session_id":${sessionId}}`;
  }

  async function connectionRow(sessionId: string, connId: number) {
    const rows = await prisma.$queryRaw<{ row: Record<string, unknown> }[]>`
      SELECT to_jsonb(c) - 'nonces' || jsonb_build_object('session_id', c.session_id::text, 'nonce_count', cardinality(c.nonces)) AS row
      FROM connection_audits c WHERE session_id = ${sessionId}::numeric AND conn_id = ${connId}`;
    return rows.map((row) => row.row);
  }

  function ref(targetId: string, issuedAt = Date.now(), key = signal.secretKey): string {
    return encodeConnAuditRef(
      {
        sessionId: randomUUID(),
        userId: '6a1d9e4c-1f2b-4c3d-8e9f-a0b1c2d3e4f5',
        username: 'alice',
        targetId,
        issuedAt,
      },
      key,
    );
  }

  it('folds open, authorised and close into one row, answering each with 200 and an empty body', async () => {
    const sessionId = '18446744073709551615';
    const open = await post(
      'conn',
      conn(sessionId, 7, { ip: '203.0.113.9', action: 'new', conn_audit_ref: ref(device.id) }),
    );
    expect(open.statusCode).toBe(200);
    expect(open.body).toBe('');
    const authorised = await post(
      'conn',
      conn(sessionId, 7, { peer: [controller.id, controller.name], type: 0, primary_auth: 3, two_factor: 1 }),
    );
    expect(authorised.statusCode).toBe(200);
    expect(authorised.body).toBe('');
    expect((await post('conn', conn(sessionId, 7, { action: 'close' }))).body).toBe('');

    const [row] = await connectionRow(sessionId, 7);
    expect(row).toMatchObject({
      rustdesk_id: device.id,
      session_id: sessionId,
      conn_id: 7,
      ip: '203.0.113.9',
      peer_id: controller.id,
      peer_name: controller.name,
      conn_type: 0,
      primary_auth: 3,
      two_factor: 1,
      user_id: '6a1d9e4c-1f2b-4c3d-8e9f-a0b1c2d3e4f5',
      username: 'alice',
      nonce_count: 3,
    });
    expect(row?.['opened_at']).not.toBeNull();
    expect(row?.['authorized_at']).not.toBeNull();
    expect(row?.['closed_at']).not.toBeNull();
  });

  it('keeps a session id just above 2^53 exact', async () => {
    const sessionId = '9007199254740993';
    expect((await post('conn', conn(sessionId, 1, { ip: '198.51.100.1', action: 'new' }))).statusCode).toBe(
      200,
    );
    expect(
      (await post('conn', conn('9007199254740992', 1, { ip: '198.51.100.2', action: 'new' }))).statusCode,
    ).toBe(200);
    const rows = await connectionRow(sessionId, 1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ session_id: sessionId, ip: '198.51.100.1' });
  });

  it('refuses a session id beyond u64, negative or fractional, with 400 {error}', async () => {
    for (const bad of ['18446744073709551616', '-1', '1.5', '"abc"']) {
      const response = await post('conn', conn(bad, 1, { action: 'new' }));
      expect(response.statusCode).toBe(400);
      expect(response.json()).toEqual({ error: expect.stringContaining('session_id') });
    }
  });

  it('stores a retried record once (same nonce), sequentially and concurrently, answering 200 each time', async () => {
    const nonce = randomUUID();
    const open = `{"id":"${device.id}","uuid":"${uuid}","conn_id":11,"session_id":4242,"nonce":"${nonce}","ip":"192.0.2.1","action":"new"}`;
    expect((await post('conn', open)).body).toBe('');
    expect((await post('conn', open)).body).toBe('');
    const retries = await Promise.all(Array.from({ length: 12 }, () => post('conn', open)));
    expect(retries.map((response) => [response.statusCode, response.body])).toEqual(
      retries.map(() => [200, '']),
    );
    expect(await connectionRow('4242', 11)).toEqual([expect.objectContaining({ nonce_count: 1 })]);

    // Concurrent first attempts of one file record and one alarm: one row each.
    const file = {
      id: device.id,
      uuid,
      peer_id: controller.id,
      conn_id: 11,
      type: 1,
      path: 'C:\\Users\\bob\\Desktop',
      is_file: false,
      info: JSON.stringify({
        ip: '192.0.2.1',
        name: 'alice',
        num: 2,
        files: [
          ['a.txt', 10],
          ['b.bin', 5],
        ],
      }),
      nonce: randomUUID(),
    };
    const alarm = {
      id: device.id,
      uuid,
      typ: 2,
      info: JSON.stringify({ ip: '192.0.2.1' }),
      conn_id: 11,
      nonce: randomUUID(),
    };
    const results = await Promise.all([
      ...Array.from({ length: 8 }, () => post('file', file)),
      ...Array.from({ length: 8 }, () => post('alarm', alarm)),
    ]);
    expect(results.every((response) => response.statusCode === 200 && response.body === '')).toBe(true);
    expect(await prisma.fileAudit.count({ where: { nonce: file.nonce } })).toBe(1);
    expect(await prisma.alarmAudit.count({ where: { nonce: alarm.nonce } })).toBe(1);
    // One chain entry per alarm, however often it was posted.
    expect(await auditEntries(prisma, 'client.alarm')).toHaveLength(1);
  });

  it('stores records without a nonce (older clients) every time', async () => {
    const legacy = { id: device.id, uuid, typ: 1, info: '{"ip":"192.0.2.7"}', conn_id: 3 };
    await post('alarm', legacy);
    await post('alarm', legacy);
    expect(await prisma.alarmAudit.count({ where: { alarmType: 1, nonce: null } })).toBe(2);
  });

  it('ignores fields it does not know', async () => {
    const response = await post(
      'conn',
      conn('777', 2, { ip: '192.0.2.8', action: 'new', future_field: { x: 1 }, risk: 9 }),
    );
    expect(response.statusCode).toBe(200);
    expect(await connectionRow('777', 2)).toHaveLength(1);
    const file = await post('file', {
      id: device.id,
      uuid,
      peer_id: controller.id,
      conn_id: 2,
      type: 0,
      path: '',
      is_file: true,
      info: '{"files":[["",3]]}',
      nonce: randomUUID(),
      clipboard: true,
    });
    expect(file.statusCode).toBe(200);
  });

  it('refuses an unknown device or a wrong uuid with a 4xx {error} and stores nothing', async () => {
    const before = await prisma.connectionAudit.count();
    const unknown = await post(
      'conn',
      `{"id":"404404404","uuid":"${uuid}","conn_id":1,"session_id":5,"nonce":"${randomUUID()}","action":"new"}`,
    );
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'Unknown device' });
    const wrongUuid = await post(
      'conn',
      `{"id":"555000111","uuid":"${uuid}","conn_id":1,"session_id":5,"nonce":"${randomUUID()}","action":"new"}`,
    );
    expect(wrongUuid.statusCode).toBe(403);
    expect(wrongUuid.json()).toEqual({ error: expect.stringContaining('uuid') });
    const alarm = await post('alarm', {
      id: device.id,
      uuid: 'bm90LXRoaXMtb25l',
      typ: 0,
      info: '{}',
      conn_id: 1,
    });
    expect(alarm.statusCode).toBe(403);
    expect(await prisma.connectionAudit.count()).toBe(before);
  });

  it('answers malformed JSON with 400 and an oversize body with 413, both {error}', async () => {
    const malformed = await post('conn', '{"id":"123456789",');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toEqual({ error: expect.any(String) });
    const huge = await post('file', {
      id: device.id,
      uuid,
      type: 0,
      path: 'x'.repeat(3 * 1024 * 1024),
      is_file: true,
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json()).toEqual({ error: expect.any(String) });
  });

  it('names the controlling user only from a fresh reference signal signed for this device', async () => {
    const cases: [string, string][] = [
      ['forged', ref(device.id, Date.now(), generateIdentityKeyPair().secretKey)],
      ['foreign', ref('555000111')],
      ['stale', ref(device.id, Date.now() - 11 * 60 * 1000)],
      ['malformed', 'not-a-reference'],
    ];
    let connId = 100;
    for (const [, reference] of cases) {
      connId += 1;
      const response = await post(
        'conn',
        conn('31337', connId, { ip: '192.0.2.9', action: 'new', conn_audit_ref: reference }),
      );
      expect(response.statusCode).toBe(200);
      expect(await connectionRow('31337', connId)).toEqual([
        expect.objectContaining({ user_id: null, username: null }),
      ]);
    }
    const metrics = await app.get(MetricsRegistry).render();
    for (const [outcome] of cases) {
      expect(metrics).toMatch(
        new RegExp(`switchboard_api_client_audit_conn_audit_ref_total\\{[^}]*outcome="${outcome}"[^}]*\\} 1`),
      );
    }
    // A whitelist alarm carries the reference too.
    const alarm = await post('alarm', {
      id: device.id,
      uuid,
      typ: 10,
      info: '{"id":"987654321","ip":"192.0.2.9","name":"x"}',
      conn_id: 5,
      nonce: randomUUID(),
      conn_audit_ref: ref(device.id),
    });
    expect(alarm.statusCode).toBe(200);
    expect(await prisma.alarmAudit.findFirst({ where: { alarmType: 10 } })).toMatchObject({
      username: 'alice',
    });
  });

  it('matches the controlling side note by device and session id', async () => {
    await post('conn', conn('5550001', 40, { ip: '192.0.2.10', action: 'new' }));
    const note = await post('conn', '{"id":"123456789","session_id":5550001,"note":"fixed the printer"}');
    expect(note.statusCode).toBe(200);
    expect(note.body).toBe('');
    expect(await connectionRow('5550001', 40)).toEqual([
      expect.objectContaining({ note: 'fixed the printer' }),
    ]);
    const nowhere = await post('conn', '{"id":"123456789","session_id":1,"note":"lost"}');
    expect(nowhere.statusCode).toBe(404);
  });

  it('copies the controlling user onto file records of the same connection', async () => {
    await post(
      'conn',
      conn('6660001', 41, { ip: '192.0.2.11', action: 'new', conn_audit_ref: ref(device.id) }),
    );
    const nonce = randomUUID();
    await post('file', {
      id: device.id,
      uuid,
      peer_id: controller.id,
      conn_id: 41,
      type: 0,
      path: '/tmp',
      is_file: false,
      info: 'not json',
      nonce,
    });
    expect(await prisma.fileAudit.findFirst({ where: { nonce } })).toMatchObject({
      username: 'alice',
      info: { text: 'not json' },
    });
  });
});
