import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import {
  BookIdParams,
  CreateSharedBookBody,
  GroupRuleParams,
  ListSharedBooksQuery,
  SetBookPasswordBody,
  SetRuleBody,
  type SharedBookDetailsView,
  sharedBookDetailsViewSchema,
  type SharedBookList,
  sharedBookListSchema,
  UpdateSharedBookBody,
  UserRuleParams,
} from './shared-address-books.dto';
import { SharedAddressBooksService } from './shared-address-books.service';
import { Answers } from '../http/response-schemas';

/** Shared address books (operator API): books, who may use them, their default password. */
@ApiTags('address-books')
@Controller('api/v1/address-books')
export class SharedAddressBooksController {
  constructor(private readonly books: SharedAddressBooksService) {}

  @Get()
  @ApiOperation({ summary: 'List shared address books' })
  @RequirePermission('address_book.view')
  @Answers(200, sharedBookListSchema)
  list(@Query() query: ListSharedBooksQuery): Promise<SharedBookList> {
    return this.books.list(query.offset, query.limit);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One shared address book with its rules' })
  @RequirePermission('address_book.view')
  @Answers(200, sharedBookDetailsViewSchema)
  get(@Param() params: BookIdParams): Promise<SharedBookDetailsView> {
    return this.books.get(params.id);
  }

  @Post()
  @ApiOperation({ summary: 'Create a shared address book (its name is unique among shared books)' })
  @RequirePermission('address_book.manage')
  @Answers(201, sharedBookDetailsViewSchema)
  create(
    @Body() body: CreateSharedBookBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SharedBookDetailsView> {
    return this.books.create(body, { principal, origin });
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Rename a shared address book or change its note' })
  @RequirePermission('address_book.manage')
  @Answers(200, sharedBookDetailsViewSchema)
  update(
    @Param() params: BookIdParams,
    @Body() body: UpdateSharedBookBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SharedBookDetailsView> {
    return this.books.update(params.id, body, { principal, origin });
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a shared address book with its peers, tags and rules' })
  @RequirePermission('address_book.manage')
  delete(
    @Param() params: BookIdParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.delete(params.id, { principal, origin });
  }

  @Put(':id/rules/users/:username')
  @ApiOperation({ summary: "Set a user's rule (1 read, 2 read/write, 3 full control)" })
  @RequirePermission('address_book.manage')
  @Answers(200, sharedBookDetailsViewSchema)
  setUserRule(
    @Param() params: UserRuleParams,
    @Body() body: SetRuleBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SharedBookDetailsView> {
    return this.books.setUserRule(params.id, params.username, body.rule, { principal, origin });
  }

  @Delete(':id/rules/users/:username')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove a user's rule" })
  @RequirePermission('address_book.manage')
  removeUserRule(
    @Param() params: UserRuleParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.removeUserRule(params.id, params.username, { principal, origin });
  }

  @Put(':id/rules/groups/:group')
  @ApiOperation({ summary: "Set a user group's rule (every member; the best of a user's rules applies)" })
  @RequirePermission('address_book.manage')
  @Answers(200, sharedBookDetailsViewSchema)
  setGroupRule(
    @Param() params: GroupRuleParams,
    @Body() body: SetRuleBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SharedBookDetailsView> {
    return this.books.setGroupRule(params.id, params.group, body.rule, { principal, origin });
  }

  @Delete(':id/rules/groups/:group')
  @HttpCode(204)
  @ApiOperation({ summary: "Remove a user group's rule" })
  @RequirePermission('address_book.manage')
  removeGroupRule(
    @Param() params: GroupRuleParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.books.removeGroupRule(params.id, params.group, { principal, origin });
  }

  @Put(':id/password')
  @ApiOperation({ summary: "Set or clear the book's default shared password (sealed at rest)" })
  @RequirePermission('address_book.manage')
  @Answers(200, sharedBookDetailsViewSchema)
  setPassword(
    @Param() params: BookIdParams,
    @Body() body: SetBookPasswordBody,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<SharedBookDetailsView> {
    return this.books.setPassword(params.id, body.password, { principal, origin });
  }
}
