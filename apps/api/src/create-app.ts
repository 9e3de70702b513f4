import fastifyCookie from '@fastify/cookie';
import { type DynamicModule, type Type } from '@nestjs/common';
import { type Server as HttpsServer } from 'node:https';

import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { LogController } from 'fastify';

import { type AppDependencies, AppModule } from './app.module';
import { registerClientJsonBodyParser } from './client-api/client-json-body';
import { setUpConsoleAssets } from './console/console.module';
import { setUpApiDocs } from './docs/api-docs.module';
import { frameworkErrorHandler } from './errors/framework-error-handler';
import { installOutageMetrics } from './errors/outage-metrics';
import { apiTlsMetrics, attachCredentials, httpsServerOptions } from './http/api-tls';
import { installHttpMetrics } from './http/http-metrics';
import { REQUEST_ID_HEADER, requestIdGenerator } from './http/request-id';
import { registerSecurityHeaders } from './http/security-headers';
import { trackServedRoutes } from './http/served-routes';
import { NestLoggerAdapter } from './logging/nest-logger.adapter';
import { MetricsRegistry } from './metrics/metrics.registry';
import { cryptoRandom } from './random/random-source';

// Probes arrive every few seconds; logging each would drown the real traffic. (Scrapes go to the ops
// port, main.ts.)
const QUIET_PATHS = new Set(['/healthz', '/readyz']);

export interface CreateAppOptions {
  /** Modules mounted beside the app's own: tests put probe routes behind the real guard, pipes and filter. */
  readonly extraModules?: readonly (Type | DynamicModule)[];
}

/**
 * Builds the api (not listening yet): main.ts listens on it, tests drive it with `app.inject()`.
 * Everything the app needs from outside comes in through `dependencies`.
 */
export async function createApiApp(
  dependencies: AppDependencies,
  options: CreateAppOptions = {},
): Promise<NestFastifyApplication> {
  const { config, logger, tls } = dependencies;
  const metrics = dependencies.metrics ?? new MetricsRegistry();
  const tlsMetrics = tls ? apiTlsMetrics(metrics.registry) : undefined;
  const adapter = new FastifyAdapter({
    ...(tls && tlsMetrics ? { https: httpsServerOptions(tls, config, tlsMetrics) } : {}),
    bodyLimit: config.API_BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY.length > 0 ? [...config.TRUST_PROXY] : false,
    loggerInstance: logger.child({ component: 'http' }),
    genReqId: requestIdGenerator(dependencies.random ?? cryptoRandom),
    frameworkErrors: frameworkErrorHandler(config),
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: (request) => QUIET_PATHS.has(request.url.split('?')[0] ?? ''),
    }),
  });
  if (tls && tlsMetrics) {
    attachCredentials(adapter.getInstance().server as unknown as HttpsServer, tls, tlsMetrics, logger);
    adapter.getInstance().addHook('onClose', (_instance, done) => {
      tls.stop();
      done();
    });
  }
  trackServedRoutes(adapter.getInstance());
  installHttpMetrics(adapter.getInstance(), metrics.registry);
  installOutageMetrics(adapter.getInstance(), metrics.registry);
  adapter.getInstance().addHook('onRequest', (request, reply, done) => {
    void reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });

  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register({ ...dependencies, metrics }, options.extraModules),
    adapter,
    {
      logger: new NestLoggerAdapter(logger.child({ component: 'nest' })),
      // Fail by throwing, so main.ts decides how to exit and tests see the error.
      abortOnError: false,
      // Only JSON bodies (see registerClientJsonBodyParser); Nest would add a form parser.
      bodyParser: false,
    },
  );
  // No text/plain either: a form or a no-preflight fetch from another site cannot send JSON, and
  // every other type is answered 415.
  adapter.getInstance().removeContentTypeParser('text/plain');
  registerClientJsonBodyParser(adapter.getInstance());
  // Unsigned cookies: the session token is itself the unguessable secret (see auth/session-cookies.ts).
  await app.register(fastifyCookie);
  await registerSecurityHeaders(app, config);
  setUpApiDocs(app, config);
  setUpConsoleAssets(app, config);
  await app.init();
  return app;
}
