import fastifyCookie from '@fastify/cookie';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type Type } from '@nestjs/common';
import { LogController } from 'fastify';

import { type AppDependencies, AppModule } from './app.module';
import { REQUEST_ID_HEADER, requestIdOf } from './http/request-id';
import { NestLoggerAdapter } from './logging/nest-logger.adapter';

// Probes and scrapes arrive every few seconds; logging each would drown the real traffic.
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Builds the api (not listening yet): main.ts listens on it, tests drive it with `app.inject()`.
 * Everything the app needs from outside comes in through `dependencies`.
 */
export async function createApiApp(
  dependencies: AppDependencies,
  extraModules: readonly Type[] = [],
): Promise<NestFastifyApplication> {
  const { config, logger } = dependencies;
  const adapter = new FastifyAdapter({
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY.length > 0 ? [...config.TRUST_PROXY] : false,
    loggerInstance: logger.child({ component: 'http' }),
    genReqId: requestIdOf,
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: (request) => QUIET_PATHS.has(request.url.split('?')[0] ?? ''),
    }),
  });
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(dependencies, extraModules),
    adapter,
    {
      logger: new NestLoggerAdapter(logger.child({ component: 'nest' })),
      // Fail by throwing, so main.ts decides how to exit and tests see the error.
      abortOnError: false,
    },
  );
  // Unsigned cookies: the session token is itself the unguessable secret (see auth/session-cookies.ts).
  await app.register(fastifyCookie);
  await app.init();
  return app;
}
