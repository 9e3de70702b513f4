import { join } from 'node:path';

import { Module } from '@nestjs/common';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';

import { type ApiConfig } from '../config';
import { loadConsoleFiles } from './console-files';
import { ConsolePageController } from './console-page.controller';

@Module({ controllers: [ConsolePageController] })
export class ConsoleModule {}

/** A year: asset names carry a content hash, so a changed file is a new URL. */
const ASSET_MAX_AGE_MS = 365 * 24 * 60 * 60 * 1000;

/**
 * Serves the console's built assets (hashed names under /assets, immutable) through @fastify/static.
 * Call after NestFactory.create, before init. Nothing is served when the console was not built.
 */
export function setUpConsoleAssets(app: NestFastifyApplication, config: ApiConfig): void {
  const files = loadConsoleFiles(config);
  if (files.indexHtml === undefined) return;
  app.useStaticAssets({
    root: join(files.dir, 'assets'),
    prefix: '/assets/',
    decorateReply: false,
    index: false,
    list: false,
    dotfiles: 'deny',
    immutable: true,
    maxAge: ASSET_MAX_AGE_MS,
  });
}
