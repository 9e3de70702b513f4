import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { RefreshTokenRepository, type UserRecord, UserRepository } from '@switchboard/data-access';

import { API_CLOCK, API_CONFIG, API_RANDOM } from '../app.tokens';
import { ChangeRunner } from '../changes/change-runner';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';
import { AccessTokens } from './access-tokens';
import { type TokenPair } from './auth-responses';
import { authAuditEntry } from './auth-audit';
import { newOpaqueToken, sha256 } from './opaque-token';
import { roleMayUse } from './permissions';
import { type RequestOrigin } from './principal';

const INVALID_REFRESH = 'Invalid or expired refresh token';

/**
 * Refresh tokens: opaque, SHA-256 at rest, rotated on every use. The tokens of one login form a
 * family; a token that was already rotated coming back means two parties hold it (one of them a
 * thief), so the whole family is revoked and the event audited.
 */
@Injectable()
export class RefreshTokenService {
  constructor(
    private readonly refreshTokens: RefreshTokenRepository,
    private readonly users: UserRepository,
    private readonly accessTokens: AccessTokens,
    private readonly changes: ChangeRunner,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
  ) {}

  /** A new pair; `familyId` continues a family (rotation), its absence starts one (a login). */
  async issue(
    repositories: Repositories,
    user: Pick<UserRecord, 'id'>,
    origin: RequestOrigin,
    familyId?: string,
  ): Promise<TokenPair & { familyId: string }> {
    const now = this.clock.now();
    const refreshToken = newOpaqueToken(this.random);
    const row = await repositories.refreshTokens.create({
      userId: user.id,
      ...(familyId === undefined ? {} : { familyId }),
      tokenHash: sha256(refreshToken),
      ip: origin.ip,
      userAgent: origin.userAgent,
      now,
      expiresAt: new Date(now.getTime() + this.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
    });
    return {
      accessToken: await this.accessTokens.issueAccessToken(user, row.familyId),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.accessTokens.accessTtlSeconds,
      familyId: row.familyId,
    };
  }

  async refresh(presented: string, origin: RequestOrigin): Promise<TokenPair> {
    const now = this.clock.now();
    const token = await this.refreshTokens.findByTokenHash(sha256(presented));
    if (token === null || token.revokedAt !== null) throw new UnauthorizedException(INVALID_REFRESH);
    if (token.rotatedAt !== null) return this.reuseDetected(token.userId, token.familyId, origin);
    if (token.expiresAt.getTime() <= now.getTime()) throw new UnauthorizedException(INVALID_REFRESH);
    const user = await this.users.findById(token.userId);
    if (user === null || user.disabled || !roleMayUse(user.role, 'api')) {
      throw new UnauthorizedException(INVALID_REFRESH);
    }

    const pair = await this.changes.run(async (repositories) => {
      // Losing this race to a concurrent refresh with the same token is reuse too (checked below).
      if (!(await repositories.refreshTokens.markRotated(token.id, now))) {
        return { result: null, audit: [] };
      }
      const next = await this.issue(repositories, user, origin, token.familyId);
      return {
        result: next,
        audit: [
          authAuditEntry('auth.token_refreshed', {
            userId: user.id,
            origin,
            details: { familyId: token.familyId },
          }),
        ],
      };
    });
    if (pair === null) return this.reuseDetected(token.userId, token.familyId, origin);
    const { familyId: _familyId, ...result } = pair;
    return result;
  }

  /** Logout of a bearer client: the family of the presented token ends, whatever its state. */
  async revokeFamilyOf(presented: string, origin: RequestOrigin): Promise<void> {
    const token = await this.refreshTokens.findByTokenHash(sha256(presented));
    if (token === null || token.revokedAt !== null) throw new UnauthorizedException(INVALID_REFRESH);
    const now = this.clock.now();
    await this.changes.run(async (repositories) => {
      const revoked = await repositories.refreshTokens.revokeFamily(token.familyId, now);
      return {
        result: undefined,
        audit: [
          authAuditEntry('auth.logout', {
            userId: token.userId,
            origin,
            details: { channel: 'api', familyId: token.familyId, revokedTokens: revoked },
          }),
        ],
      };
    });
  }

  private async reuseDetected(userId: string, familyId: string, origin: RequestOrigin): Promise<never> {
    const now = this.clock.now();
    await this.changes.run(async (repositories) => {
      const revoked = await repositories.refreshTokens.revokeFamily(familyId, now);
      return {
        result: undefined,
        audit: [
          authAuditEntry('auth.refresh_reuse_detected', {
            userId,
            origin,
            details: { familyId, revokedTokens: revoked },
          }),
        ],
      };
    });
    throw new UnauthorizedException(INVALID_REFRESH);
  }
}
