import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type RequestOrigin } from '../auth/principal';
import { CurrentOrigin } from '../auth/route-access';
import { parseClientPage } from '../client-api/paging';
import { ClientUser, CurrentClientCaller } from '../client-auth/client-access';
import { type ClientCaller } from '../client-auth/client-caller';
import {
  GuidParams,
  LegacyBlobBody,
  PageQuery,
  PeerBodyDto,
  PeerIdsBody,
  PeersQuery,
  TagBody,
  TagNamesBody,
  TagRenameBody,
} from './client-address-book.dto';
import { ClientAddressBooksService } from './client-address-books.service';
import { LegacyAddressBookService } from './legacy-address-book.service';

/**
 * The RustDesk client's address book (docs/client-api.md §3; flutter/lib/models/ab_model.dart).
 * The list calls are POSTs with an empty JSON body. Every write answers 200 with an EMPTY body on
 * success: any body, even `{}`, is shown to the user as an error (`_jsonDecodeActionResp`).
 */
@ClientUser()
@ApiTags('rustdesk-client')
@Controller('api/ab')
export class ClientAddressBooksController {
  constructor(
    private readonly books: ClientAddressBooksService,
    private readonly legacy: LegacyAddressBookService,
  ) {}

  @Post('personal')
  @HttpCode(200)
  @ApiOperation({ summary: "RustDesk client: the caller's personal address book (created on first use)" })
  personal(
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<{ guid: string }> {
    return this.books.personal({ caller, origin });
  }

  @Post('settings')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: address book limits (max_peer_one_ab, 0 = unlimited)' })
  settings(): Promise<{ max_peer_one_ab: number }> {
    return this.books.settingsView();
  }

  @Post('shared/profiles')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: the shared address books the caller may open (paged)' })
  sharedProfiles(@CurrentClientCaller() caller: ClientCaller, @Query() query: PageQuery) {
    return this.books.sharedProfiles(caller, parseClientPage(query));
  }

  @Post('peers')
  @HttpCode(200)
  @ApiOperation({ summary: "RustDesk client: one page of an address book's peers" })
  peers(@CurrentClientCaller() caller: ClientCaller, @Query() query: PeersQuery) {
    return this.books.peers(caller, query.ab, parseClientPage(query));
  }

  @Post('tags/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: "RustDesk client: an address book's tags and their ARGB colours" })
  tags(@CurrentClientCaller() caller: ClientCaller, @Param() params: GuidParams) {
    return this.books.tags(caller, params.guid);
  }

  @Post('peer/add/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: add one peer (empty 200 on success)' })
  addPeer(
    @Param() params: GuidParams,
    @Body() body: PeerBodyDto,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.addPeer(params.guid, body, { caller, origin });
  }

  @Put('peer/update/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: change fields of one peer (empty 200 on success)' })
  updatePeer(
    @Param() params: GuidParams,
    @Body() body: PeerBodyDto,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.updatePeer(params.guid, body, { caller, origin });
  }

  @Delete('peer/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: delete peers by id (empty 200 on success)' })
  deletePeers(
    @Param() params: GuidParams,
    @Body() ids: PeerIdsBody,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.deletePeers(params.guid, ids, { caller, origin });
  }

  @Post('tag/add/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: add a tag (empty 200 on success)' })
  addTag(
    @Param() params: GuidParams,
    @Body() body: TagBody,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.addTag(params.guid, body, { caller, origin });
  }

  @Put('tag/rename/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: "RustDesk client: rename a tag, in every peer's tags too (empty 200)" })
  renameTag(
    @Param() params: GuidParams,
    @Body() body: TagRenameBody,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.renameTag(params.guid, body.old, body.new, { caller, origin });
  }

  @Put('tag/update/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: "RustDesk client: set a tag's colour (empty 200 on success)" })
  setTagColor(
    @Param() params: GuidParams,
    @Body() body: TagBody,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.setTagColor(params.guid, body, { caller, origin });
  }

  @Delete('tag/:guid')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client: delete tags, from every peer too (empty 200 on success)' })
  deleteTags(
    @Param() params: GuidParams,
    @Body() names: TagNamesBody,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.deleteTags(params.guid, names, { caller, origin });
  }

  // ─── legacy: one JSON blob, a view of the personal book (docs/client-api.md §3.4) ───

  @Get()
  @ApiOperation({ summary: 'RustDesk client (legacy): the personal book as one blob, or null' })
  legacyPull(@CurrentClientCaller() caller: ClientCaller): Promise<{ data: string } | null> {
    return this.legacy.pull(caller);
  }

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client (legacy): replace the personal book with a blob (empty 200)' })
  legacyPush(
    @Body() body: LegacyBlobBody,
    @CurrentClientCaller() caller: ClientCaller,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.legacy.push(body.data, { caller, origin });
  }

  @Post('get')
  @HttpCode(200)
  @ApiOperation({ summary: 'RustDesk client (Sciter UI): the personal book as a blob, with updated_at' })
  legacyPullWithTime(@CurrentClientCaller() caller: ClientCaller) {
    return this.legacy.pullWithTime(caller);
  }
}
