import { dirname } from 'node:path';

import { type DynamicModule, Module } from '@nestjs/common';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';

import { type ApiConfig } from '../config';
import { ApiDocsController } from './api-docs.controller';
import { ApiDocsService } from './api-docs.service';
import { buildOpenApiDocument } from './openapi-document';
import { DOCS_PATH, SWAGGER_UI_ASSETS } from './swagger-ui-page';

/** /api/docs (Swagger UI) and /api/docs/json (OpenAPI 3), only when API_DOCS_ENABLED=true. */
@Module({})
export class ApiDocsModule {
  static register(config: ApiConfig): DynamicModule {
    return {
      module: ApiDocsModule,
      controllers: config.API_DOCS_ENABLED ? [ApiDocsController] : [],
      providers: [ApiDocsService],
    };
  }
}

/**
 * swagger-ui-dist as @nestjs/swagger depends on it (its package exports hide the helper it uses):
 * resolved from @nestjs/swagger's own location, so it is the copy that package was tested with.
 */
function swaggerUiDistPath(): string {
  const swaggerPackage = require.resolve('@nestjs/swagger/package.json');
  return dirname(require.resolve('swagger-ui-dist/package.json', { paths: [dirname(swaggerPackage)] }));
}

/**
 * Builds the document from the created application and serves Swagger UI's files (the copy
 * @nestjs/swagger ships, through @fastify/static). Call after NestFactory.create, before init.
 */
export function setUpApiDocs(app: NestFastifyApplication, config: ApiConfig): void {
  if (!config.API_DOCS_ENABLED) return;
  app.get(ApiDocsService).publish(buildOpenApiDocument(app));
  app.useStaticAssets({
    root: swaggerUiDistPath(),
    prefix: `${DOCS_PATH}/`,
    decorateReply: false,
    index: false,
    allowedPath: (path) => SWAGGER_UI_ASSETS.has(path),
    maxAge: 60 * 60 * 1000,
  });
}
