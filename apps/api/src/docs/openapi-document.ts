import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { z } from 'zod';

import { type RouteAccess } from '../auth/route-access';
import { SESSION_COOKIE } from '../auth/session-cookies';
import { HEARTBEAT_OPERATION, HEARTBEAT_PATH } from '../device-sync/heartbeat-route';
import { apiErrorSchema, responseRef, responseSchemas } from '../http/response-schemas';
import { repairNullableDtoProperties, requestDtosOf } from './request-dto-schemas';
import { handlerAccessOf } from './route-access-catalog';

/** Security scheme names in the document (components.securitySchemes). */
export const SECURITY_SCHEMES = { bearer: 'bearer', apiKey: 'apiKey', session: 'session' } as const;
/** The operator API's version, as in its path prefix /api/v1. */
const API_VERSION = 'v1';
/** Vendor extension on every operation: who may call it, as the AccessGuard decides. */
export const ACCESS_EXTENSION = 'x-switchboard-access';

const ANY_CREDENTIAL = Object.values(SECURITY_SCHEMES).map((scheme) => ({ [scheme]: [] }));

const DESCRIPTION = `Operator API of Switchboard (\`/api/v1\`), the RustDesk client API (\`/api\`) and the probes.

Errors always have the shape \`{ statusCode, error, message, requestId }\`; \`message\` is a list of
\`field: problem\` for a 400 from validation. 401 means no valid credential, 403 a valid one that may not
do this.`;

/** The operator API's path prefix: its operations get the shared error answers. */
const OPERATOR_API_PREFIX = `/api/${API_VERSION}/`;

/**
 * The errors any operator API operation may answer, each `{ statusCode, error, message, requestId }`
 * (components.responses). A route that documents one of these codes itself keeps its own.
 */
const ERROR_RESPONSES: Record<string, { name: string; description: string }> = {
  '400': { name: 'BadRequest', description: 'Invalid input: `message` lists every bad field.' },
  '401': { name: 'Unauthorized', description: 'No valid credential (or, at a login, wrong credentials).' },
  '403': { name: 'Forbidden', description: 'A valid credential that may not do this.' },
  '404': { name: 'NotFound', description: 'No such thing (or not one the caller may see).' },
  '409': { name: 'Conflict', description: 'Clashes with the current state (a name in use, a last admin).' },
  '429': { name: 'TooManyRequests', description: 'Throttled: try again after `Retry-After` seconds.' },
  '503': {
    name: 'ServiceUnavailable',
    description: 'A dependency (Postgres, Redis) is down: try again after `Retry-After` seconds.',
  },
};

const RETRY_AFTER_HEADER = {
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' } },
} as const;

function errorResponseComponents(): NonNullable<OpenAPIObject['components']>['responses'] {
  return Object.fromEntries(
    Object.entries(ERROR_RESPONSES).map(([status, { name, description }]) => [
      name,
      {
        description,
        content: { 'application/json': { schema: responseRef(apiErrorSchema) } },
        ...(status === '429' || status === '503' ? { headers: RETRY_AFTER_HEADER } : {}),
      },
    ]),
  );
}

/** The registered response schemas (http/response-schemas.ts) as OpenAPI 3.0 components. */
function responseSchemaComponents(): Record<string, object> {
  const { schemas } = z.toJSONSchema(responseSchemas, {
    target: 'openapi-3.0',
    uri: (id) => `#/components/schemas/${id}`,
  });
  // `$id` is JSON Schema, not OpenAPI 3.0; the component's name says the same.
  return Object.fromEntries(Object.entries(schemas).map(([id, { $id: _id, ...schema }]) => [id, schema]));
}

function accessLabel(access: RouteAccess | undefined): string {
  if (access === undefined) return 'undeclared';
  if (access.kind === 'permission') return `permission:${access.permission}`;
  if (access.kind === 'client') return 'client-login';
  return access.kind === 'self' ? 'self-service' : 'public';
}

// Vendor extensions (x-...) are allowed on any operation; the type does not list them.
type Operation = NonNullable<OpenAPIObject['paths'][string]['get']> & Partial<Record<`x-${string}`, unknown>>;

function operationsOf(document: OpenAPIObject): { path: string; operation: Operation }[] {
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
  return Object.entries(document.paths).flatMap(([path, item]) =>
    methods.flatMap((method) =>
      item[method] === undefined ? [] : [{ path, operation: item[method] as Operation }],
    ),
  );
}

/**
 * The OpenAPI 3 document of every controller route, DTOs from their zod schemas (nestjs-zod), each
 * operation's security taken from its @Public / @SelfService / @RequirePermission declaration.
 */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Switchboard API')
    .setDescription(DESCRIPTION)
    .setVersion(API_VERSION)
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: 'Access token from POST /api/v1/auth/login (short-lived; renew with the refresh token).',
      },
      SECURITY_SCHEMES.bearer,
    )
    .addApiKey(
      {
        type: 'apiKey',
        in: 'header',
        name: 'X-API-Key',
        description: 'An API key (shown once when created).',
      },
      SECURITY_SCHEMES.apiKey,
    )
    .addCookieAuth(
      SESSION_COOKIE,
      {
        type: 'apiKey',
        in: 'cookie',
        name: SESSION_COOKIE,
        description:
          'The console session; state changes also need the CSRF token header and a same-origin Origin.',
      },
      SECURITY_SCHEMES.session,
    )
    .build();
  const document = cleanupOpenApiDoc(SwaggerModule.createDocument(app, config));
  const components = (document.components ??= {});
  const requestSchemas = (components.schemas ??= {});
  repairNullableDtoProperties(requestSchemas, requestDtosOf(app));
  for (const [id, schema] of Object.entries(responseSchemaComponents())) {
    if (id in requestSchemas) throw new Error(`A request DTO and a response schema are both named ${id}`);
    requestSchemas[id] = schema;
  }
  components.responses = { ...components.responses, ...errorResponseComponents() };

  const handlers = handlerAccessOf(app);
  for (const { path, operation } of operationsOf(document)) {
    const access = handlers.get(operation.operationId ?? '')?.access;
    operation[ACCESS_EXTENSION] = accessLabel(access);
    // Public routes say so explicitly (an empty list); a RustDesk client's routes take its login's
    // bearer token; everything else accepts any of the three.
    operation.security =
      access?.kind === 'public'
        ? []
        : access?.kind === 'client'
          ? [{ [SECURITY_SCHEMES.bearer]: [] }]
          : ANY_CREDENTIAL;
    if (path.startsWith(OPERATOR_API_PREFIX)) {
      for (const [status, { name }] of Object.entries(ERROR_RESPONSES)) {
        operation.responses[status] ??= { $ref: `#/components/responses/${name}` };
      }
    }
    if (access?.kind === 'permission') {
      const note = `Requires the \`${access.permission}\` permission.`;
      operation.description =
        operation.description === undefined ? note : `${operation.description}\n\n${note}`;
    }
  }
  // Routes served outside Nest's pipeline for speed (device-sync/heartbeat-route.ts).
  document.paths[HEARTBEAT_PATH] = {
    post: {
      ...HEARTBEAT_OPERATION,
      security: [],
      [ACCESS_EXTENSION]: accessLabel({ kind: 'public' }),
    } as Operation,
  };
  return document;
}
