import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { type RelayIpListName, RelayIpListRepository } from '@switchboard/data-access';

import { type Actor, actorAuditEntry } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { RelayIpListSet } from './relay-ip-list-set';
import { relayIpListEntryView, type RelayIpListEntryView } from './relay-ip-list-view';

/**
 * hbbr's blocklist (refused at accept, live sessions cut) and blacklist (slowed to LIMIT_SPEED),
 * managed for every relay at once. Postgres holds them; each change rewrites the relays' Redis copy
 * (RelayIpListSet) before its RelayBlocklistChanged event, as the relay-access-lists contract asks.
 * The list files beside each relay (blocklist.txt, blacklist.txt) still apply on that relay alone.
 */
@Injectable()
export class RelayIpListsService {
  constructor(
    @Inject(RelayIpListRepository) private readonly entries: Repositories['relayIpLists'],
    private readonly changes: ChangeRunner,
    private readonly ipLists: RelayIpListSet,
  ) {}

  async list(): Promise<RelayIpListEntryView[]> {
    return (await this.entries.list()).map(relayIpListEntryView);
  }

  async add(
    list: RelayIpListName,
    address: string,
    note: string,
    actor: Actor,
  ): Promise<RelayIpListEntryView> {
    return this.changes.run(async ({ relayIpLists }) => {
      const added = await relayIpLists.add({ list, address, note, createdById: actor.principal.userId });
      if (added === null) throw new ConflictException(`${address} is already on the ${list}`);
      return {
        result: relayIpListEntryView(added),
        audit: [actorAuditEntry(actor, 'relay_ip_list.add', target(list, address), { list, address, note })],
        events: [{ type: 'RelayBlocklistChanged', payload: { list, action: 'add', entry: address } }],
        beforeEvents: () => this.ipLists.sync(),
      };
    });
  }

  async remove(list: RelayIpListName, address: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ relayIpLists }) => {
      const existing = await relayIpLists.find(list, address);
      if (existing === null || !(await relayIpLists.remove(list, address)))
        throw new NotFoundException(`${address} is not on the ${list}`);
      return {
        result: undefined,
        audit: [
          actorAuditEntry(actor, 'relay_ip_list.remove', target(list, address), {
            list,
            address,
            note: existing.note,
          }),
        ],
        events: [{ type: 'RelayBlocklistChanged', payload: { list, action: 'remove', entry: address } }],
        beforeEvents: () => this.ipLists.sync(),
      };
    });
  }
}

function target(list: RelayIpListName, address: string) {
  return { type: 'relay_ip_list_entry', id: `${list}:${address}` };
}
