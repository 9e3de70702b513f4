import { Body, Controller, Get, Header, HttpCode, Post, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers, AnswersCsv } from '../http/response-schemas';
import {
  AuditFilterDto,
  AuditListQueryDto,
  type AuditPageView,
  auditPageViewSchema,
  type AuditVerifyView,
  auditVerifyViewSchema,
} from './audit.dto';
import { AuditService } from './audit.service';

/**
 * The audit chain, read-only: pages (audit.view), CSV export and verification (audit.verify). Export
 * and verify are POST although they change nothing the caller asked for: each appends its own audit
 * entry, and a GET with a side effect could be fired cross-site by a link or an <img> in an admin's
 * browser; as POSTs they pass the console's Origin and CSRF checks like every other change.
 */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'List audit entries, newest first (filters, cursor)' })
  @RequirePermission('audit.view')
  @Answers(200, auditPageViewSchema)
  list(@Query() query: AuditListQueryDto, @CurrentPrincipal() principal: Principal): Promise<AuditPageView> {
    return this.audit.list(query, principal);
  }

  @Post('export.csv')
  @HttpCode(200)
  @ApiOperation({ summary: 'Export audit entries as CSV (filters in the JSON body; audited)' })
  @RequirePermission('audit.verify')
  @Header('cache-control', 'no-store')
  @AnswersCsv()
  async exportCsv(
    @Body() filter: AuditFilterDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<StreamableFile> {
    const { stream, fileName } = await this.audit.exportCsv(filter, principal, origin);
    return new StreamableFile(stream, {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="${fileName}"`,
    });
  }

  @Post('verify')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Verify the hash chain and its end (head record, checkpoints); names the first broken entry',
  })
  @RequirePermission('audit.verify')
  @Header('cache-control', 'no-store')
  @Answers(200, auditVerifyViewSchema)
  verify(
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<AuditVerifyView> {
    return this.audit.verify(principal, origin);
  }
}
