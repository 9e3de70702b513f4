import { Inject, Injectable } from '@nestjs/common';
import {
  type AuditAppendInput,
  RegistrationTokenRepository,
  type RegistrationTokenSecret,
} from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';
import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';

import { API_CLOCK } from '../app.tokens';
import { AuditLog } from '../audit/audit-log';
import { ApiKeyBearer } from '../auth/api-key-bearer';
import { auditActorOf, type Principal, type RequestOrigin } from '../auth/principal';
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

/** Who vouches for a deploy: a registration token, or an API key with device.manage. */
type DeployCredential =
  | { readonly kind: 'token'; readonly token: RegistrationTokenSecret }
  | { readonly kind: 'api_key'; readonly principal: Principal };

/**
 * `POST /api/devices/deploy` (`rustdesk --deploy --token <t> [--id <id>]`): a device presents a
 * registration token, or an operator's API key holding device.manage (what Pro's deploy token is),
 * and is admitted under its id, uuid and key, which the `token` and `approval` registration policies
 * then require (signal binds the id to that uuid). Banned, revoked and deleted ids are never admitted
 * this way, and an id already held by another machine (another uuid) is not taken over. Under the
 * `open` policy nothing needs deploying: NOT_ENABLED, as Pro answers when deployment is not required.
 */
@Injectable()
export class DeployService {
  constructor(
    @Inject(RegistrationTokenRepository) private readonly tokens: Repositories['registrationTokens'],
    private readonly changes: ChangeRunner,
    private readonly auditLog: AuditLog,
    private readonly throttle: DeployThrottle,
    private readonly apiKeyBearer: ApiKeyBearer,
    @Inject(API_CLOCK) private readonly clock: Clock,
  ) {}

  async deploy(
    authorization: string | undefined,
    body: DeployDeviceBody,
    origin: RequestOrigin,
  ): Promise<void> {
    // An API key is a credential of its own kind (sbk_…): invalid, revoked or without device.manage
    // is a 401/403 from ApiKeyBearer; 256 random bits need no guess throttle.
    const principal = await this.apiKeyBearer.authorize(authorization, origin.ip, 'device.manage');
    if (principal !== undefined) {
      await this.admitRecordingRefusal({ kind: 'api_key', principal }, body, origin);
      return;
    }
    const presented = BEARER.exec(authorization ?? '')?.[1];
    if (presented === undefined) {
      throw new DeployRefusal(401, 'A registration token is required (Authorization: Bearer <token>)');
    }
    await this.throttle.assertAllowed(origin.ip);
    const token = await this.findToken(presented);
    if (token === null) {
      const refusal = new DeployRefusal(401, 'Invalid registration token');
      await this.recordRefusal(null, body.id, refusal, origin);
      await this.countInvalidToken(body.id, origin);
      throw refusal;
    }
    await this.admitRecordingRefusal({ kind: 'token', token }, body, origin);
  }

  private async admitRecordingRefusal(
    credential: DeployCredential,
    body: DeployDeviceBody,
    origin: RequestOrigin,
  ): Promise<void> {
    try {
      await this.admit(credential, body, origin);
    } catch (error) {
      if (error instanceof DeployRefusal) await this.recordRefusal(credential, body.id, error, origin);
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
    credential: DeployCredential,
    body: DeployDeviceBody,
    origin: RequestOrigin,
  ): Promise<void> {
    const token = credential.kind === 'token' ? credential.token : null;
    if (token !== null) {
      const status = tokenStatus(token, this.clock.now());
      if (status !== 'active') throw new DeployRefusal(403, STATUS_REFUSALS[status]);
    }
    const actor =
      credential.kind === 'token'
        ? `registration_token:${credential.token.prefix}`
        : `api_key:${credential.principal.apiKeyPrefix ?? credential.principal.userId}`;
    await this.changes.run(async ({ devices, registrationTokens, settings }) => {
      // The policy row is the one signal follows; with none, signal's REGISTRATION_POLICY decides,
      // which the api cannot see, so the deploy goes ahead (an admitted device is admitted anyway).
      const policy = await settings.find(REGISTRATION_POLICY_KEY);
      if (policy?.value === 'open') {
        throw new DeployRefusal(409, 'The server does not require explicit deployment', 'NOT_ENABLED');
      }
      const { device, created } = await devices.lockOrCreate(body.id);
      if (device.banned || device.revoked || device.deleted) {
        const state = device.revoked ? 'revoked' : device.banned ? 'banned' : 'deleted';
        throw new DeployRefusal(403, `Device ${body.id} is ${state} and cannot be deployed`);
      }
      if (device.uuid !== null && !Buffer.from(device.uuid).equals(body.uuid)) {
        throw new DeployRefusal(409, `Id ${body.id} is already used by another machine`, 'ID_TAKEN');
      }
      // Running the same deploy again (an install script re-run) is not another use of the token.
      const redeploy =
        device.admission === 'admitted' && (token === null || device.registrationTokenId === token.id);
      const now = this.clock.now();
      if (token !== null && !redeploy && (await registrationTokens.consumeUse(token.id, now)) === null) {
        // Lost a race for the last use, or revoked/expired since the check above.
        throw new DeployRefusal(403, 'Registration token has no uses left or is no longer valid');
      }
      await devices.admitDeployed(device.rowId, {
        uuid: body.uuid,
        pk: body.pk,
        registrationTokenId: token?.id ?? null,
        admittedBy: actor,
        at: now,
      });
      return {
        result: undefined,
        audit: [
          deployEntry(credential, 'device.deploy', body.id, origin, {
            ...(token === null ? { via: 'api_key' } : { tokenId: token.id, tokenName: token.name }),
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
    credential: DeployCredential | null,
    deviceId: string,
    refusal: DeployRefusal,
    origin: RequestOrigin,
  ): Promise<void> {
    await this.auditLog.record(
      deployEntry(credential, 'device.deploy_refused', deviceId, origin, {
        reason: refusal.reason,
        status: refusal.getStatus(),
      }),
    );
  }
}

function deployEntry(
  credential: DeployCredential | null,
  action: string,
  deviceId: string,
  origin: RequestOrigin,
  details: JsonObject,
): AuditAppendInput {
  // actor_type holds 16 characters: `reg_token`, named by the token's public prefix, or the API key.
  const actor =
    credential === null
      ? { actorType: 'anonymous', actorId: null }
      : credential.kind === 'token'
        ? { actorType: 'reg_token', actorId: credential.token.prefix }
        : auditActorOf(credential.principal);
  return {
    ...actor,
    action,
    targetType: 'device',
    targetId: deviceId,
    ip: origin.ip,
    details: { ...details, userAgent: origin.userAgent },
  };
}
