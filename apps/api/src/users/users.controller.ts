import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';

import { type Principal, type RequestOrigin } from '../auth/principal';
import { CurrentOrigin, CurrentPrincipal, RequirePermission } from '../auth/route-access';
import { Answers } from '../http/response-schemas';
import {
  CreateUserDto,
  ListUsersDto,
  ResetPasswordDto,
  UpdateUserDto,
  UserIdDto,
  type UserPage,
  userPageSchema,
  UserSessionParams,
  type UserView,
  userViewSchema,
  type UserWithPassword,
  userWithPasswordSchema,
} from './user.dto';
import { type SessionList, sessionListSchema } from '../auth/session-view';
import { UserSessionsService } from './user-sessions.service';
import { UsersService } from './users.service';

/** Users administration: `user.view` reads, `user.manage` changes (admins only, see permissions.ts). */
@ApiTags('users')
@Controller('api/v1/users')
export class UsersController {
  constructor(
    private readonly users: UsersService,
    private readonly userSessions: UserSessionsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List users (search, role, disabled; paginated)' })
  @RequirePermission('user.view')
  @Answers(200, userPageSchema)
  list(@Query() query: ListUsersDto): Promise<UserPage> {
    return this.users.list(query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One user' })
  @RequirePermission('user.view')
  @Answers(200, userViewSchema)
  get(@Param() params: UserIdDto): Promise<UserView> {
    return this.users.get(params.id);
  }

  @Post()
  @ApiOperation({ summary: 'Create a user (a one-time password is generated when none is given)' })
  @RequirePermission('user.manage')
  // A generated one-time password may be in the answer: no cache may keep it.
  @Header('Cache-Control', 'no-store')
  @Answers(201, userWithPasswordSchema)
  create(
    @Body() body: CreateUserDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserWithPassword> {
    return this.users.create(body, principal, origin);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a user's role, display name, email or note" })
  @RequirePermission('user.manage')
  @Answers(200, userViewSchema)
  update(
    @Param() params: UserIdDto,
    @Body() body: UpdateUserDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserView> {
    return this.users.update(params.id, body, principal, origin);
  }

  @Get(':id/sessions')
  @ApiOperation({ summary: "A user's live sessions: console and RustDesk client logins" })
  @RequirePermission('user.view')
  @Answers(200, sessionListSchema)
  async sessions(@Param() params: UserIdDto, @CurrentPrincipal() principal: Principal): Promise<SessionList> {
    return { sessions: await this.userSessions.list(params.id, principal) };
  }

  @Delete(':id/sessions/:sessionId')
  @ApiOperation({
    summary: "End one of a user's sessions (a RustDesk client then signs out at its next call)",
  })
  @HttpCode(204)
  @RequirePermission('user.manage')
  revokeSession(
    @Param() params: UserSessionParams,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.userSessions.revoke(params.id, params.sessionId, principal, origin);
  }

  @Post(':id/disable')
  @ApiOperation({ summary: 'Disable a user and end their logins' })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Answers(200, userViewSchema)
  disable(
    @Param() params: UserIdDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserView> {
    return this.users.disable(params.id, principal, origin);
  }

  @Post(':id/enable')
  @ApiOperation({ summary: 'Enable a user' })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Answers(200, userViewSchema)
  enable(
    @Param() params: UserIdDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserView> {
    return this.users.enable(params.id, principal, origin);
  }

  @Post(':id/reset-password')
  @ApiOperation({ summary: "Reset a user's password (must be changed at next login; ends their logins)" })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Header('Cache-Control', 'no-store')
  @Answers(200, userWithPasswordSchema)
  resetPassword(
    @Param() params: UserIdDto,
    @Body() body: ResetPasswordDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserWithPassword> {
    return this.users.resetPassword(params.id, body, principal, origin);
  }

  @Post(':id/clear-second-factor')
  @ApiOperation({
    summary: "Turn off another user's TOTP and recovery codes (a lost authenticator); ends their logins",
  })
  @HttpCode(200)
  @RequirePermission('user.manage')
  @Answers(200, userViewSchema)
  clearSecondFactor(
    @Param() params: UserIdDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<UserView> {
    return this.users.clearSecondFactor(params.id, principal, origin);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a user' })
  @HttpCode(204)
  @RequirePermission('user.manage')
  delete(
    @Param() params: UserIdDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    return this.users.delete(params.id, principal, origin);
  }
}
