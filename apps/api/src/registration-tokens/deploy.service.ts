import { Inject, Injectable } from '@nestjs/common';
import {
  type AuditAppendInput,
  RegistrationTokenRepository,
  type RegistrationTokenSecret,
} from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';

import { API_CLOCK } from '../app.tokens';
import { AuditLog } from '../audit/audit-log';
import { type RequestOrigin } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';
import { DeployRefusal } from './deploy-refusal';
import { DeployThrottle } from './deploy-throttle';
import { DUMMY_TOKEN_HASH, registrationTokenPrefix, tokenMatches } from './registration-token-secret';
import { tokenStatus } from './registration-token-view';
import { type DeployDeviceBody } from './registration-tokens.dto';

const BEARER = /^Bearer +(\S+) *$/;

const STATUS_REFUSALS = {
  revoked: 'Registration token revoked',
  expired: 'Registration token expired',
  used_up: 'Registration token has no uses left',
} as const;

/**
 * `POST /api/devices/deploy` (`rustdesk --deploy --token <t> [--id <id>]`): a device presents a
 * registration token and is admitted under its id, uuid and key, which the `token` registration
 * policy then requires (signal binds the id to that uuid). Banned, revoked and deleted ids are never
 * admitted this way, and an id already held by another machine (another uuid) is not taken over.
 */
@Injectable()
export class DeployService {
  constructor(
    @Inject(RegistrationTokenRepository) private readonly tokens: Repositories['registrationTokens'],
    private readonly changes: ChangeRunner,
    private readonly auditLog: AuditLog,
    private readonly throttle: DeployThrottle,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async deploy(
    authorization: string | undefined,
    body: DeployDeviceBody,
    origin: RequestOrigin,
  ): Promise<void> {
    const presented = BEARER.exec(authorization ?? '')?.[1];
    if (presented === undefined) {
      throw new DeployRefusal(401, 'A registration token is required (Authorization: Bearer <token>)');
    }
    await this.throttle.assertAllowed(origin.ip);
    const token = await this.findToken(presented);
    try {
      if (token === null) throw new DeployRefusal(401, 'Invalid registration token');
      await this.admit(token, body, origin);
    } catch (error) {
      if (error instanceof DeployRefusal) await this.recordRefusal(token, body.id, error, origin);
      if (token === null) await this.countInvalidToken(body.id, origin);
      throw error;
    }
  }

  private async findToken(presented: string): Promise<RegistrationTokenSecret | null> {
    const prefix = registrationTokenPrefix(presented);
    const token = prefix === null ? null : await this.tokens.findByPrefix(prefix);
    // Always one digest comparison, so a wrong prefix and a wrong secret take the same time.
    const matches = tokenMatches(presented, token?.tokenHash ?? DUMMY_TOKEN_HASH);
    return token !== null && matches ? token : null;
  }

  private async admit(
    token: RegistrationTokenSecret,
    body: DeployDeviceBody,
    origin: RequestOrigin,
  ): Promise<void> {
    const status = tokenStatus(token, this.clock.now());
    if (status !== 'active') throw new DeployRefusal(403, STATUS_REFUSALS[status]);
    const actor = `registration_token:${token.prefix}`;
    await this.changes.run(async ({ devices, registrationTokens }) => {
      const { device, created } = await devices.lockOrCreate(body.id);
      if (device.banned || device.revoked || device.deleted) {
        const state = device.revoked ? 'revoked' : device.banned ? 'banned' : 'deleted';
        throw new DeployRefusal(403, `Device ${body.id} is ${state} and cannot be deployed`);
      }
      if (device.uuid !== null && !Buffer.from(device.uuid).equals(body.uuid)) {
        throw new DeployRefusal(409, `Id ${body.id} is already used by another machine`, 'ID_TAKEN');
      }
      // Running the same deploy again (an install script re-run) is not another use of the token.
      const redeploy = device.admission === 'admitted' && device.registrationTokenId === token.id;
      const now = this.clock.now();
      if (!redeploy && (await registrationTokens.consumeUse(token.id, now)) === null) {
        // Lost a race for the last use, or revoked/expired since the check above.
        throw new DeployRefusal(403, 'Registration token has no uses left or is no longer valid');
      }
      await devices.admitDeployed(device.rowId, {
        uuid: body.uuid,
        pk: body.pk,
        registrationTokenId: token.id,
        admittedBy: actor,
        at: now,
      });
      return {
        result: undefined,
        audit: [
          deployEntry(token, 'device.deploy', body.id, origin, {
            tokenId: token.id,
            tokenName: token.name,
            created,
            redeploy,
            previousAdmission: created ? null : device.admission,
          }),
        ],
        events: [{ type: 'DeviceApproved', payload: { deviceId: body.id, actor } }],
      };
    });
  }

  /** Registration refusals are security-relevant (docs/architecture.md "Audit"); the refused change itself rolled back. */
  /** One more guess from this IP; the one that reaches the limit says so in the audit log. */
  private async countInvalidToken(deviceId: string, origin: RequestOrigin): Promise<void> {
    const { failures, limitReached } = await this.throttle.countFailure(origin.ip);
    if (!limitReached) return;
    await this.auditLog.record(deployEntry(null, 'device.deploy_throttled', deviceId, origin, { failures }));
  }

  private async recordRefusal(
    token: RegistrationTokenSecret | null,
    deviceId: string,
    refusal: DeployRefusal,
    origin: RequestOrigin,
  ): Promise<void> {
    await this.auditLog.record(
      deployEntry(token, 'device.deploy_refused', deviceId, origin, {
        reason: refusal.reason,
        status: refusal.getStatus(),
      }),
    );
  }
}

function deployEntry(
  token: RegistrationTokenSecret | null,
  action: string,
  deviceId: string,
  origin: RequestOrigin,
  details: JsonObject,
): AuditAppendInput {
  return {
    // actor_type holds 16 characters: `reg_token`, named by the token's public prefix.
    actorType: token === null ? 'anonymous' : 'reg_token',
    actorId: token?.prefix ?? null,
    action,
    targetType: 'device',
    targetId: deviceId,
    ip: origin.ip,
    details: { ...details, userAgent: origin.userAgent },
  };
}
