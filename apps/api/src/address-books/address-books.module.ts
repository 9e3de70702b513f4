import { Module } from '@nestjs/common';

import { SecretBox } from '../auth/secret-box';
import { AddressBookPresetsService } from './address-book-presets.service';
import { AddressBookSecrets } from './address-book-secrets';
import { ClientAddressBooksController } from './client-address-books.controller';
import { ClientAddressBooksService } from './client-address-books.service';
import { LegacyAddressBookService } from './legacy-address-book.service';
import { SharedAddressBooksController } from './shared-address-books.controller';
import { SharedAddressBooksService } from './shared-address-books.service';

/**
 * Address books: the RustDesk client's v2 and legacy calls (docs/client-api.md §3), shared-book
 * administration on the operator API, and the device-preset seam that sysinfo and `--assign` use.
 */
@Module({
  controllers: [ClientAddressBooksController, SharedAddressBooksController],
  providers: [
    SecretBox,
    AddressBookSecrets,
    ClientAddressBooksService,
    LegacyAddressBookService,
    SharedAddressBooksService,
    AddressBookPresetsService,
  ],
  exports: [AddressBookPresetsService],
})
export class AddressBooksModule {}
