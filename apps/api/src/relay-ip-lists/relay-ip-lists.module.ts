import { Module } from '@nestjs/common';

import { RelayIpListSet } from './relay-ip-list-set';
import { RelayIpListsController } from './relay-ip-lists.controller';
import { RelayIpListsService } from './relay-ip-lists.service';

/** The relays' managed IP lists: the operator API and the Redis copy the relays read. */
@Module({
  controllers: [RelayIpListsController],
  providers: [RelayIpListsService, RelayIpListSet],
})
export class RelayIpListsModule {}
