import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  relayIpListEntriesSchema,
  relayIpListEntryViewSchema,
  type RelayIpListEntryView,
} from './relay-ip-list-view';
import { AddRelayIpListEntryBody, RelayIpListEntryParams, RelayIpListParams } from './relay-ip-lists.dto';
import { RelayIpListsService } from './relay-ip-lists.service';

/** The IP lists every relay applies: `blocklist` refuses an IP, `blacklist` slows it to LIMIT_SPEED. */
@ApiTags('relay-ip-lists')
@Controller('api/v1/relay-ip-lists')
export class RelayIpListsController {
  constructor(private readonly ipLists: RelayIpListsService) {}

  @Get()
  @ApiOperation({ summary: 'List the entries of both relay IP lists' })
  @RequirePermission('relay_ip_list.manage')
  @Answers(200, relayIpListEntriesSchema)
  list(): Promise<RelayIpListEntryView[]> {
    return this.ipLists.list();
  }

  @Post(':list')
  @ApiOperation({ summary: 'Put an IP on a relay IP list (live sessions from a blocklisted IP are cut)' })
  @RequirePermission('relay_ip_list.manage')
  @Answers(201, relayIpListEntryViewSchema)
  add(
    @Param() params: RelayIpListParams,
    @Body() body: AddRelayIpListEntryBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<RelayIpListEntryView> {
    return this.ipLists.add(params.list, body.address, body.note ?? '', { principal, origin });
  }

  @Delete(':list/:address')
  @ApiOperation({ summary: 'Take an IP off a relay IP list' })
  @HttpCode(204)
  @RequirePermission('relay_ip_list.manage')
  remove(
    @Param() params: RelayIpListEntryParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.ipLists.remove(params.list, params.address, { principal, origin });
  }
}
