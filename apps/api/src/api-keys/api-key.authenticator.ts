import { timingSafeEqual } from 'node:crypto';

import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { type ApiKeyCredential, ApiKeyRepository } from '@switchboard/data-access';
import { type FastifyRequest } from 'fastify';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { type Authenticator } from '../auth/authenticator';
import { type Principal } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type ApiConfig } from '../config';
import { type Clock } from '../time/clock';
import { apiKeyPrefixOf, hashApiKey } from './api-key-secret';
import { cappedRole } from './role-ceiling';

export const API_KEY_HEADER = 'x-api-key';

// Compared against when no row matches, so an unknown prefix costs the same as a wrong secret.
const DUMMY_DIGEST = hashApiKey('sbk_000000000000_dummy-key-never-issued');

/**
 * `X-API-Key: sbk_<prefix>_<secret>` for automation (channel `api`). The owner is read with the key on
 * every request, so disabling, deleting or demoting a user takes effect on their keys at once; the
 * key then acts with its own role capped by its owner's current one.
 */
@Injectable()
export class ApiKeyAuthenticator implements Authenticator {
  private readonly useIntervalMs: number;

  constructor(
    private readonly keys: ApiKeyRepository,
    private readonly changes: ChangeRunner,
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {
    this.useIntervalMs = config.API_KEY_USE_RECORD_INTERVAL_SECONDS * 1000;
  }

  presentIn(request: FastifyRequest): boolean {
    return typeof request.headers[API_KEY_HEADER] === 'string';
  }

  async authenticate(request: FastifyRequest): Promise<Principal> {
    const presented = request.headers[API_KEY_HEADER];
    return this.authenticateKey(typeof presented === 'string' ? presented : '', request.ip ?? null);
  }

  /**
   * The principal of an API key however it was presented (X-API-Key here, `Authorization: Bearer` on
   * the RustDesk client's routes: auth/api-key-bearer.ts); throws UnauthorizedException otherwise.
   */
  async authenticateKey(key: string, ip: string | null): Promise<Principal> {
    const prefix = apiKeyPrefixOf(key);
    const credential = prefix === null ? null : await this.keys.findCredential(prefix);
    // Both digests are 32 bytes, so timingSafeEqual never throws and the comparison leaks nothing.
    const genuine = timingSafeEqual(hashApiKey(key), credential?.keyHash ?? DUMMY_DIGEST);
    if (!genuine || credential === null) throw new UnauthorizedException('Invalid API key');

    const now = this.clock.now();
    const { key: record, owner } = credential;
    if (record.revokedAt !== null) throw new UnauthorizedException('API key revoked');
    if (record.expiresAt !== null && record.expiresAt <= now) {
      throw new UnauthorizedException('API key expired');
    }
    if (owner === null || owner.disabled)
      throw new UnauthorizedException("The API key's owner cannot sign in");
    const role = cappedRole(record.role, owner.role);
    if (role === null) throw new UnauthorizedException("The API key's role is outside its owner's role");

    await this.recordUse(credential, ip, now);
    return {
      userId: owner.id,
      username: owner.username,
      role,
      channel: 'api',
      credential: 'api_key',
      apiKeyId: record.id,
      apiKeyPrefix: record.prefix,
      passwordMustChange: owner.passwordMustChange,
    };
  }

  /**
   * Last use, coarsely: the row we just read says when it was last recorded, so a busy key costs no
   * write at all until the interval has passed; then one conditional UPDATE (which only one request
   * of a burst wins, on any replica) and its `api_key.used` entry commit together.
   */
  private async recordUse({ key, owner }: ApiKeyCredential, ip: string | null, now: Date): Promise<void> {
    const notSince = new Date(now.getTime() - this.useIntervalMs);
    if (key.lastUsedAt !== null && key.lastUsedAt > notSince) return;
    await this.changes.run(async (repositories) => {
      const recorded = await repositories.apiKeys.recordUse(key.id, ip, now, notSince);
      const entry = {
        actorType: 'api_key',
        actorId: key.prefix,
        action: 'api_key.used',
        targetType: 'api_key',
        targetId: key.id,
        ip,
        details: { ownerId: owner?.id ?? null, name: key.name },
      };
      return { result: undefined, audit: recorded ? [entry] : [] };
    });
  }
}
