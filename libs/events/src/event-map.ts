import { z } from 'zod';

import { DEVICE_ID_PATTERN } from '@switchboard/domain';

const deviceId = z.string().regex(DEVICE_ID_PATTERN, 'not a RustDesk id');
// Who did it: a user id, an API key prefix or a system actor such as "system:expiry".
const actor = z.string().min(1).max(128);

/**
 * Every event the control plane publishes, keyed by its name (a PascalCase noun in the past tense).
 * The schemas are the single source of truth: the types below are inferred from them, the publisher
 * validates before sending and every subscriber validates what it receives.
 * Objects are not strict so an older subscriber tolerates fields added by a newer publisher.
 */
export const eventSchemas = {
  DeviceBanned: z.object({ deviceId, reason: z.string().max(512).optional(), actor }),
  DeviceUnbanned: z.object({ deviceId, actor }),
  /** `cascade` lists the linked device ids revoked with it (DeviceLink), not including `deviceId`. */
  DeviceRevoked: z.object({ deviceId, cascade: z.array(deviceId), actor }),
  DeviceDeleted: z.object({ deviceId, actor, hard: z.boolean() }),
  DeviceApproved: z.object({ deviceId, actor }),
  /**
   * Not in the brief's list: `POST /api/peers/{id}/change-id` renames a device, and signal must move
   * the peer-map entry (and any deny-set entry) from the old id to the new one.
   */
  DeviceIdChanged: z.object({ oldDeviceId: deviceId, newDeviceId: deviceId, actor }),
  ConfigChanged: z.object({ key: z.string().regex(/^[a-zA-Z0-9._-]{1,64}$/), value: z.json(), actor }),
  /** So other api replicas drop their cached sessions for this user. */
  UserSessionsRevoked: z.object({ userId: z.string().min(1), actor }),
  /** hbbr's two list files: `blocklist` refuses an IP, `blacklist` limits its speed (docs/protocol.md §6). */
  RelayBlocklistChanged: z.object({
    list: z.enum(['blocklist', 'blacklist']),
    action: z.enum(['add', 'remove']),
    entry: z.string().min(1).max(128),
  }),
} as const;

export type EventSchemas = typeof eventSchemas;
export type EventType = keyof EventSchemas;
export type EventMap = { [K in EventType]: z.output<EventSchemas[K]> };
export type EventPayload<T extends EventType> = EventMap[T];

export const eventTypes = Object.keys(eventSchemas) as EventType[];

export function isEventType(value: string): value is EventType {
  return Object.hasOwn(eventSchemas, value);
}
