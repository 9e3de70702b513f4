import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { encodeConnAuditRef, encodePublicKeyFile, generateIdentityKeyPair } from '@switchboard/crypto';

import { consoleHeaders, createUser, signInBrowser } from '../../test/auth-helpers';
import { JSON_HEADERS, openKitParts, startKitApp } from '../../test/device-test-kit';

interface Page {
  items: { sessionId: string }[];
  nextCursor: string | null;
}

// The operator's view of client-reported audit: listings with filters and paging, and CSV, behind
// audit.view; u64 session ids come back exactly as the client sent them.
describe('client audit, operator API', () => {
  const signal = generateIdentityKeyPair();
  const keyDir = mkdtempSync(join(tmpdir(), 'client-audit-ops-'));
  const aliceId = randomUUID();
  let parts: Awaited<ReturnType<typeof openKitParts>>;
  let app: NestFastifyApplication;
  let headers: Record<string, string>;
  const devices = [
    { id: '111111111', uuid: Buffer.from('machine-one') },
    { id: '222222222', uuid: Buffer.from('machine-two') },
  ];

  beforeAll(async () => {
    writeFileSync(join(keyDir, 'signal.pub'), encodePublicKeyFile(signal.publicKey));
    parts = await openKitParts('client-audit-ops');
    for (const device of devices) {
      await parts.prisma.device.create({ data: { rustdeskId: device.id, uuid: device.uuid } });
    }
    app = await startKitApp(parts, { SIGNAL_PUBLIC_KEY_FILE: join(keyDir, 'signal.pub') });
    headers = consoleHeaders(await signInBrowser(app, await createUser(app, 'viewer')));

    const reference = encodeConnAuditRef(
      {
        sessionId: randomUUID(),
        userId: aliceId,
        username: 'alice',
        targetId: devices[0]!.id,
        issuedAt: Date.now(),
      },
      signal.secretKey,
    );
    const records: [string, string][] = [
      [
        'conn',
        body(
          devices[0]!,
          `"conn_id":1,"session_id":18446744073709551615,"ip":"192.0.2.1","action":"new","conn_audit_ref":"${reference}"`,
        ),
      ],
      [
        'conn',
        body(
          devices[0]!,
          `"conn_id":1,"session_id":18446744073709551615,"peer":["987654321","=cmd|' /C calc'!A0"],"type":1,"primary_auth":2`,
        ),
      ],
      [
        'conn',
        body(devices[0]!, `"conn_id":2,"session_id":9007199254740993,"ip":"192.0.2.2","action":"new"`),
      ],
      ['conn', body(devices[1]!, `"conn_id":1,"session_id":3,"ip":"192.0.2.3","action":"new"`)],
      [
        'file',
        body(
          devices[0]!,
          `"peer_id":"987654321","conn_id":1,"type":0,"path":"/home/bob","is_file":false,"info":"{\\"num\\":1,\\"files\\":[[\\"a.txt\\",4]]}"`,
        ),
      ],
      ['alarm', body(devices[1]!, `"typ":2,"info":"{\\"ip\\":\\"192.0.2.3\\"}","conn_id":1`)],
    ];
    for (const [kind, payload] of records) {
      const response = await app.inject({
        method: 'POST',
        url: `/api/audit/${kind}`,
        headers: JSON_HEADERS,
        payload,
      });
      if (response.statusCode !== 200) throw new Error(`${kind}: ${response.statusCode} ${response.body}`);
    }
  });

  afterAll(async () => {
    await app?.close();
    parts.redis.disconnect();
    await parts?.prisma.$disconnect();
    await parts?.database.drop();
    rmSync(keyDir, { recursive: true, force: true });
  });

  function body(device: { id: string; uuid: Buffer }, fields: string): string {
    return `{"id":"${device.id}","uuid":"${device.uuid.toString('base64')}","nonce":"${randomUUID()}",${fields}}`;
  }

  function get(url: string) {
    return app.inject({ method: 'GET', url, headers });
  }

  it('lists connections newest first with exact session ids, filtered by device, user and type', async () => {
    const all = await get('/api/v1/client-audit/connections');
    expect(all.statusCode).toBe(200);
    expect(all.json<Page>().items.map((item) => item.sessionId)).toEqual([
      '3',
      '9007199254740993',
      '18446744073709551615',
    ]);

    const byDevice = await get(`/api/v1/client-audit/connections?device=${devices[0]!.id}`);
    expect(byDevice.json().items).toHaveLength(2);
    const byUser = (await get(`/api/v1/client-audit/connections?user=${aliceId}`)).json();
    expect(byUser.items).toEqual([
      expect.objectContaining({
        sessionId: '18446744073709551615',
        peerId: '987654321',
        connType: 1,
        primaryAuth: 2,
        user: { id: aliceId, username: 'alice' },
      }),
    ]);
    expect((await get('/api/v1/client-audit/connections?type=1')).json().items).toHaveLength(1);
    const future = new Date(Date.now() + 60_000).toISOString();
    expect((await get(`/api/v1/client-audit/connections?from=${future}`)).json().items).toHaveLength(0);
  });

  it('pages with nextCursor', async () => {
    const first = (await get('/api/v1/client-audit/connections?limit=2')).json<Page>();
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = (
      await get(`/api/v1/client-audit/connections?limit=2&cursor=${first.nextCursor ?? ''}`)
    ).json<Page>();
    expect(second.items.map((item) => item.sessionId)).toEqual(['18446744073709551615']);
    expect(second.nextCursor).toBeNull();
  });

  it('lists file and alarm records', async () => {
    const files = (await get('/api/v1/client-audit/files')).json();
    expect(files.items).toEqual([
      expect.objectContaining({
        deviceId: devices[0]!.id,
        path: '/home/bob',
        info: { num: 1, files: [['a.txt', 4]] },
        user: { id: aliceId, username: 'alice' },
      }),
    ]);
    const alarms = (await get(`/api/v1/client-audit/alarms?device=${devices[1]!.id}&type=2`)).json();
    expect(alarms.items).toEqual([expect.objectContaining({ alarmType: 2, auditSeq: expect.any(String) })]);
    expect((await get('/api/v1/client-audit/alarms?type=9')).json().items).toEqual([]);
  });

  it('exports CSV, with formula-looking cells defused', async () => {
    const csv = await get(`/api/v1/client-audit/connections.csv?device=${devices[0]!.id}`);
    expect(csv.statusCode).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    const lines = csv.body.trim().split('\r\n');
    expect(lines[0]).toMatch(/^guid,created_at,device_id,conn_id,session_id,/);
    expect(lines).toHaveLength(3);
    expect(csv.body).toContain(',18446744073709551615,');
    expect(csv.body).toContain(",'=cmd|' /C calc'!A0,");
    const alarms = await get('/api/v1/client-audit/alarms.csv');
    expect(alarms.body.trim().split('\r\n')).toHaveLength(2);
  });

  it('refuses bad filters with 400 and callers without a session with 401', async () => {
    expect((await get('/api/v1/client-audit/connections?user=bob')).statusCode).toBe(400);
    expect((await get('/api/v1/client-audit/files?cursor=abc')).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/v1/client-audit/connections' })).statusCode).toBe(
      401,
    );
  });
});
