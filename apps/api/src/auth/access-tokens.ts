import { createSecretKey } from 'node:crypto';

import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { type JwtModuleOptions, JwtService } from '@nestjs/jwt';
import { type UserRecord } from '@switchboard/data-access';

import { API_CLOCK, API_CONFIG, API_RANDOM } from '../app.tokens';
import { type ApiConfig } from '../config';
import { cryptoRandom, type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';

/** What a token is for: `access` opens the API; `mfa` (a login half-way through 2FA) only the TOTP step. */
export type TokenPurpose = 'access' | 'mfa';

export interface TokenClaims {
  readonly sub: string;
  readonly typ: TokenPurpose;
  /** Issued-at, seconds (set by the signer). */
  readonly iat: number;
  /**
   * Issued-at in milliseconds (our own claim `iat_ms`): a revocation cuts off the tokens issued before
   * it to the millisecond, so a token issued just after a password change in the same second lives.
   */
  readonly issuedAtMs: number;
  /** Access tokens: the refresh-token family they belong to (`fam`), dead as soon as it is revoked. */
  readonly familyId?: string;
  /** MFA tokens: a unique id (`jti`), so the token can be used up once it has completed a login. */
  readonly tokenId?: string;
}

interface SignedClaims {
  readonly sub?: unknown;
  readonly typ?: unknown;
  readonly iat?: unknown;
  readonly iat_ms?: unknown;
  readonly fam?: unknown;
  readonly jti?: unknown;
}

const JWT_ALGORITHM = 'HS256';
const ISSUER = 'switchboard';
/** How long a login half-way through 2FA may take to show its code. */
export const MFA_TOKEN_TTL_SECONDS = 5 * 60;

/**
 * The JwtService settings for the api's JWT_SECRET. The key is a KeyObject made once: given the string,
 * jsonwebtoken tries it as a public key first and builds the same secret key after that throws, an
 * exception per verified request. Tokens signed with the string verify with it and vice versa.
 */
export function jwtOptionsFor(jwtSecret: string): JwtModuleOptions {
  return { secret: createSecretKey(Buffer.from(jwtSecret)) };
}

/** Signs and checks the api's JWTs (@nestjs/jwt with the api's JWT_SECRET). */
@Injectable()
export class AccessTokens {
  constructor(
    private readonly jwt: JwtService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource = cryptoRandom,
  ) {}

  get accessTtlSeconds(): number {
    return this.config.ACCESS_TOKEN_TTL_SECONDS;
  }

  /** An access token of one refresh-token family: logout or reuse detection ends it with the family. */
  issueAccessToken(user: Pick<UserRecord, 'id'>, familyId: string): Promise<string> {
    return this.sign(user.id, 'access', this.config.ACCESS_TOKEN_TTL_SECONDS, { fam: familyId });
  }

  /** The 5-minute partial token of a login that still owes its TOTP code; good for one login. */
  issueMfaToken(user: Pick<UserRecord, 'id'>): Promise<string> {
    return this.sign(user.id, 'mfa', MFA_TOKEN_TTL_SECONDS, { jti: this.random.uuid() });
  }

  /** The claims of a genuine, unexpired token of that purpose; 401 for anything else. */
  async verify(token: string, purpose: TokenPurpose): Promise<TokenClaims> {
    let claims: SignedClaims;
    try {
      claims = await this.jwt.verifyAsync<SignedClaims & object>(token, {
        algorithms: [JWT_ALGORITHM],
        issuer: ISSUER,
        clockTimestamp: this.nowSeconds(),
      });
    } catch {
      throw new UnauthorizedException('Invalid or expired token');
    }
    if (
      claims.typ !== purpose ||
      typeof claims.sub !== 'string' ||
      typeof claims.iat !== 'number' ||
      typeof claims.iat_ms !== 'number'
    ) {
      throw new UnauthorizedException('Invalid or expired token');
    }
    return {
      sub: claims.sub,
      typ: purpose,
      iat: claims.iat,
      issuedAtMs: claims.iat_ms,
      ...(typeof claims.fam === 'string' ? { familyId: claims.fam } : {}),
      ...(typeof claims.jti === 'string' ? { tokenId: claims.jti } : {}),
    };
  }

  private sign(
    userId: string,
    purpose: TokenPurpose,
    ttlSeconds: number,
    extra: { fam?: string; jti?: string },
  ): Promise<string> {
    // iat from the api's clock (exp is derived from it), so expiry follows the same time as everything else.
    const nowMs = this.clock.now().getTime();
    return this.jwt.signAsync(
      { typ: purpose, iat: Math.floor(nowMs / 1000), iat_ms: nowMs, ...extra },
      { subject: userId, expiresIn: ttlSeconds, algorithm: JWT_ALGORITHM, issuer: ISSUER },
    );
  }

  private nowSeconds(): number {
    return Math.floor(this.clock.now().getTime() / 1000);
  }
}
