import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { ClientUser, CurrentClientCaller } from '../client-auth/client-access';
import { type ClientCaller } from '../client-auth/client-caller';
import { type ClientPagedResponse, parseClientPage } from '../client-api/paging';
import { ClientAccessScope } from './client-access-scope';
import {
  type ClientDeviceGroupPayload,
  type ClientPeerPayload,
  type ClientUserPayload,
} from './client-group-payloads';

/** The query the client sends; `accessible` and `status=1` are what this server always applies. */
interface GroupTabQuery {
  current?: unknown;
  pageSize?: unknown;
}

/**
 * The RustDesk client's group tab (docs/client-api.md §5, flutter/lib/models/group_model.dart):
 * three paged GETs with a bearer token and no Content-Type. Paging values out of range are clamped,
 * never refused (client-api/paging.ts); unknown query parameters are ignored.
 */
@ClientUser()
@ApiTags('rustdesk-client')
@Controller('api')
export class ClientGroupsController {
  constructor(private readonly scope: ClientAccessScope) {}

  @Get('device-group/accessible')
  @ApiOperation({ summary: 'RustDesk client: the device groups the caller may see' })
  deviceGroups(
    @Query() query: GroupTabQuery,
    @CurrentClientCaller() caller: ClientCaller,
  ): Promise<ClientPagedResponse<ClientDeviceGroupPayload>> {
    return this.scope.deviceGroups(caller, parseClientPage(query));
  }

  @Get('users')
  @ApiOperation({ summary: 'RustDesk client: the users the caller may see (a non-admin gets a list too)' })
  users(
    @Query() query: GroupTabQuery,
    @CurrentClientCaller() caller: ClientCaller,
  ): Promise<ClientPagedResponse<ClientUserPayload>> {
    return this.scope.users(caller, parseClientPage(query));
  }

  @Get('peers')
  @ApiOperation({ summary: 'RustDesk client: the devices the caller may see' })
  peers(
    @Query() query: GroupTabQuery,
    @CurrentClientCaller() caller: ClientCaller,
  ): Promise<ClientPagedResponse<ClientPeerPayload>> {
    return this.scope.peers(caller, parseClientPage(query));
  }
}
