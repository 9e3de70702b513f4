import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import {
  type AuditAppendInput,
  ApiKeyPrefixTakenError,
  type ApiKeyRecord,
  ApiKeyRepository,
  type UserRole,
} from '@switchboard/data-access';

import { API_CLOCK, API_CONFIG, API_RANDOM } from '../app.tokens';
import { roleHas } from '../auth/permissions';
import { auditActorOf, type Principal, type RequestOrigin } from '../auth/principal';
import { ChangeRunner, type Changes } from '../changes/change-runner';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';
import { type ApiKeyPage, type CreatedApiKey, toApiKeyView } from './api-key.dto';
import { issueApiKey } from './api-key-secret';
import { roleWithin } from './role-ceiling';

export interface NewApiKeyRequest {
  readonly name: string;
  readonly role?: UserRole;
  readonly expiresAt?: string;
}

export interface ApiKeyListRequest {
  readonly all: boolean;
  readonly page: number;
  readonly pageSize: number;
}

// A prefix collision needs two equal draws of 62 bits; a second one in a row means something is broken.
const ISSUE_ATTEMPTS = 3;
const DAY_MS = 86_400_000;

/**
 * API keys are self-service: a key acts for the user who made it, with a role no higher than the one
 * that user acts with. Only a person creates keys (the route refuses API keys), every key expires
 * (API_KEY_DEFAULT_TTL_DAYS unless a date is given) and one user holds at most API_KEY_MAX_PER_USER
 * live keys. `api_key.manage_all` sees and revokes anyone's.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    @Inject(ApiKeyRepository) private readonly keys: Repositories['apiKeys'],
    @Inject(ChangeRunner) private readonly changes: Changes,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
  ) {}

  async create(
    request: NewApiKeyRequest,
    principal: Principal,
    origin: RequestOrigin,
  ): Promise<CreatedApiKey> {
    // The route already refuses keys (SelfService person); the rule is the service's all the same.
    if (principal.credential === 'api_key') {
      throw new ForbiddenException('An API key cannot create API keys; sign in as the user');
    }
    const role = request.role ?? principal.role;
    if (!roleWithin(role, principal.role)) {
      throw new ForbiddenException(`A ${principal.role} cannot create a key with the ${role} role`);
    }
    const now = this.clock.now();
    const expiresAt =
      request.expiresAt === undefined
        ? new Date(now.getTime() + this.config.API_KEY_DEFAULT_TTL_DAYS * DAY_MS)
        : new Date(request.expiresAt);
    if (expiresAt <= now) {
      throw new BadRequestException(['expiresAt: must be in the future']);
    }
    const cap = this.config.API_KEY_MAX_PER_USER;

    for (let attempt = 1; ; attempt++) {
      const issued = issueApiKey(this.random);
      try {
        const key = await this.changes.run(async ({ apiKeys: repository }) => {
          if ((await repository.countLiveForUpdate(principal.userId, now)) >= cap) {
            throw new ConflictException(`At most ${cap} live API keys per user: revoke one first`);
          }
          const created = await repository.create({
            name: request.name,
            prefix: issued.prefix,
            keyHash: issued.hash,
            role,
            ownerId: principal.userId,
            expiresAt,
          });
          const audit = auditEntry(principal, origin, 'api_key.created', created, {
            expiresAt: created.expiresAt?.toISOString() ?? null,
          });
          return { result: created, audit: [audit] };
        });
        return { key: issued.key, apiKey: toApiKeyView(key, now) };
      } catch (error) {
        if (!(error instanceof ApiKeyPrefixTakenError) || attempt >= ISSUE_ATTEMPTS) throw error;
      }
    }
  }

  async list(request: ApiKeyListRequest, principal: Principal): Promise<ApiKeyPage> {
    if (request.all && !roleHas(principal.role, 'api_key.manage_all')) {
      throw new ForbiddenException('Missing permission api_key.manage_all');
    }
    const { items, total } = await this.keys.list({
      ownerId: request.all ? undefined : principal.userId,
      offset: (request.page - 1) * request.pageSize,
      limit: request.pageSize,
    });
    const now = this.clock.now();
    return {
      items: items.map((key) => toApiKeyView(key, now)),
      total,
      page: request.page,
      pageSize: request.pageSize,
    };
  }

  /**
   * Revokes one's own key, or anyone's with api_key.manage_all. Someone else's key is a 404 to
   * everyone else, so ids cannot be probed. Revoking a revoked key changes nothing and succeeds.
   */
  async revoke(id: string, principal: Principal, origin: RequestOrigin): Promise<void> {
    const key = await this.keys.findById(id);
    const mayRevoke =
      key !== null && (key.ownerId === principal.userId || roleHas(principal.role, 'api_key.manage_all'));
    if (key === null || !mayRevoke) throw new NotFoundException('No such API key');
    await this.changes.run(async ({ apiKeys }) => {
      const revoked = await apiKeys.revoke(id, this.clock.now());
      return {
        result: undefined,
        audit: revoked ? [auditEntry(principal, origin, 'api_key.revoked', key)] : [],
      };
    });
  }
}

function auditEntry(
  principal: Principal,
  origin: RequestOrigin,
  action: string,
  key: ApiKeyRecord,
  extra: Record<string, string | null> = {},
): AuditAppendInput {
  return {
    ...auditActorOf(principal),
    action,
    targetType: 'api_key',
    targetId: key.id,
    ip: origin.ip,
    details: {
      prefix: key.prefix,
      name: key.name,
      role: key.role,
      ownerId: key.ownerId,
      userAgent: origin.userAgent,
      ...extra,
    },
  };
}
