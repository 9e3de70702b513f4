import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';

import { API_CONFIG } from '../app.tokens';
import { Public } from '../auth/route-access';
import { type ApiConfig } from '../config';
import { homePageHtml } from './home-page';

/** `GET /`: a page for whoever opens the server in a browser, never a JSON 404. */
@Public()
@ApiTags('home')
@Controller()
export class HomePageController {
  private readonly html: string;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.html = homePageHtml({ docsEnabled: config.API_DOCS_ENABLED });
  }

  @Get()
  @ApiOperation({ summary: 'A page naming this server and where its APIs are (until the console)' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'Static HTML' })
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return this.html;
  }
}
