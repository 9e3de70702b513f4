import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import { type SessionClient, UserRepository } from '@switchboard/data-access';

import { API_CLOCK } from '../app.tokens';
import { authAuditEntry } from '../auth/auth-audit';
import { type LoginContext, type LoginOutcome, LoginService } from '../auth/login.service';
import { type RequestOrigin } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type ClientCaller } from '../client-auth/client-caller';
import { type Clock } from '../time/clock';
import { type ClientLoginDto } from './client-login.dto';
import { clientUserPayload, type ClientUserPayload } from './client-user-payload';

/** The answers of POST /api/login the client's parser accepts (docs/client-api.md §2.3). */
export type ClientLoginReply =
  | { readonly type: 'access_token'; readonly access_token: string; readonly user: ClientUserPayload }
  | {
      readonly type: 'email_check';
      /** `tfa_check`: ask for the authenticator's 6-digit code (a null tfa_type would mean e-mail). */
      readonly tfa_type: 'tfa_check';
      readonly secret: string;
      readonly user: ClientUserPayload;
    };

const SECOND_STEP_TYPES = new Set(['email_code', 'tfa_code']);
const TOTP_CODE = /^\d{6}$/;

/**
 * The RustDesk client's password login and its 2FA step, on the operator login's machinery
 * (LoginService): the same backoff ladder, TOTP replay protection, lockouts and audit, landing in a
 * client session instead of a cookie or a token pair.
 */
@Injectable()
export class ClientLoginService {
  constructor(
    private readonly login: LoginService,
    private readonly users: UserRepository,
    private readonly changes: ChangeRunner,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async logIn(body: ClientLoginDto, origin: RequestOrigin): Promise<ClientLoginReply> {
    const context: LoginContext = { channel: 'api', origin, client: clientOf(body) };
    if (body.secret !== undefined && body.secret !== '') {
      return replyOf(await this.login.mfaLogin(this.secondStep(body), context));
    }
    if (body.type !== undefined && body.type !== 'account') {
      throw new BadRequestException(
        SECOND_STEP_TYPES.has(body.type)
          ? 'The verification step needs the secret of the password step'
          : `Sign-in type "${body.type}" is not supported; use the account password`,
      );
    }
    if (!body.username || !body.password) throw new BadRequestException('Username and password are required');
    return replyOf(
      await this.login.passwordLogin({ username: body.username, password: body.password }, context),
    );
  }

  /** The current user of a live client login (the guard has already checked the token). */
  async currentUser(caller: ClientCaller): Promise<ClientUserPayload> {
    const user = await this.users.findById(caller.userId);
    // The guard saw the user a moment ago; gone since is the same as a dead token.
    if (user === null) throw new BadRequestException('Invalid token');
    return clientUserPayload(user);
  }

  /** Ends the caller's client login (the client forgets its token whatever this answers). */
  async logOut(caller: ClientCaller, origin: RequestOrigin): Promise<void> {
    const now = this.clock.now();
    await this.changes.run(async (repositories) => {
      const ended = await repositories.sessions.revoke(caller.sessionId, now, caller.userId);
      return {
        result: undefined,
        audit: ended
          ? [
              authAuditEntry('auth.logout', {
                userId: caller.userId,
                origin,
                details: { channel: 'client', sessionId: caller.sessionId, clientId: caller.clientId ?? '' },
              }),
            ]
          : [],
      };
    });
  }

  /**
   * The client sends the code twice for TOTP (verificationCode and tfaCode, Sciter an empty
   * tfaCode): take whichever holds it. Six digits are a TOTP code; anything else is tried as a
   * recovery code (the desktop field only takes six digits, other front ends may not).
   */
  private secondStep(body: ClientLoginDto): { mfaToken: string; code?: string; recoveryCode?: string } {
    const code = (body.tfaCode || body.verificationCode || '').trim();
    if (code === '') throw new BadRequestException('Enter the 6-digit code from your authenticator app');
    const mfaToken = body.secret ?? '';
    return TOTP_CODE.test(code) ? { mfaToken, code } : { mfaToken, recoveryCode: code };
  }
}

function replyOf(outcome: LoginOutcome): ClientLoginReply {
  switch (outcome.kind) {
    case 'client':
      return {
        type: 'access_token',
        access_token: outcome.accessToken,
        user: clientUserPayload(outcome.user),
      };
    case 'mfa_required':
      return {
        type: 'email_check',
        tfa_type: 'tfa_check',
        secret: outcome.mfaToken,
        user: clientUserPayload(outcome.user),
      };
    default:
      throw new Error('a client login must open a client session');
  }
}

function clientOf(body: ClientLoginDto): SessionClient {
  return {
    id: body.id ?? null,
    uuid: body.uuid ?? null,
    os: body.deviceInfo?.os ?? null,
    type: body.deviceInfo?.type ?? null,
    name: body.deviceInfo?.name ?? null,
  };
}
