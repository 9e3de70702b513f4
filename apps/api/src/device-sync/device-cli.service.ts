import { Injectable } from '@nestjs/common';
import { type JsonObject } from '@switchboard/audit';

import { auditActorOf } from '../auth/principal';
import { ChangeRunner } from '../changes/change-runner';
import { type Actor } from '../auth/principal';
import { EffectiveStrategies } from '../strategies/effective-strategies';
import {
  type AssignmentOutcome,
  assignmentDetails,
  type AssignmentRequest,
  DeviceAssignments,
} from './device-assignments';
import { type DeviceCliBody } from './device-sync.dto';
import { refusalOf } from './device-sync.service';
import { SyncIdentities } from './sync-identities';

/** A refusal the CLI prints as is (the client shows any non-empty body verbatim). */
export class DeviceCliRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceCliRefusal';
  }
}

const NOT_APPLIED_TEXT: Record<string, string> = {
  userName: 'no user named',
  strategyName: 'no strategy named',
  deviceGroupName: 'no device group named',
  addressBook: 'no shared address book named',
};

/**
 * `rustdesk --assign --token <API key> ...` (src/core_main.rs): all or nothing, in one transaction
 * with its audit entry. Unlike a sysinfo preset it replaces what is there (mode `override`), and an
 * unknown name refuses the whole request with a sentence the operator can act on.
 */
@Injectable()
export class DeviceCliService {
  constructor(
    private readonly changes: ChangeRunner,
    private readonly assignments: DeviceAssignments,
    private readonly identities: SyncIdentities,
    private readonly strategies: EffectiveStrategies,
  ) {}

  async assign(body: DeviceCliBody, actor: Actor): Promise<void> {
    const request = requestOf(body);
    if (Object.keys(request).length === 0) throw new DeviceCliRefusal(400, 'Nothing to assign');
    await this.changes.run(async (repositories) => {
      const identity = await repositories.deviceSync.findIdentity(body.id);
      const refusal = refusalOf(identity, body.uuid);
      if (refusal === 'ID_NOT_FOUND')
        throw new DeviceCliRefusal(404, `Device ${body.id} is not known to this server`);
      if (refusal === 'UUID_MISMATCH')
        throw new DeviceCliRefusal(403, `Device ${body.id} is registered by another machine`);
      if (refusal !== null) throw new DeviceCliRefusal(403, `Device ${body.id} is banned or deleted`);
      const device = await repositories.deviceSync.lockAssignee(body.id);
      if (device === null) throw new DeviceCliRefusal(404, `Device ${body.id} is not known to this server`);
      const outcomes = await this.assignments.apply(repositories, device, request, 'override');
      const problems = outcomes.filter(
        (outcome) => outcome.status === 'unknown' || outcome.status === 'unsupported',
      );
      // Throwing rolls back whatever the other targets wrote.
      if (problems.length > 0) throw new DeviceCliRefusal(400, problems.map(problemText).join('; '));
      const details: JsonObject = {
        source: 'cli',
        ...assignmentDetails(outcomes),
        userAgent: actor.origin.userAgent,
      };
      return {
        result: undefined,
        audit: [
          {
            ...auditActorOf(actor.principal),
            action: 'device.assign',
            targetType: 'device',
            targetId: body.id,
            ip: actor.origin.ip,
            details,
          },
        ],
      };
    });
    this.identities.forget(body.id);
    this.strategies.invalidate();
  }
}

function problemText(outcome: AssignmentOutcome): string {
  return `${NOT_APPLIED_TEXT[outcome.target] ?? outcome.target} ${outcome.value}`;
}

function requestOf(body: DeviceCliBody): AssignmentRequest {
  const request: AssignmentRequest = {
    userName: body.user_name,
    strategyName: body.strategy_name,
    deviceGroupName: body.device_group_name,
    note: body.note,
    deviceUsername: body.device_username,
    deviceName: body.device_name,
    addressBook:
      body.address_book_name === undefined
        ? undefined
        : {
            name: body.address_book_name,
            tag: body.address_book_tag,
            alias: body.address_book_alias,
            password: body.address_book_password,
            note: body.address_book_note,
          },
  };
  return Object.fromEntries(Object.entries(request).filter(([, value]) => value !== undefined));
}
