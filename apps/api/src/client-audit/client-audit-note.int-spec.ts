import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodeConnAuditRef, encodePublicKeyFile, generateIdentityKeyPair } from '@switchboard/crypto';

import { createUser, type TestUser } from '../../test/auth-helpers';
import { clientLogin } from '../../test/client-login';
import { JSON_HEADERS, openKitParts, startKitApp } from '../../test/device-test-kit';

// The controlling client's end-of-session note (flutter/lib/models/model.dart `_queryAuditGuid`,
// flutter/lib/common/widgets/dialog.dart): the guid as a JSON string, then PUT /api/audit, both with
// the client's bearer token, allowed to the user who made the connection and to admins.
describe('client audit, end-of-session note', () => {
  const signal = generateIdentityKeyPair();
  const keyDir = mkdtempSync(join(tmpdir(), 'client-audit-note-'));
  const device = { id: '135792468', uuid: Buffer.from('note-machine') };
  let parts: Awaited<ReturnType<typeof openKitParts>>;
  let app: NestFastifyApplication;
  let alice: TestUser;
  let aliceToken: string;
  let bobToken: string;
  let adminToken: string;

  beforeAll(async () => {
    writeFileSync(join(keyDir, 'id_ed25519.pub'), encodePublicKeyFile(signal.publicKey));
    parts = await openKitParts('client-audit-note');
    await parts.prisma.device.create({ data: { rustdeskId: device.id, uuid: device.uuid } });
    app = await startKitApp(parts, { KEY_DIR: keyDir });
    alice = await createUser(app, 'operator');
    aliceToken = await clientLogin(app, alice);
    bobToken = await clientLogin(app, await createUser(app, 'operator'));
    adminToken = await clientLogin(app, await createUser(app, 'admin'));
  });

  afterAll(async () => {
    await app?.close();
    parts.redis.disconnect();
    await parts?.prisma.$disconnect();
    await parts?.database.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  async function open(sessionId: string, connId: number, withUser: boolean): Promise<void> {
    const reference = encodeConnAuditRef(
      {
        sessionId: randomUUID(),
        userId: alice.user.id,
        username: alice.username,
        targetId: device.id,
        issuedAt: Date.now(),
      },
      signal.secretKey,
    );
    const base = `"id":"${device.id}","uuid":"${device.uuid.toString('base64')}","conn_id":${connId},"session_id":${sessionId}`;
    for (const fields of [
      `"nonce":"${randomUUID()}","ip":"192.0.2.5","action":"new"${withUser ? `,"conn_audit_ref":"${reference}"` : ''}`,
      `"nonce":"${randomUUID()}","peer":["987654321","alice-pc"],"type":0,"primary_auth":2`,
    ]) {
      const response = await app.inject({
        method: 'POST',
        url: '/api/audit/conn',
        headers: JSON_HEADERS,
        payload: `{${base},${fields}}`,
      });
      expect(response.statusCode).toBe(200);
    }
  }

  function active(token: string, sessionId: string, connType = 0) {
    // As the client sends it: bearer plus Content-Type, the session id as decimal text.
    return app.inject({
      method: 'GET',
      url: `/api/audit/conn/active?id=${device.id}&session_id=${sessionId}&conn_type=${connType}`,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
  }

  function putNote(token: string, guid: string, note: string) {
    return app.inject({
      method: 'PUT',
      url: '/api/audit',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: { guid, note },
    });
  }

  it('gives the connection guid as a JSON string and stores the note', async () => {
    await open('18446744073709551615', 1, true);
    const response = await active(aliceToken, '18446744073709551615');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    const guid = JSON.parse(response.body) as unknown;
    expect(guid).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));

    const put = await putNote(aliceToken, guid as string, 'rebooted the server');
    expect(put.statusCode).toBe(200);
    const row = await parts.prisma.connectionAudit.findUnique({ where: { id: guid as string } });
    expect(row?.note).toBe('rebooted the server');
  });

  it('answers "" while the controlled side has not reported, so the client asks again', async () => {
    const response = await active(aliceToken, '424242');
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toBe('');
  });

  it("refuses another user's connection with 403, lets an admin through, and a bad token gets 401", async () => {
    await open('9007199254740993', 2, true);
    const other = await active(bobToken, '9007199254740993');
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({ error: expect.any(String) });
    const admin = await active(adminToken, '9007199254740993');
    expect(admin.statusCode).toBe(200);
    const guid = JSON.parse(admin.body) as string;
    expect((await putNote(bobToken, guid, 'mine now')).statusCode).toBe(403);
    expect((await putNote(adminToken, guid, 'checked by admin')).statusCode).toBe(200);

    const bad = await active('not-a-token', '9007199254740993');
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toEqual({ error: 'Invalid token' });
  });

  it('keeps a connection without a verified user to admins', async () => {
    await open('777', 3, false);
    expect((await active(aliceToken, '777')).statusCode).toBe(403);
    expect((await active(adminToken, '777')).statusCode).toBe(200);
  });

  it('refuses a bad guid, an unknown guid and a bad session id', async () => {
    expect((await putNote(aliceToken, 'nope', 'x')).statusCode).toBe(400);
    expect((await putNote(aliceToken, randomUUID(), 'x')).statusCode).toBe(404);
    expect((await active(aliceToken, '18446744073709551616')).statusCode).toBe(400);
  });
});
