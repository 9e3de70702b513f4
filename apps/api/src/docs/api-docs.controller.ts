import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

import { Public } from '../auth/route-access';
import { ApiDocsService } from './api-docs.service';
import { DOCS_CSS, DOCS_HTML, DOCS_INIT_JS, DOCS_PATH } from './swagger-ui-page';

/** Swagger UI and the OpenAPI document. Public: they describe routes, never data. */
@Public()
@ApiExcludeController()
@Controller(DOCS_PATH)
export class ApiDocsController {
  constructor(private readonly docs: ApiDocsService) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return DOCS_HTML;
  }

  @Get('json')
  @Header('content-type', 'application/json; charset=utf-8')
  document(): string {
    return this.docs.json();
  }

  @Get('init.js')
  @Header('content-type', 'text/javascript; charset=utf-8')
  init(): string {
    return DOCS_INIT_JS;
  }

  @Get('docs.css')
  @Header('content-type', 'text/css; charset=utf-8')
  stylesheet(): string {
    return DOCS_CSS;
  }
}
