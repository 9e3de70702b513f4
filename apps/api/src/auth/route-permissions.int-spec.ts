import { randomUUID } from 'node:crypto';

import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, VERSION_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner, ModulesContainer, Reflector } from '@nestjs/core';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeyRepository, USER_ROLES, UserRepository, type UserRole } from '@switchboard/data-access';
import { createTestDatabase, type TestDatabase } from '@switchboard/testing';
import { type InjectOptions } from 'fastify';

import { startTestApp } from '../../test/api-test-harness';
import { issueApiKey } from '../api-keys/api-key-secret';
import { DatabaseConnection } from '../database/database.connection';
import { repositoriesOn } from '../database/repositories';
import { AccessTokens } from './access-tokens';
import { AUTHENTICATORS, type Authenticator } from './authenticator';
import { BrowserSessions } from './browser-sessions';
import { type Channel, PERMISSIONS, type Permission, ROLE_GRANTS } from './permissions';
import { ROUTE_ACCESS, type RouteAccess } from './route-access';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from './session-cookies';

/*
 * The route × role walk (docs/architecture.md "Security model": one permission table in code,
 * enforced by one guard, and a test walks the whole table). It finds every route the Nest app serves, so routes added later are
 * covered without touching this file, and checks each against a matrix written out here from the
 * issue's own words, independently of permissions.ts.
 */

// ─── the expected matrix, from the issue ─────────────────────────────────────
//   admin     "full on panel, API, devices, users, settings"
//   operator  "panel + API, devices view/connect/ban, no users, no settings"
//   viewer    "read-only"
//   pro       "API only, full device API, no panel"
// Readings that the words leave open, made explicit:
//   - the device API is view, connect, ban, manage and registration tokens (devices are enrolled
//     with them); "full device API" is all five, "devices view/connect/ban" the first three;
//   - the audit log is read-only data: operators and viewers may read it (audit.view); walking and
//     exporting the chain (audit.verify) is administration, admin only;
//   - everyone else's API keys (api_key.manage_all) is users administration: admin only;
//   - purging a device (device.purge) forgets an id for good, so it is admin only, not part of the
//     "full device API" (issue 10 item 14);
//   - "read-only" is read access to what an operator may see, never more than the operator: a
//     viewer sees devices and the audit log, not users or settings.
const EXPECTED_GRANTS: Record<UserRole, { channels: Channel[]; permissions: Permission[] }> = {
  admin: {
    channels: ['panel', 'api'],
    permissions: [
      'device.view',
      'device.connect',
      'device.ban',
      'device.manage',
      'device.disconnect',
      'strategy.manage',
      'device.purge',
      'registration_token.manage',
      'relay_ip_list.manage',
      'user.view',
      'user.manage',
      'setting.view',
      'setting.manage',
      'audit.view',
      'audit.verify',
      'api_key.manage_all',
      'address_book.view',
      'address_book.manage',
    ],
  },
  operator: {
    channels: ['panel', 'api'],
    permissions: ['device.view', 'device.connect', 'device.ban', 'device.disconnect', 'audit.view'],
  },
  viewer: { channels: ['panel', 'api'], permissions: ['device.view', 'audit.view'] },
  pro: {
    channels: ['api'],
    permissions: [
      'device.view',
      'device.connect',
      'device.ban',
      'device.manage',
      'registration_token.manage',
      'device.disconnect',
      'strategy.manage',
    ],
  },
};

// ─── the credential kinds a request can prove ───────────────────────────────
interface CredentialKind {
  /** The authenticator class that accepts it (every one in AUTHENTICATORS must be walked). */
  readonly authenticator: string;
  readonly channel: Channel;
  /** Headers proving `role`, from a user and key made fresh for one route. */
  headers(fresh: FreshPrincipal): Record<string, string>;
  /** Headers carrying a credential of this kind that is not valid. */
  readonly invalid: Record<string, string>;
}

interface FreshPrincipal {
  readonly accessToken: string;
  readonly apiKey: string;
  readonly session: { readonly token: string; readonly csrfToken: string };
}

const CREDENTIAL_KINDS: readonly CredentialKind[] = [
  {
    authenticator: 'BearerTokenAuthenticator',
    channel: 'api',
    headers: (fresh) => ({ authorization: `Bearer ${fresh.accessToken}` }),
    invalid: { authorization: 'Bearer not.a.token' },
  },
  {
    authenticator: 'ApiKeyAuthenticator',
    channel: 'api',
    headers: (fresh) => ({ 'x-api-key': fresh.apiKey }),
    invalid: { 'x-api-key': `sbk_000000000000_${'A'.repeat(43)}` },
  },
  {
    authenticator: 'SessionAuthenticator',
    channel: 'panel',
    // inject() talks to host localhost:80, whose origin is http://localhost.
    headers: (fresh) => ({
      cookie: `${SESSION_COOKIE}=${fresh.session.token}; ${CSRF_COOKIE}=${fresh.session.csrfToken}`,
      [CSRF_HEADER]: fresh.session.csrfToken,
      origin: 'http://localhost',
    }),
    invalid: { cookie: `${SESSION_COOKIE}=not-a-session` },
  },
];

// ─── the walk ────────────────────────────────────────────────────────────────
// Upper-case, as both Nest's RequestMethod names and light-my-request's inject() spell them.
type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

interface DiscoveredRoute {
  readonly method: RouteMethod;
  readonly path: string;
  readonly handler: string;
  readonly access: RouteAccess | undefined;
}

const DUMMY_PARAM = '00000000-0000-4000-8000-000000000000';
const BODY_METHODS = new Set<RouteMethod>(['POST', 'PUT', 'PATCH']);

function joinPath(...parts: string[]): string {
  const joined = parts
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/');
  return `/${joined}`;
}

/** Nest stores a route path as a string or an array of them (undefined: the controller's root). */
function asArray(value: unknown): string[] {
  if (value === undefined) return [''];
  const paths: unknown[] = Array.isArray(value) ? value : [value];
  return paths.map((path) => {
    if (typeof path !== 'string') throw new Error(`unexpected route path metadata: ${typeof path}`);
    return path;
  });
}

/** Every route of every controller, from Nest's own route metadata. */
function discoverRoutes(app: NestFastifyApplication): DiscoveredRoute[] {
  const discovery = new DiscoveryService(app.get(ModulesContainer));
  const scanner = new MetadataScanner();
  const reflector = app.get(Reflector);
  const routes: DiscoveredRoute[] = [];
  for (const wrapper of discovery.getControllers()) {
    const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
    const instance = wrapper.instance as object | undefined;
    if (controller === null || instance === undefined) continue;
    if (Reflect.getMetadata(VERSION_METADATA, controller) !== undefined) {
      throw new Error(`${controller.name} is versioned: teach this walk how versions map to paths`);
    }
    const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name] as object;
      const methodPaths: unknown = Reflect.getMetadata(PATH_METADATA, handler);
      if (methodPaths === undefined) continue; // a helper, not a route
      const requestMethod = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
      const method = (
        requestMethod === RequestMethod.ALL ? 'GET' : RequestMethod[requestMethod]
      ) as RouteMethod;
      const access = reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, [
        handler as () => void,
        controller,
      ]);
      for (const base of asArray(Reflect.getMetadata(PATH_METADATA, controller))) {
        for (const path of asArray(methodPaths)) {
          routes.push({ method, path: joinPath(base, path), handler: `${controller.name}.${name}`, access });
        }
      }
    }
  }
  return routes;
}

function concretePath(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+\??/g, DUMMY_PARAM).replace(/\*/g, 'x');
}

type Outcome = 'unauthorized' | 'forbidden' | 'allowed';

function expectedOutcome(access: RouteAccess, role: UserRole, kind: CredentialKind): Outcome {
  // RustDesk client routes take only a client login's token: no operator credential opens them.
  if (access.kind === 'client') return 'unauthorized';
  const grant = EXPECTED_GRANTS[role];
  if (!grant.channels.includes(kind.channel)) return 'forbidden';
  // Credential changes (password, 2FA) are the person's own: an API key acting for them is refused.
  if (access.kind === 'self' && access.person === true && kind.authenticator === 'ApiKeyAuthenticator') {
    return 'forbidden';
  }
  if (access.kind === 'permission' && !grant.permissions.includes(access.permission)) return 'forbidden';
  return 'allowed';
}

function outcomeOf(status: number): Outcome {
  return status === 401 ? 'unauthorized' : status === 403 ? 'forbidden' : 'allowed';
}

const sorted = <T>(values: readonly T[]): T[] => [...values].sort();

describe('route × role walk', () => {
  let database: TestDatabase;
  let app: NestFastifyApplication;
  let routes: DiscoveredRoute[];
  const mismatches: string[] = [];
  const unauthenticated: string[] = [];
  const invalidCredentials: string[] = [];
  const serverErrors: string[] = [];
  let requests = 0;

  let freshUsers = 0;
  /** A user of `role` and an API key of theirs, made for one route, so no other route's side effect reaches it. */
  async function freshPrincipal(role: UserRole): Promise<FreshPrincipal> {
    freshUsers += 1;
    const user = await app.get(UserRepository).create({
      username: `walk-${role}-${freshUsers}`,
      // Never used to sign in: no need to spend argon2 on it.
      passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$unused$unused',
      role,
    });
    const issued = issueApiKey();
    await app.get(ApiKeyRepository).create({
      name: 'walk',
      prefix: issued.prefix,
      keyHash: issued.hash,
      role,
      ownerId: user.id,
      expiresAt: null,
    });
    const session = await app
      .get(DatabaseConnection)
      .client.$transaction((tx) =>
        app.get(BrowserSessions).open(repositoriesOn(tx), user, false, { ip: null, userAgent: null }),
      );
    return {
      accessToken: await app.get(AccessTokens).issueAccessToken(user, randomUUID()),
      apiKey: issued.key,
      session: { token: session.token, csrfToken: session.csrfToken },
    };
  }

  function send(route: DiscoveredRoute, headers: Record<string, string>) {
    requests += 1;
    const options: InjectOptions = {
      method: route.method,
      url: concretePath(route.path),
      headers: { ...headers },
    };
    if (BODY_METHODS.has(route.method)) {
      options.payload = '{}';
      options.headers = { ...options.headers, 'content-type': 'application/json' };
    }
    return app.inject(options);
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp({
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: `test-route-walk-${process.pid}`,
    });
    routes = discoverRoutes(app);

    for (const route of routes) {
      if (route.access === undefined || route.access.kind === 'public') continue;
      const name = `${route.method} ${route.path}`;

      const anonymous = await send(route, {});
      if (anonymous.statusCode !== 401) unauthenticated.push(`${name}: ${anonymous.statusCode}`);
      for (const kind of CREDENTIAL_KINDS) {
        const invalid = await send(route, kind.invalid);
        if (invalid.statusCode !== 401)
          invalidCredentials.push(`${name} (${kind.authenticator}): ${invalid.statusCode}`);
      }

      for (const role of USER_ROLES) {
        const fresh = await freshPrincipal(role);
        for (const kind of CREDENTIAL_KINDS) {
          const response = await send(route, kind.headers(fresh));
          const expected = expectedOutcome(route.access, role, kind);
          const actual = outcomeOf(response.statusCode);
          const label = `${name} as ${role} via ${kind.authenticator}`;
          if (actual !== expected)
            mismatches.push(`${label}: expected ${expected}, got ${response.statusCode}`);
          if (response.statusCode >= 500)
            serverErrors.push(`${label}: ${response.statusCode} ${response.body}`);
        }
      }
    }
  }, 300_000);

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('finds the routes (a sanity check of the discovery itself)', () => {
    const names = routes.map((route) => `${route.method} ${route.path}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'GET /healthz',
        'GET /api/v1/users',
        'PATCH /api/v1/users/:id',
        'POST /api/v1/users/:id/reset-password',
        'POST /api/v1/api-keys',
        'DELETE /api/v1/api-keys/:id',
      ]),
    );
    expect(requests).toBeGreaterThan(routes.length);
  });

  it('computes paths Fastify really serves', () => {
    const fastify = app.getHttpAdapter().getInstance();
    const unknown = routes.filter((route) => !fastify.hasRoute({ method: route.method, url: route.path }));
    expect(unknown.map((route) => `${route.method} ${route.path} (${route.handler})`)).toEqual([]);
  });

  it('finds an access declaration (@Public, @SelfService or @RequirePermission) on every route', () => {
    const undeclared = routes.filter((route) => route.access === undefined);
    expect(undeclared.map((route) => `${route.method} ${route.path} (${route.handler})`)).toEqual([]);
  });

  it('declares only permissions that exist in the table', () => {
    const unknown = routes.filter(
      (route) => route.access?.kind === 'permission' && !PERMISSIONS.includes(route.access.permission),
    );
    expect(unknown.map((route) => route.handler)).toEqual([]);
  });

  it('walks every registered authenticator', () => {
    const registered = app
      .get<readonly Authenticator[]>(AUTHENTICATORS)
      .map((authenticator) => authenticator.constructor.name);
    expect(sorted(registered)).toEqual(sorted(CREDENTIAL_KINDS.map((kind) => kind.authenticator)));
  });

  it('has permissions.ts grant exactly the matrix the issue describes', () => {
    expect(sorted(Object.keys(ROLE_GRANTS))).toEqual(sorted(USER_ROLES));
    for (const role of USER_ROLES) {
      expect({ role, channels: sorted(ROLE_GRANTS[role].channels) }).toEqual({
        role,
        channels: sorted(EXPECTED_GRANTS[role].channels),
      });
      expect({ role, permissions: sorted(ROLE_GRANTS[role].permissions) }).toEqual({
        role,
        permissions: sorted(EXPECTED_GRANTS[role].permissions),
      });
    }
    // The matrix itself names only real permissions, and admin has them all.
    expect(sorted(EXPECTED_GRANTS.admin.permissions)).toEqual(sorted(PERMISSIONS));
  });

  it('answers 401 on every non-public route without a credential', () => {
    expect(unauthenticated).toEqual([]);
  });

  it('answers 401 on every non-public route with an invalid credential of each kind', () => {
    expect(invalidCredentials).toEqual([]);
  });

  it('answers 403 exactly when the role lacks the route’s permission or channel, and never 401 or 403 otherwise', () => {
    expect(mismatches).toEqual([]);
  });

  it('never fails with a 5xx on the dummy requests of the walk', () => {
    expect(serverErrors).toEqual([]);
  });
});
