import { Controller, Get, Header, Query, StreamableFile } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { RequirePermission } from '../auth/route-access';
import { Answers, AnswersCsv } from '../http/response-schemas';
import {
  type AlarmAuditPage,
  alarmAuditPageSchema,
  ClientAuditListQuery,
  type ConnectionAuditPage,
  connectionAuditPageSchema,
  ConnectionAuditListQuery,
  type FileAuditPage,
  fileAuditPageSchema,
} from './client-audit-ops.dto';
import { type ClientAuditKind, ClientAuditOpsService } from './client-audit-ops.service';

/**
 * What RustDesk clients reported (docs/client-api.md §7), for operators: newest first, filtered by
 * device, controlling user, time and type, cursor-paged, and as CSV. Read-only, so plain GETs.
 */
@ApiTags('client-audit')
@Controller('api/v1/client-audit')
export class ClientAuditOpsController {
  constructor(private readonly audit: ClientAuditOpsService) {}

  @Get('connections')
  @ApiOperation({ summary: 'List connections reported by clients, newest first' })
  @RequirePermission('audit.view')
  @Answers(200, connectionAuditPageSchema)
  connections(@Query() query: ConnectionAuditListQuery): Promise<ConnectionAuditPage> {
    return this.audit.connections(query);
  }

  @Get('files')
  @ApiOperation({ summary: 'List file transfers reported by clients, newest first' })
  @RequirePermission('audit.view')
  @Answers(200, fileAuditPageSchema)
  files(@Query() query: ClientAuditListQuery): Promise<FileAuditPage> {
    return this.audit.files(query);
  }

  @Get('alarms')
  @ApiOperation({ summary: 'List alarms reported by clients, newest first' })
  @RequirePermission('audit.view')
  @Answers(200, alarmAuditPageSchema)
  alarms(@Query() query: ClientAuditListQuery): Promise<AlarmAuditPage> {
    return this.audit.alarms(query);
  }

  @Get('connections.csv')
  @ApiOperation({ summary: 'Export connections reported by clients as CSV (same filters)' })
  @RequirePermission('audit.view')
  @Header('cache-control', 'no-store')
  @AnswersCsv()
  connectionsCsv(@Query() query: ConnectionAuditListQuery): StreamableFile {
    return this.csv('connections', query);
  }

  @Get('files.csv')
  @ApiOperation({ summary: 'Export file transfers reported by clients as CSV (same filters)' })
  @RequirePermission('audit.view')
  @Header('cache-control', 'no-store')
  @AnswersCsv()
  filesCsv(@Query() query: ClientAuditListQuery): StreamableFile {
    return this.csv('files', query);
  }

  @Get('alarms.csv')
  @ApiOperation({ summary: 'Export alarms reported by clients as CSV (same filters)' })
  @RequirePermission('audit.view')
  @Header('cache-control', 'no-store')
  @AnswersCsv()
  alarmsCsv(@Query() query: ClientAuditListQuery): StreamableFile {
    return this.csv('alarms', query);
  }

  private csv(kind: ClientAuditKind, query: ClientAuditListQuery | ConnectionAuditListQuery): StreamableFile {
    // The export walks every page itself; `cursor` and `limit` shape only the listings.
    const { cursor: _cursor, ...filter } = query;
    const { stream, fileName } = this.audit.exportCsv(kind, filter);
    return new StreamableFile(stream, {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="${fileName}"`,
    });
  }
}
