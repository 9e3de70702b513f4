import { Controller, Get, Header, Inject, NotFoundException, Param } from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';

import { API_CONFIG } from '../app.tokens';
import { Public } from '../auth/route-access';
import { type ApiConfig } from '../config';
import { CONSOLE_SECTIONS, type ConsoleFiles, loadConsoleFiles } from './console-files';
import { fallbackPageHtml } from './fallback-page';

/**
 * `GET /` and the console's own paths: the single page of the web console (its scripts and styles are
 * files under /assets, so the strict CSP holds), or a plain page saying how to build it.
 */
@Public()
@ApiTags('console')
@Controller()
export class ConsolePageController {
  private readonly html: string;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    const files: ConsoleFiles = loadConsoleFiles(config);
    this.html =
      files.indexHtml ?? fallbackPageHtml({ docsEnabled: config.API_DOCS_ENABLED, consoleDir: files.dir });
  }

  @Get()
  @ApiOperation({ summary: 'The web console (or, when it was not built, a page naming the APIs)' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'HTML' })
  @Header('content-type', 'text/html; charset=utf-8')
  root(): string {
    return this.html;
  }

  /**
   * Deep links (a reload on /devices/123): the same page; the console's router shows the place. Two
   * segments at most, never a wildcard: a longer unknown path must stay the router's own 404 or 414.
   */
  @Get([':section', ':section/:item'])
  @ApiExcludeEndpoint()
  @Header('content-type', 'text/html; charset=utf-8')
  section(@Param('section') section: string): string {
    if (!CONSOLE_SECTIONS.has(section)) throw new NotFoundException(`Cannot GET /${section}`);
    return this.html;
  }
}
