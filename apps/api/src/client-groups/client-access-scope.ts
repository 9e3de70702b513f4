import { Inject, Injectable } from '@nestjs/common';
import { type ClientAccessScope as Scope, ClientAccessRepository } from '@switchboard/data-access';

import { type ClientCaller } from '../client-auth/client-caller';
import { type ClientPage, type ClientPagedResponse, clientPagedResponse } from '../client-api/paging';
import { type Repositories } from '../database/repositories';
import {
  type ClientDeviceGroupPayload,
  type ClientPeerPayload,
  clientPeerPayload,
  type ClientUserPayload,
  clientUserPayload,
} from './client-group-payloads';

/**
 * The one place that decides what a RustDesk client caller may see (docs/client-api.md §5,
 * docs/architecture.md "Who sees what"). An admin sees every enabled user and every usable device;
 * anyone else sees themself, the members of their own user groups, the members of the user groups
 * their groups have a rule for, the devices those users own, and the devices of the device groups
 * their groups have a rule for. The rules are applied in SQL (libs/data-access groups/
 * client-access.sql.ts), so a page costs one bounded query whatever the fleet size.
 */
@Injectable()
export class ClientAccessScope {
  constructor(@Inject(ClientAccessRepository) private readonly access: Repositories['clientAccess']) {}

  async users(caller: ClientCaller, page: ClientPage): Promise<ClientPagedResponse<ClientUserPayload>> {
    const { total, items } = await this.access.users(scopeOf(caller), page.offset, page.pageSize);
    return clientPagedResponse(
      total,
      items.map((user) => clientUserPayload(user, caller.isAdmin || user.id === caller.userId)),
    );
  }

  async peers(caller: ClientCaller, page: ClientPage): Promise<ClientPagedResponse<ClientPeerPayload>> {
    const { total, items } = await this.access.peers(scopeOf(caller), page.offset, page.pageSize);
    return clientPagedResponse(total, items.map(clientPeerPayload));
  }

  async deviceGroups(
    caller: ClientCaller,
    page: ClientPage,
  ): Promise<ClientPagedResponse<ClientDeviceGroupPayload>> {
    const { total, items } = await this.access.deviceGroups(scopeOf(caller), page.offset, page.pageSize);
    return clientPagedResponse(
      total,
      items.map((name) => ({ name })),
    );
  }
}

function scopeOf(caller: ClientCaller): Scope {
  return { userId: caller.userId, isAdmin: caller.isAdmin };
}
