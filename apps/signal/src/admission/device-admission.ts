import { type EventSubscriber } from '@switchboard/events';
import { type Logger, type Registry } from '@switchboard/observability';

import { type DeviceWriterPort, type RegistrationPolicy } from '../ports';
import {
  type DeviceAccessControlOptions,
  DeviceAccessControl,
  type DeviceAccessSource,
} from './device-access-control';
import {
  DeviceWriteBehind,
  type DeviceWriteBehindOptions,
  type DeviceWriteStore,
} from './device-write-behind';

export interface DeviceAdmissionOptions {
  /** A DeviceRepository (from @switchboard/data-access) serves both. */
  readonly devices: DeviceAccessSource & DeviceWriteStore;
  readonly events: EventSubscriber;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly defaultPolicy: RegistrationPolicy;
  /** Tuning of either half; the links between them are made here. */
  readonly access?: Partial<Omit<DeviceAccessControlOptions, 'devices' | 'events' | 'logger' | 'registry'>>;
  readonly writer?: Partial<Omit<DeviceWriteBehindOptions, 'store' | 'logger' | 'registry'>>;
}

export interface DeviceAdmission {
  /** The core's DeviceAccessPort (also: ready, registrationPolicy, isKnownDevice). */
  readonly access: DeviceAccessControl;
  /** The core's DeviceWriterPort: an id change moves the index entry at once and the row behind. */
  readonly writer: DeviceWriterPort;
  readonly writeBehind: DeviceWriteBehind;
  /** Call before the event subscriber starts (handlers are already registered; this starts timers). */
  start(): void;
  /** Stops listening, then writes what is pending within `deadlineMs`. */
  stop(deadlineMs?: number): Promise<void>;
}

/**
 * Admission and write-behind wired to each other: new rows get the admission the live policy
 * dictates, a device asking under `approval` is written as pending, every reload first flushes the
 * write-behind (so the snapshot holds the devices signal itself wrote), and a rename moves both.
 */
export function createDeviceAdmission(options: DeviceAdmissionOptions): DeviceAdmission {
  const { devices, events, logger, registry } = options;
  const writeBehind: DeviceWriteBehind = new DeviceWriteBehind({
    store: devices,
    logger,
    registry,
    admissionForNewDevices: () => access.admissionForNewDevices(),
    ...options.writer,
  });
  const access: DeviceAccessControl = new DeviceAccessControl({
    devices,
    events,
    logger,
    registry,
    pending: writeBehind,
    beforeReload: () => writeBehind.flush(),
    ...options.access,
    defaultPolicy: options.defaultPolicy,
  });
  const writer: DeviceWriterPort = {
    recordRegistration: (registration) => {
      access.noteRegistered(registration.id, registration.uuid);
      writeBehind.recordRegistration(registration);
    },
    recordSeen: (id, ip, at) => writeBehind.recordSeen(id, ip, at),
    recordIdChange: (oldId, newId, at) => {
      access.moveDevice(oldId, newId);
      writeBehind.recordIdChange(oldId, newId, at);
    },
  };
  return {
    access,
    writer,
    writeBehind,
    start() {
      writeBehind.start();
      access.start();
    },
    async stop(deadlineMs) {
      await access.stop();
      await writeBehind.stop(deadlineMs);
    },
  };
}
