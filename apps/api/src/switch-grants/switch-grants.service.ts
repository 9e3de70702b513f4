import { Inject, Injectable } from '@nestjs/common';
import { verifyDetached } from '@switchboard/crypto';
import { DeviceAdminRepository } from '@switchboard/data-access';

import { API_CLOCK, API_CONFIG } from '../app.tokens';
import { AuditLog } from '../audit/audit-log';
import { type RequestOrigin } from '../auth/principal';
import { type ApiConfig } from '../config';
import { type Repositories } from '../database/repositories';
import { DependencyUnavailableException } from '../errors/dependency-outage';
import { RedisConnection } from '../redis/redis.connection';
import { type Clock } from '../time/clock';
import { type SwitchGrantBody } from './switch-grant.dto';

/** How far the device's clock may be from ours; beyond it the answer carries our time to re-sign with. */
export const SWITCH_GRANT_SKEW_SECONDS = 300;
/** How long a grant is kept for the reverse connection it announces (which follows within seconds). */
export const SWITCH_GRANT_TTL_SECONDS = 300;

/** `{accepted}` as the client reads it; `server_time` only for a clock it should re-sign with. */
export interface SwitchGrantAnswer {
  readonly accepted: boolean;
  readonly server_time?: number;
}

/**
 * Switch-sides grants (docs/client-api.md §8): before a desktop client switches sides it announces,
 * signed with its own device key, the verifier of the code the other side will present when it
 * connects back. A grant is kept only if the signature verifies against the public key the device
 * registered with signal, so no one else can announce a switch for it; it lives in Redis under the
 * verifier for a few minutes. A mismatched clock is answered with our time, once, as the client
 * expects; anything else refused is `{accepted: false}`.
 */
@Injectable()
export class SwitchGrantsService {
  constructor(
    @Inject(DeviceAdminRepository) private readonly devices: Repositories['devices'],
    private readonly redis: RedisConnection,
    private readonly auditLog: AuditLog,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async register(body: SwitchGrantBody, origin: RequestOrigin): Promise<SwitchGrantAnswer> {
    const now = Math.floor(this.clock.now().getTime() / 1000);
    if (Math.abs(now - Number(body.timestamp)) > SWITCH_GRANT_SKEW_SECONDS) {
      return { accepted: false, server_time: now };
    }
    const device = await this.devices.findDetails(body.id);
    if (
      device === null ||
      device.pk === null ||
      device.banned ||
      device.deletedAt !== null ||
      device.revokedAt !== null
    ) {
      return { accepted: false };
    }
    const signed = Buffer.from(`switch-grant\0${body.id}\0${body.switch_code_verifier}\0${body.timestamp}`);
    if (!verifyDetached(signed, Buffer.from(body.signature, 'base64'), device.pk)) return { accepted: false };
    // Chained first: a grant that cannot be audited is not kept (the client's next switch tries again).
    await this.auditLog.record({
      actorType: 'device',
      actorId: body.id,
      action: 'device.switch_grant',
      targetType: 'device',
      targetId: body.id,
      ip: origin.ip,
      details: { verifier: body.switch_code_verifier },
    });
    try {
      await this.redis.client.set(
        `${this.config.REDIS_KEY_PREFIX}:switch-grant:${body.switch_code_verifier}`,
        JSON.stringify({ deviceId: body.id, at: now }),
        'EX',
        SWITCH_GRANT_TTL_SECONDS,
      );
    } catch {
      throw new DependencyUnavailableException('redis', 'Temporarily unable to record the grant; try again');
    }
    return { accepted: true };
  }
}
