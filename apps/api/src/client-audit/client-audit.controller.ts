import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { Public } from '../auth/route-access';
import { AlarmAuditDto, ConnAuditDto, FileAuditDto } from './client-audit.dto';
import { ClientAuditService } from './client-audit.service';

/**
 * What RustDesk clients report for the audit log (docs/client-api.md §7). No credential: the
 * controlled device names itself by id and uuid. Success is 200 with an EMPTY body, the only answer
 * the client counts as stored (src/server/connection.rs post_audit_async); failures are `{error}`.
 */
@Public()
@ApiTags('rustdesk-client')
@Controller('api/audit')
export class ClientAuditController {
  constructor(private readonly audit: ClientAuditService) {}

  @Post('conn')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: a connection record (open, authorised, close) or its note' })
  async conn(@Body() body: ConnAuditDto): Promise<void> {
    await this.audit.reportConnection(body);
  }

  @Post('file')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: a file transfer record' })
  async file(@Body() body: FileAuditDto): Promise<void> {
    await this.audit.reportFile(body);
  }

  @Post('alarm')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: an alarm (whitelist refusal, repeated failed logins, ...)' })
  async alarm(@Body() body: AlarmAuditDto): Promise<void> {
    await this.audit.reportAlarm(body);
  }
}
