import { Body, Controller, Get, Header, HttpCode, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { ClientUser, CurrentClientCaller } from '../client-auth/client-access';
import { type ClientCaller } from '../client-auth/client-caller';
import { ActiveConnectionQuery, ConnectionNoteDto } from './client-audit.dto';
import { ClientAuditService } from './client-audit.service';

/**
 * The controlling client's end-of-session note (docs/client-api.md §7.4): it looks up the
 * connection's guid, then sets the note, both with its bearer token. Only the user the connection
 * names, or an admin, may do either.
 */
@ClientUser()
@ApiTags('rustdesk-client')
@Controller('api/audit')
export class ClientAuditNoteController {
  constructor(private readonly audit: ClientAuditService) {}

  @Get('conn/active')
  // The client jsonDecodes the body as a string (flutter/lib/models/model.dart `_queryAuditGuid`).
  @Header('content-type', 'application/json; charset=utf-8')
  @ApiOperation({ summary: "RustDesk client: the guid of the caller's connection, as a JSON string" })
  async activeConnection(
    @Query() query: ActiveConnectionQuery,
    @CurrentClientCaller() caller: ClientCaller,
  ): Promise<string> {
    const guid = await this.audit.activeConnectionGuid(caller, query.id, query.session_id, query.conn_type);
    return JSON.stringify(guid);
  }

  @Put()
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: set the note of a connection the caller made' })
  async setNote(@Body() body: ConnectionNoteDto, @CurrentClientCaller() caller: ClientCaller): Promise<void> {
    await this.audit.setNote(caller, body.guid, body.note);
  }
}
