import { Body, Controller, Delete, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply } from 'fastify';

import { AccountService } from './account.service';
import { type Me, meSchema, type TokenPair, tokenPairSchema } from './auth-responses';
import { PasswordChangeDto, SessionIdDto } from './auth.dto';
import { type Principal, type RequestOrigin } from './principal';
import { CurrentOrigin, CurrentPrincipal, SelfService } from './route-access';
import { type SessionList, sessionListSchema } from './session-view';
import { Answers, responseRef } from '../http/response-schemas';

/** The signed-in user's own account: reachable even while a password change is pending. */
@ApiTags('auth')
@Controller('api/v1/auth')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @SelfService()
  @Get('me')
  @ApiOperation({ summary: 'Who am I' })
  @Answers(200, meSchema)
  me(@CurrentPrincipal() principal: Principal): Promise<Me> {
    return this.account.me(principal);
  }

  @SelfService()
  @Get('sessions')
  @ApiOperation({ summary: 'My sessions: console and RustDesk client logins' })
  @Answers(200, sessionListSchema)
  async sessions(@CurrentPrincipal() principal: Principal): Promise<SessionList> {
    return { sessions: await this.account.listSessions(principal) };
  }

  @SelfService()
  @Delete('sessions/:id')
  @ApiOperation({ summary: 'End one of my sessions (a RustDesk client then logs out at its next call)' })
  @HttpCode(204)
  async revokeSession(
    @Param() params: SessionIdDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    await this.account.revokeSession(principal, params.id, origin);
  }

  /** 204 for the console (its session stays); 200 with a new token pair for a bearer caller. */
  @SelfService({ person: true })
  @Post('password')
  @ApiOperation({ summary: 'Change my password (ends my other logins)' })
  @ApiOkResponse({
    description: 'A bearer caller: a new token pair, as its old tokens ended with the password.',
    schema: responseRef(tokenPairSchema),
  })
  @ApiNoContentResponse({ description: 'The console: its session stays.' })
  async changePassword(
    @Body() body: PasswordChangeDto,
    @CurrentPrincipal() principal: Principal,
    @CurrentOrigin() origin: RequestOrigin,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TokenPair | undefined> {
    const { tokens } = await this.account.changePassword(principal, body, origin);
    void reply.status(tokens === undefined ? 204 : 200);
    return tokens;
  }
}
