import { randomUUID } from 'node:crypto';

import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { createPrismaClient, type PrismaClient } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { type Response as InjectResponse } from 'light-my-request';
import { z } from 'zod';

import { signInAs, type SignedInUser, startTestApp } from '../../test/api-test-harness';
import { ORIGIN } from '../../test/auth-helpers';
import { responseSchemas } from '../http/response-schemas';
import { requestDtosOf } from './request-dto-schemas';

// The operator API's documented answers: every operation that answers with a body says what it is,
// and real answers match what the document says (the same schemas the handlers' types come from).

interface Reference {
  $ref: string;
}
interface MediaType {
  schema?: Partial<Reference> & { type?: string };
}
/** The parts of an OpenAPI 3.0 schema object the nullable check walks. */
interface SchemaObject {
  type?: unknown;
  nullable?: boolean;
  $ref?: string;
  allOf?: SchemaObject[];
  properties?: Record<string, SchemaObject>;
  items?: SchemaObject;
}
interface ResponseObject {
  description?: string;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId?: string;
  responses: Record<string, ResponseObject | Reference>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: {
    schemas: Record<string, SchemaObject & { required?: string[] }>;
    responses: Record<string, ResponseObject>;
  };
}

/**
 * Operator API controllers whose answers are not documented yet (their own work is under way):
 * remove one as soon as it declares its answers (the test below insists).
 */
const NOT_YET_DOCUMENTED: string[] = [];

const OPERATOR_API = '/api/v1/';
const SHARED_ERRORS = ['400', '401', '403', '404', '409', '429', '503'];
const SCHEMAS = '#/components/schemas/';
const RESPONSES = '#/components/responses/';

function operationsOf(document: Document): { where: string; path: string; operation: Operation }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({
      where: `${method.toUpperCase()} ${path}`,
      path,
      operation,
    })),
  );
}

/**
 * Where `zod` is nullable (and not an array), the schema the document gives it must say
 * `nullable: true` and must not be an array: @nestjs/swagger once turned zod's `type: ["string",
 * "null"]` into an array of strings. Follows objects, arrays and optionals; a `$ref` is checked as its
 * own component.
 */
function nullableMistakes(zod: z.ZodType, json: SchemaObject | undefined, where: string): string[] {
  if (json === undefined) return [`${where}: missing`];
  if (zod instanceof z.ZodOptional || zod instanceof z.ZodDefault) {
    return nullableMistakes(zod.unwrap() as z.ZodType, json, where);
  }
  if (zod instanceof z.ZodNullable) {
    const inner = zod.unwrap() as z.ZodType;
    const wrong = json.nullable !== true || (json.type === 'array' && !(inner instanceof z.ZodArray));
    return [...(wrong ? [`${where}: ${JSON.stringify(json)}`] : []), ...nullableMistakes(inner, json, where)];
  }
  if (json.$ref !== undefined || json.allOf?.[0]?.$ref !== undefined) return [];
  if (zod instanceof z.ZodObject) {
    return Object.entries(zod.shape as Record<string, z.ZodType>).flatMap(([key, value]) =>
      nullableMistakes(value, json.properties?.[key], `${where}.${key}`),
    );
  }
  if (zod instanceof z.ZodArray) return nullableMistakes(zod.element as z.ZodType, json.items, `${where}[]`);
  return [];
}

/** Every `type` in the document that is a list (JSON Schema 2020-12 syntax, not OpenAPI 3.0's). */
function typeLists(value: unknown, where: string): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => typeLists(item, `${where}/${index}`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]) =>
    key === 'type' && Array.isArray(item) ? [`${where}/type`] : typeLists(item, `${where}/${key}`),
  );
}

function resolved(document: Document, response: ResponseObject | Reference): ResponseObject {
  if (!('$ref' in response)) return response;
  const target = document.components.responses[response.$ref.replace(RESPONSES, '')];
  if (target === undefined) throw new Error(`dangling ${response.$ref}`);
  return target;
}

describe('documented answers of the operator API', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let document: Document;
  let admin: SignedInUser;
  let prisma: PrismaClient;

  beforeAll(async () => {
    database = await createTestDatabase();
    prisma = createPrismaClient(database.url);
    app = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: 'test-response-schemas',
      API_DOCS_ENABLED: 'true',
    });
    document = (await app.inject({ method: 'GET', url: '/api/docs/json' })).json();
    admin = await signInAs(app, 'admin');
  });

  afterAll(async () => {
    await app?.close();
    await prisma?.$disconnect();
    await database?.drop();
  });

  /** The zod schema the document names for an answer; it is the one the document's component came from. */
  function documentedSchema(method: string, path: string, status: number): z.ZodType {
    const operation = document.paths[path]?.[method.toLowerCase()];
    if (operation === undefined) throw new Error(`${method} ${path} is not documented`);
    const response = operation.responses[String(status)];
    if (response === undefined) throw new Error(`${method} ${path} does not document ${status}`);
    const ref = resolved(document, response).content?.['application/json']?.schema?.$ref ?? '';
    const schema = responseSchemas._idmap.get(ref.replace(SCHEMAS, ''));
    if (!ref.startsWith(SCHEMAS) || schema === undefined) {
      throw new Error(`${method} ${path} ${status}: no response schema (${ref})`);
    }
    return schema;
  }

  /**
   * The answer has the status and the shape the document gives the operation. Parsing strips keys a
   * schema does not know, so equality also proves the answer carries nothing undocumented.
   */
  function expectDocumented(
    response: InjectResponse,
    method: string,
    path: string,
    status: number,
  ): Record<string, unknown> {
    expect([method, path, response.statusCode, response.body]).toEqual([
      method,
      path,
      status,
      expect.anything(),
    ]);
    const body: Record<string, unknown> = response.json();
    const parsed = documentedSchema(method, path, status).safeParse(body);
    expect([method, path, parsed.error?.issues]).toEqual([method, path, undefined]);
    expect(parsed.data).toEqual(body);
    return body;
  }

  function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object) {
    return app.inject({
      method,
      url,
      headers: { authorization: admin.authorization },
      ...(payload === undefined ? {} : { payload }),
    });
  }

  it('gives every operator API answer with a body a schema (CSV exports as text/csv)', () => {
    const missing: string[] = [];
    const stillExcepted = new Set<string>();
    for (const { where, path, operation } of operationsOf(document)) {
      if (!path.startsWith(OPERATOR_API) && !['/healthz', '/readyz'].includes(path)) continue;
      const successes = Object.entries(operation.responses).filter(([status]) => /^2\d\d$/.test(status));
      const excepted = NOT_YET_DOCUMENTED.find((prefix) => operation.operationId?.startsWith(prefix));
      const undocumented =
        successes.length === 0 ||
        successes.some(([status, response]) => {
          if (status === '204') return false;
          // No body (a 202, say) is documented when the route says what the status means.
          const { content = {}, description = '' } = resolved(document, response);
          if (Object.keys(content).length === 0 && description !== '') return false;
          const schemas = Object.values(content).map((media) => media.schema);
          return (
            schemas.length === 0 || schemas.some((schema) => schema?.$ref === undefined && !schema?.type)
          );
        });
      if (undocumented && excepted === undefined) missing.push(where);
      if (undocumented && excepted !== undefined) stillExcepted.add(excepted);
    }
    expect(missing).toEqual([]);
    // An exception that is no longer needed is dropped from the list, so the list stays true.
    expect([...stillExcepted].sort()).toEqual([...NOT_YET_DOCUMENTED].sort());
  });

  it('renders nullable as nullable, never as an array (answers and request bodies alike)', () => {
    // The registry path: zod's OpenAPI 3.0 rendering says `nullable: true`.
    expect(document.components.schemas['ServerInfo']?.properties?.['publicKey']).toEqual({
      type: 'string',
      nullable: true,
    });
    expect(document.components.schemas['DeviceDetails']?.properties?.['hostname']).toEqual({
      type: 'string',
      nullable: true,
    });
    // The request DTO path (nestjs-zod) had the array; openapi-document.ts repairs it.
    expect(document.components.schemas['PeerBodyDto']?.properties?.['same_server']).toEqual({
      type: 'boolean',
      nullable: true,
    });

    const sources = [...responseSchemas._idmap.entries(), ...requestDtosOf(app).entries()];
    const mistakes = sources.flatMap(([name, schema]) =>
      document.components.schemas[name] === undefined
        ? [] // a query or params DTO: its fields are parameters, checked by typeLists below
        : nullableMistakes(schema, document.components.schemas[name], name),
    );
    expect(sources.length).toBeGreaterThan(100);
    expect(mistakes).toEqual([]);
    expect(typeLists(document, '')).toEqual([]);
  });

  it('refers every response schema to a component that exists', () => {
    const refs = JSON.stringify(document.paths).match(/#\/components\/schemas\/[\w.-]+/g) ?? [];
    const components = JSON.stringify(document.components).match(/#\/components\/schemas\/[\w.-]+/g) ?? [];
    const dangling = [...new Set([...refs, ...components])].filter(
      (ref) => document.components.schemas[ref.replace(SCHEMAS, '')] === undefined,
    );
    expect(refs.length).toBeGreaterThan(50);
    expect(dangling).toEqual([]);
  });

  it('documents the shared error answers, in the house error shape, on every operator API operation', () => {
    expect(document.components.schemas['ApiError']?.required).toEqual([
      'statusCode',
      'error',
      'message',
      'requestId',
    ]);
    for (const { where, path, operation } of operationsOf(document)) {
      if (!path.startsWith(OPERATOR_API)) continue;
      for (const status of SHARED_ERRORS) {
        const schema = resolved(document, operation.responses[status] ?? {}).content?.['application/json']
          ?.schema?.$ref;
        expect([where, status, schema]).toEqual([where, status, `${SCHEMAS}ApiError`]);
      }
    }
    expect(document.components.responses['TooManyRequests']).toMatchObject({
      headers: { 'Retry-After': expect.anything() },
    });
  });

  it('answers errors as documented (400, 401, 404)', async () => {
    expectDocumented(await call('GET', `/api/v1/users/${randomUUID()}`), 'GET', '/api/v1/users/{id}', 404);
    expectDocumented(await call('GET', '/api/v1/users?page=0'), 'GET', '/api/v1/users', 400);
    const anonymous = await app.inject({ method: 'GET', url: '/api/v1/auth/me' });
    expectDocumented(anonymous, 'GET', '/api/v1/auth/me', 401);
  });

  it('logs in, and answers who am I and my sessions, as documented', async () => {
    const username = admin.user.username;
    const panel = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      headers: { origin: ORIGIN },
      payload: { username, password: admin.password },
    });
    expect(expectDocumented(panel, 'POST', '/api/v1/auth/login', 200)).toMatchObject({ mfaRequired: false });
    const token = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      payload: { username, password: admin.password },
    });
    const pair = expectDocumented(token, 'POST', '/api/v1/auth/token', 200);
    const refreshed = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/refresh',
      payload: { refreshToken: pair['refreshToken'] },
    });
    expectDocumented(refreshed, 'POST', '/api/v1/auth/refresh', 200);
    expectDocumented(await call('GET', '/api/v1/auth/me'), 'GET', '/api/v1/auth/me', 200);
    expectDocumented(await call('GET', '/api/v1/auth/sessions'), 'GET', '/api/v1/auth/sessions', 200);
  });

  it('answers the users administration as documented', async () => {
    const created = await call('POST', '/api/v1/users', {
      username: `schema-${process.pid}`,
      role: 'viewer',
    });
    const { user } = expectDocumented(created, 'POST', '/api/v1/users', 201) as { user: { id: string } };
    expectDocumented(await call('GET', '/api/v1/users'), 'GET', '/api/v1/users', 200);
    expectDocumented(await call('GET', `/api/v1/users/${user.id}`), 'GET', '/api/v1/users/{id}', 200);
    const disabled = await call('POST', `/api/v1/users/${user.id}/disable`);
    expectDocumented(disabled, 'POST', '/api/v1/users/{id}/disable', 200);
  });

  it('answers API keys as documented', async () => {
    const created = await call('POST', '/api/v1/api-keys', { name: 'schema check' });
    expectDocumented(created, 'POST', '/api/v1/api-keys', 201);
    expectDocumented(await call('GET', '/api/v1/api-keys'), 'GET', '/api/v1/api-keys', 200);
  });

  it('answers settings as documented', async () => {
    const put = await call('PUT', '/api/v1/settings/console.schema-check', { value: { any: ['json', 1] } });
    expectDocumented(put, 'PUT', '/api/v1/settings/{key}', 200);
    expectDocumented(await call('GET', '/api/v1/settings'), 'GET', '/api/v1/settings', 200);
    const one = await call('GET', '/api/v1/settings/console.schema-check');
    expectDocumented(one, 'GET', '/api/v1/settings/{key}', 200);
  });

  it('answers groups, strategies, registration tokens and shared address books as documented', async () => {
    const group = await call('POST', '/api/v1/user-groups', { name: 'schema group' });
    const { id: groupId } = expectDocumented(group, 'POST', '/api/v1/user-groups', 201);
    const added = await call('POST', `/api/v1/user-groups/${String(groupId)}/members`, {
      users: [admin.user.username],
    });
    expectDocumented(added, 'POST', '/api/v1/user-groups/{id}/members', 200);
    const members = await call('GET', `/api/v1/user-groups/${String(groupId)}/members`);
    expectDocumented(members, 'GET', '/api/v1/user-groups/{id}/members', 200);
    expectDocumented(await call('GET', '/api/v1/user-groups'), 'GET', '/api/v1/user-groups', 200);

    const strategy = await call('POST', '/api/v1/strategies', { name: 'schema strategy' });
    expectDocumented(strategy, 'POST', '/api/v1/strategies', 201);
    expectDocumented(await call('GET', '/api/v1/strategies'), 'GET', '/api/v1/strategies', 200);

    const token = await call('POST', '/api/v1/registration-tokens', { name: 'schema token', maxUses: 3 });
    expectDocumented(token, 'POST', '/api/v1/registration-tokens', 201);
    const tokens = await call('GET', '/api/v1/registration-tokens');
    expectDocumented(tokens, 'GET', '/api/v1/registration-tokens', 200);

    const book = await call('POST', '/api/v1/address-books', { name: 'schema book' });
    const { id: bookId } = expectDocumented(book, 'POST', '/api/v1/address-books', 201);
    const rule = await call(
      'PUT',
      `/api/v1/address-books/${String(bookId)}/rules/users/${admin.user.username}`,
      {
        rule: 2,
      },
    );
    expectDocumented(rule, 'PUT', '/api/v1/address-books/{id}/rules/users/{username}', 200);
    expectDocumented(await call('GET', '/api/v1/address-books'), 'GET', '/api/v1/address-books', 200);
  });

  it('answers devices, device groups and roles as documented', async () => {
    const { id: groupId } = await prisma.deviceGroup.create({ data: { name: 'schema devices' } });
    await prisma.device.createMany({
      data: [
        // Every optional column set, and (below) none: both must parse to themselves.
        {
          rustdeskId: 'schema01',
          hostname: 'Office-PC',
          os: 'Windows / 11',
          version: '1.4.1',
          lastIp: '10.0.0.1',
          lastSeenAt: new Date(),
          tags: ['prod'],
          note: 'front desk',
          groupId,
          ownerId: admin.user.id,
          pk: Buffer.alloc(32, 1),
          uuid: Buffer.from('device-uuid'),
          banned: true,
          banReason: 'schema check',
          bannedAt: new Date(),
        },
        { rustdeskId: 'schema02', admission: 'pending' },
      ],
    });
    const linked = await call('POST', '/api/v1/devices/schema01/links/schema02');
    expectDocumented(linked, 'POST', '/api/v1/devices/{id}/links/{otherId}', 200);

    const page = await call('GET', '/api/v1/devices?withTotal=true');
    expect(expectDocumented(page, 'GET', '/api/v1/devices', 200)).toMatchObject({ total: 2 });
    for (const id of ['schema01', 'schema02']) {
      expectDocumented(await call('GET', `/api/v1/devices/${id}`), 'GET', '/api/v1/devices/{id}', 200);
    }
    const links = await call('GET', '/api/v1/devices/schema01/links');
    expectDocumented(links, 'GET', '/api/v1/devices/{id}/links', 200);
    const preview = await call('GET', '/api/v1/devices/schema01/revoke-preview');
    expectDocumented(preview, 'GET', '/api/v1/devices/{id}/revoke-preview', 200);
    const bulk = await call('POST', '/api/v1/devices/bulk', {
      action: 'approve',
      ids: ['schema02', 'nosuch01'],
      dryRun: true,
    });
    expectDocumented(bulk, 'POST', '/api/v1/devices/bulk', 200);

    const group = await call('POST', '/api/v1/device-groups', { name: 'schema group 2' });
    expectDocumented(group, 'POST', '/api/v1/device-groups', 201);
    expectDocumented(await call('GET', '/api/v1/device-groups'), 'GET', '/api/v1/device-groups', 200);
    expectDocumented(await call('GET', '/api/v1/roles'), 'GET', '/api/v1/roles', 200);
  });

  it('answers the dashboard, relays and server info as documented', async () => {
    const dashboard = expectDocumented(
      await call('GET', '/api/v1/dashboard'),
      'GET',
      '/api/v1/dashboard',
      200,
    );
    // An admin sees every section.
    expect(Object.keys(dashboard)).toEqual(expect.arrayContaining(['devices', 'relays', 'events', 'audit']));
    expectDocumented(await call('GET', '/api/v1/relays'), 'GET', '/api/v1/relays', 200);
    const info = await call('GET', '/api/v1/server-info');
    expect(expectDocumented(info, 'GET', '/api/v1/server-info', 200)).toMatchObject({
      relayServer: null,
    });
  });

  it('answers the audit log and its verification as documented (after the changes above)', async () => {
    const page = expectDocumented(await call('GET', '/api/v1/audit?limit=500'), 'GET', '/api/v1/audit', 200);
    expect((page['entries'] as unknown[]).length).toBeGreaterThan(5);
    expectDocumented(await call('POST', '/api/v1/audit/verify'), 'POST', '/api/v1/audit/verify', 200);
    for (const kind of ['connections', 'files', 'alarms']) {
      const path = `/api/v1/client-audit/${kind}`;
      expectDocumented(await call('GET', path), 'GET', path, 200);
    }
  });

  it('answers the probes as documented', async () => {
    expectDocumented(await app.inject({ method: 'GET', url: '/healthz' }), 'GET', '/healthz', 200);
    expectDocumented(await app.inject({ method: 'GET', url: '/readyz' }), 'GET', '/readyz', 200);
  });
});
