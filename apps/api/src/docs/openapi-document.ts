import { type INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';

import { type RouteAccess } from '../auth/route-access';
import { SESSION_COOKIE } from '../auth/session-cookies';
import { HEARTBEAT_OPERATION, HEARTBEAT_PATH } from '../device-sync/heartbeat-route';
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

function accessLabel(access: RouteAccess | undefined): string {
  if (access === undefined) return 'undeclared';
  if (access.kind === 'permission') return `permission:${access.permission}`;
  if (access.kind === 'client') return 'client-login';
  return access.kind === 'self' ? 'self-service' : 'public';
}

// Vendor extensions (x-...) are allowed on any operation; the type does not list them.
type Operation = NonNullable<OpenAPIObject['paths'][string]['get']> & Partial<Record<`x-${string}`, unknown>>;

function operationsOf(document: OpenAPIObject): Operation[] {
  const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
  return Object.values(document.paths).flatMap((item) =>
    methods.flatMap((method) => (item[method] === undefined ? [] : [item[method] as Operation])),
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

  const handlers = handlerAccessOf(app);
  for (const operation of operationsOf(document)) {
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
