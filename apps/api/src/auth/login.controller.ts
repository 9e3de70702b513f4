import { Body, Controller, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyReply, type FastifyRequest } from 'fastify';

import { Answers } from '../http/response-schemas';
import {
  type MfaRequiredResponse,
  panelLoginAnswerSchema,
  type PanelLoginResponse,
  tokenLoginAnswerSchema,
  type TokenPair,
  tokenPairSchema,
} from './auth-responses';
import { LoginDto, LogoutDto, MfaLoginDto, RefreshDto } from './auth.dto';
import { LoginService, type LoginOutcome } from './login.service';
import { LogoutService } from './logout.service';
import { OriginPolicy } from './origin-policy';
import { type RequestOrigin } from './principal';
import { RefreshTokenService } from './refresh-tokens.service';
import { CurrentOrigin, Public } from './route-access';
import { clearSessionCookies, sessionTokenOf, setSessionCookies } from './session-cookies';

/**
 * The two front doors of a password login (console: cookie session; automation: token pair), their
 * TOTP steps, token refresh and logout. All public: they are how a caller gets a credential.
 */
@ApiTags('auth')
@Controller('api/v1/auth')
export class LoginController {
  constructor(
    private readonly logins: LoginService,
    private readonly logouts: LogoutService,
    private readonly refreshTokens: RefreshTokenService,
    private readonly origins: OriginPolicy,
  ) {}

  @Public()
  @Post('login')
  @ApiOperation({ summary: 'Console login: sets the session and CSRF cookies (or asks for the TOTP step)' })
  @HttpCode(200)
  @Answers(200, panelLoginAnswerSchema)
  async login(
    @Body() body: LoginDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<PanelLoginResponse | MfaRequiredResponse> {
    // Login CSRF: a foreign page must not sign this browser into an account of its choosing.
    this.origins.checkIfPresent(request);
    const outcome = await this.logins.passwordLogin(body, this.panel(request, origin));
    return encodePanel(outcome, reply);
  }

  @Public()
  @Post('login/totp')
  @ApiOperation({ summary: 'Console login, second step: the TOTP or a recovery code' })
  @HttpCode(200)
  @Answers(200, panelLoginAnswerSchema)
  async loginTotp(
    @Body() body: MfaLoginDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<PanelLoginResponse | MfaRequiredResponse> {
    this.origins.checkIfPresent(request);
    const outcome = await this.logins.mfaLogin(body, this.panel(request, origin));
    return encodePanel(outcome, reply);
  }

  @Public()
  @Post('token')
  @ApiOperation({ summary: 'Automation login: an access and a refresh token (or asks for the TOTP step)' })
  @HttpCode(200)
  @Answers(200, tokenLoginAnswerSchema)
  async token(
    @Body() body: LoginDto,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<TokenPair | MfaRequiredResponse> {
    return encodeApi(await this.logins.passwordLogin(body, { channel: 'api', origin }));
  }

  @Public()
  @Post('token/totp')
  @ApiOperation({ summary: 'Automation login, second step: the TOTP or a recovery code' })
  @HttpCode(200)
  @Answers(200, tokenLoginAnswerSchema)
  async tokenTotp(
    @Body() body: MfaLoginDto,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<TokenPair | MfaRequiredResponse> {
    return encodeApi(await this.logins.mfaLogin(body, { channel: 'api', origin }));
  }

  @Public()
  @Post('refresh')
  @ApiOperation({ summary: 'Rotate a refresh token (a reused one revokes its whole family)' })
  @HttpCode(200)
  @Answers(200, tokenPairSchema)
  refresh(@Body() body: RefreshDto, @CurrentOrigin() origin: RequestOrigin): Promise<TokenPair> {
    return this.refreshTokens.refresh(body.refreshToken, origin);
  }

  /**
   * Ends the refresh family of `refreshToken` when given, else the browser session of the cookie
   * (which must pass the CSRF and Origin checks like any console state change). Clears the cookies.
   */
  @Public()
  @Post('logout')
  @ApiOperation({ summary: 'End the console session, or a refresh-token family' })
  @HttpCode(204)
  async logout(
    @Body() body: LogoutDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @CurrentOrigin() origin: RequestOrigin,
  ): Promise<void> {
    await this.logouts.logout({ refreshToken: body.refreshToken, request }, origin);
    clearSessionCookies(reply);
  }

  private panel(request: FastifyRequest, origin: RequestOrigin) {
    const presentedSessionToken = sessionTokenOf(request);
    return {
      channel: 'panel' as const,
      origin,
      ...(presentedSessionToken === undefined ? {} : { presentedSessionToken }),
    };
  }
}

function encodePanel(outcome: LoginOutcome, reply: FastifyReply): PanelLoginResponse | MfaRequiredResponse {
  if (outcome.kind === 'mfa_required') return { mfaRequired: true, mfaToken: outcome.mfaToken };
  if (outcome.kind !== 'session') throw new Error('a console login must open a session');
  setSessionCookies(reply, outcome.session);
  const { user } = outcome;
  return {
    mfaRequired: false,
    user: {
      id: user.id,
      username: user.username,
      role: user.role,
      passwordMustChange: user.passwordMustChange,
    },
    csrfToken: outcome.session.csrfToken,
    expiresAt: outcome.session.session.expiresAt.toISOString(),
  };
}

function encodeApi(outcome: LoginOutcome): TokenPair | MfaRequiredResponse {
  if (outcome.kind === 'mfa_required') return { mfaRequired: true, mfaToken: outcome.mfaToken };
  if (outcome.kind !== 'tokens') throw new Error('an API login must issue tokens');
  return outcome.tokens;
}
