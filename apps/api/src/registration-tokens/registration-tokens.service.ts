import {
  BadRequestException,
  ConflictException,
  Inject,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { type AuditAppendInput, RegistrationTokenRepository } from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';

import { API_CLOCK, API_RANDOM } from '../app.tokens';
import { type Actor, actorAuditEntry } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type RandomSource } from '../random/random-source';
import { type Clock } from '../time/clock';
import { generateRegistrationToken } from './registration-token-secret';
import {
  type CreatedRegistrationToken,
  registrationTokenView,
  type RegistrationTokenView,
} from './registration-token-view';
import { type CreateRegistrationTokenBody } from './registration-tokens.dto';

@Injectable()
export class RegistrationTokensService {
  constructor(
    @Inject(RegistrationTokenRepository) private readonly tokens: Repositories['registrationTokens'],
    private readonly changes: ChangeRunner,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_RANDOM) private readonly random: RandomSource,
  ) {}

  async create(body: CreateRegistrationTokenBody, actor: Actor): Promise<CreatedRegistrationToken> {
    const now = this.clock.now();
    if (body.expiresAt !== undefined && body.expiresAt !== null && body.expiresAt <= now) {
      throw new BadRequestException(['expiresAt: must be in the future']);
    }
    const generated = generateRegistrationToken(this.random);
    return this.changes.run(async ({ registrationTokens }) => {
      const record = await registrationTokens.create({
        name: body.name,
        prefix: generated.prefix,
        tokenHash: generated.hash,
        maxUses: body.maxUses ?? null,
        expiresAt: body.expiresAt ?? null,
        createdById: actor.principal.userId,
      });
      return {
        result: { ...registrationTokenView(record, now), token: generated.token },
        audit: [
          entry(actor, 'registration_token.create', record.id, {
            name: record.name,
            prefix: record.prefix,
            maxUses: record.maxUses,
            expiresAt: record.expiresAt?.toISOString() ?? null,
          }),
        ],
      };
    });
  }

  async list(): Promise<RegistrationTokenView[]> {
    const now = this.clock.now();
    return (await this.tokens.list()).map((token) => registrationTokenView(token, now));
  }

  /** Revocation is final: devices it admitted stay admitted (revoke those devices to undo them). */
  async revoke(id: string, actor: Actor): Promise<void> {
    await this.changes.run(async ({ registrationTokens: tokens }) => {
      const token = await tokens.findById(id);
      if (token === null) throw new NotFoundException('Registration token not found');
      if (!(await tokens.revoke(id, this.clock.now())))
        throw new ConflictException('Registration token is already revoked');
      return {
        result: undefined,
        audit: [entry(actor, 'registration_token.revoke', id, { name: token.name, prefix: token.prefix })],
      };
    });
  }
}

function entry(actor: Actor, action: string, tokenId: string, details: JsonObject): AuditAppendInput {
  return actorAuditEntry(actor, action, { type: 'registration_token', id: tokenId }, details);
}
