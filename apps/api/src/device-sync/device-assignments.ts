import { Inject, Injectable } from '@nestjs/common';
import { type DeviceAssignee } from '@switchboard/data-access';
import { type JsonObject } from '@switchboard/audit';
import { type Logger } from '@switchboard/observability';

import { AddressBookPresetsService } from '../address-books/address-book-presets.service';
import { API_CLOCK, API_LOGGER } from '../app.tokens';
import { type Repositories } from '../database/repositories';
import { type Clock } from '../time/clock';

/**
 * `fill`: a sysinfo preset, re-sent at every client start, sets a field only while it is unset, so an
 * operator's later choice is never undone by a restart. `override`: `rustdesk --assign`, an explicit
 * act of someone holding an API key, replaces whatever is there.
 */
export type AssignmentMode = 'fill' | 'override';

/** The address-book fields of a preset or `--assign` (src/hbbs_http/sync.rs, src/core_main.rs). */
export interface AddressBookAssignment {
  readonly name: string;
  readonly tag?: string | undefined;
  readonly alias?: string | undefined;
  readonly password?: string | undefined;
  readonly note?: string | undefined;
}

/** Everything a preset or `--assign` may ask for; absent fields are left alone. */
export interface AssignmentRequest {
  readonly userName?: string | undefined;
  readonly strategyName?: string | undefined;
  readonly deviceGroupName?: string | undefined;
  readonly note?: string | undefined;
  readonly deviceUsername?: string | undefined;
  readonly deviceName?: string | undefined;
  readonly addressBook?: AddressBookAssignment | undefined;
}

export type AssignmentStatus =
  /** Changed; goes into the audit entry. */
  | 'assigned'
  /** Already so, or (fill) already set to something else. */
  | 'unchanged'
  /** No user, strategy, group or address book of that name. */
  | 'unknown'
  /** This server cannot do it (yet). */
  | 'unsupported';

export interface AssignmentOutcome {
  readonly target: keyof AssignmentRequest;
  readonly status: AssignmentStatus;
  readonly value: string;
}

const NOTE_LIMIT = 4_000;
const NAME_LIMIT = 255;

/**
 * Assigning a device to a user, strategy, device group, note, reported names and address book, as
 * RustDesk Pro does for `preset-*` sysinfo keys and `rustdesk --assign`. One method per target, each
 * working on the repositories of the caller's transaction, so the caller commits them with its audit
 * entry; adding a target is one more method and one more line in `apply`.
 */
@Injectable()
export class DeviceAssignments {
  private readonly log: Logger;

  constructor(
    private readonly addressBookPresets: AddressBookPresetsService,
    @Inject(API_CLOCK) private readonly clock: Clock,
    @Inject(API_LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'device-assignments' });
  }

  async apply(
    repositories: Repositories,
    device: DeviceAssignee,
    request: AssignmentRequest,
    mode: AssignmentMode,
  ): Promise<AssignmentOutcome[]> {
    const outcomes: AssignmentOutcome[] = [];
    if (request.userName !== undefined)
      outcomes.push(await this.owner(repositories, device, request.userName, mode));
    if (request.strategyName !== undefined)
      outcomes.push(await this.strategy(repositories, device, request.strategyName, mode));
    if (request.deviceGroupName !== undefined)
      outcomes.push(await this.deviceGroup(repositories, device, request.deviceGroupName, mode));
    if (request.note !== undefined) outcomes.push(await this.note(repositories, device, request.note, mode));
    if (request.deviceUsername !== undefined)
      outcomes.push(await this.reportedName(repositories, device, 'deviceUsername', request.deviceUsername));
    if (request.deviceName !== undefined)
      outcomes.push(await this.reportedName(repositories, device, 'deviceName', request.deviceName));
    if (request.addressBook !== undefined)
      outcomes.push(await this.addressBook(repositories, device, request.addressBook, mode));
    for (const outcome of outcomes) {
      if (outcome.status === 'unknown' || outcome.status === 'unsupported') {
        this.log.info({ deviceId: device.rustdeskId, ...outcome, mode }, 'device assignment not applied');
      }
    }
    return outcomes;
  }

  async owner(
    repositories: Repositories,
    device: DeviceAssignee,
    userName: string,
    mode: AssignmentMode,
  ): Promise<AssignmentOutcome> {
    const user = await repositories.devices.findUser(userName);
    if (user === null) return { target: 'userName', status: 'unknown', value: userName };
    if (device.ownerId === user.id || (mode === 'fill' && device.ownerId !== null))
      return { target: 'userName', status: 'unchanged', value: user.username };
    await repositories.devices.update(device.rowId, { ownerId: user.id });
    return { target: 'userName', status: 'assigned', value: user.username };
  }

  async strategy(
    repositories: Repositories,
    device: DeviceAssignee,
    strategyName: string,
    mode: AssignmentMode,
  ): Promise<AssignmentOutcome> {
    const strategy = await repositories.strategies.findByName(strategyName);
    if (strategy === null) return { target: 'strategyName', status: 'unknown', value: strategyName };
    const target = { kind: 'device', rowId: device.rowId } as const;
    const current = await repositories.strategies.assignmentOf(target);
    if (current?.strategyId === strategy.id || (mode === 'fill' && current !== null))
      return { target: 'strategyName', status: 'unchanged', value: strategy.name };
    await repositories.strategies.assign(strategy.id, target, this.clock.now());
    return { target: 'strategyName', status: 'assigned', value: strategy.name };
  }

  async deviceGroup(
    repositories: Repositories,
    device: DeviceAssignee,
    groupName: string,
    mode: AssignmentMode,
  ): Promise<AssignmentOutcome> {
    const group = await repositories.devices.findGroup(groupName);
    if (group === null) return { target: 'deviceGroupName', status: 'unknown', value: groupName };
    if (device.groupId === group.id || (mode === 'fill' && device.groupId !== null))
      return { target: 'deviceGroupName', status: 'unchanged', value: group.name };
    await repositories.devices.update(device.rowId, { groupId: group.id });
    return { target: 'deviceGroupName', status: 'assigned', value: group.name };
  }

  async note(
    repositories: Repositories,
    device: DeviceAssignee,
    note: string,
    mode: AssignmentMode,
  ): Promise<AssignmentOutcome> {
    const value = note.slice(0, NOTE_LIMIT);
    if (device.note === value || (mode === 'fill' && device.note !== null && device.note !== ''))
      return { target: 'note', status: 'unchanged', value };
    await repositories.devices.update(device.rowId, { note: value });
    return { target: 'note', status: 'assigned', value };
  }

  /** `--device_username` / `--device_name`: what the console shows as the device's user and host name. */
  async reportedName(
    repositories: Repositories,
    device: DeviceAssignee,
    target: 'deviceUsername' | 'deviceName',
    name: string,
  ): Promise<AssignmentOutcome> {
    const value = name.slice(0, NAME_LIMIT);
    await repositories.deviceSync.setReportedNames(
      device.rowId,
      target === 'deviceName' ? { hostname: value } : { osUsername: value },
    );
    return { target, status: 'assigned', value };
  }

  /**
   * Adding the device to a shared address book by name (`preset-address-book-*`,
   * `--address_book_*`): the address-book module's preset rules (fill what is empty, never undo a
   * user's edit), in this transaction.
   */
  async addressBook(
    repositories: Repositories,
    device: DeviceAssignee,
    addressBook: AddressBookAssignment,
    _mode: AssignmentMode,
  ): Promise<AssignmentOutcome> {
    const applied = await this.addressBookPresets.applyWithin(repositories, {
      rustdeskId: device.rustdeskId,
      bookName: addressBook.name,
      tag: addressBook.tag,
      alias: addressBook.alias,
      password: addressBook.password,
      note: addressBook.note,
    });
    return {
      target: 'addressBook',
      status: applied.outcome === 'book_not_found' ? 'unknown' : 'assigned',
      value: addressBook.name,
    };
  }
}

/** The audit details of a set of outcomes: what changed, and what was asked but not done. */
export function assignmentDetails(outcomes: readonly AssignmentOutcome[]): JsonObject {
  const assigned: Record<string, string> = {};
  const notApplied: Record<string, string> = {};
  for (const outcome of outcomes) {
    if (outcome.status === 'assigned') assigned[outcome.target] = outcome.value;
    else if (outcome.status !== 'unchanged')
      notApplied[outcome.target] = `${outcome.status}: ${outcome.value}`;
  }
  return { assigned, notApplied };
}
