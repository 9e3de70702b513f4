import { Controller, Get, Header, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { AuditFilterDto, AuditListQueryDto, type AuditPageView, type AuditVerifyView } from './audit.dto';
import { AuditService } from './audit.service';

/** The audit chain, read-only: pages (audit.view), CSV export and verification (audit.verify). */
@ApiTags('audit')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @ApiOperation({ summary: 'List audit entries, newest first (filters, cursor)' })
  @RequirePermission('audit.view')
  list(@Query() query: AuditListQueryDto): Promise<AuditPageView> {
    return this.audit.list(query);
  }

  @Get('export.csv')
  @ApiOperation({ summary: 'Export audit entries as CSV' })
  @RequirePermission('audit.verify')
  @Header('cache-control', 'no-store')
  async exportCsv(
    @Query() filter: AuditFilterDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<StreamableFile> {
    const stream = await this.audit.exportCsv(filter, principal, origin);
    const stamp = new Date()
      .toISOString()
      .replaceAll(':', '-')
      .replace(/\.\d+Z$/, 'Z');
    return new StreamableFile(stream, {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="audit-${stamp}.csv"`,
    });
  }

  @Get('verify')
  @ApiOperation({ summary: 'Verify the hash chain; names the first broken entry' })
  @RequirePermission('audit.verify')
  @Header('cache-control', 'no-store')
  verify(
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<AuditVerifyView> {
    return this.audit.verify(principal, origin);
  }
}
