import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { deviceIdSchema } from '../devices/devices.dto';

// Bodies the RustDesk client posts without authorization (src/hbbs_http/sync.rs) and with an API key
// (src/core_main.rs `--assign`). Plain z.object: a newer client's extra fields are ignored.

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;
const MAX_TEXT = 4_096;
/** Most live connections one heartbeat may list. */
export const MAX_HEARTBEAT_CONNS = 1_000;

const text = z.string().max(MAX_TEXT, `must be at most ${MAX_TEXT} characters`);
/** base64 of the machine uid; generous, since the raw uid's length varies by platform. */
const clientUuid = z.string().min(1, 'is required').max(1_024);
/**
 * An i64 as the client sends it: a JSON number, or (client-api/client-json-body.ts) the exact
 * decimal string of one a double cannot hold. Kept as a decimal string.
 */
const clientInt64 = z
  .union([z.number().int(), z.string().regex(/^-?\d{1,19}$/, 'must be an integer')])
  .transform((value) => (typeof value === 'number' ? BigInt(value).toString() : BigInt(value).toString()));

export class SysinfoBody extends createZodDto(
  z.object({
    id: deviceIdSchema,
    uuid: clientUuid,
    cpu: text.optional(),
    memory: text.optional(),
    os: text.optional(),
    hostname: text.optional(),
    username: text.optional(),
    version: text.optional(),
    'preset-user-name': text.optional(),
    'preset-strategy-name': text.optional(),
    'preset-device-group-name': text.optional(),
    'preset-note': text.optional(),
    'preset-address-book-name': text.optional(),
    'preset-address-book-tag': text.optional(),
    'preset-address-book-alias': text.optional(),
    'preset-address-book-password': text.optional(),
    'preset-address-book-note': text.optional(),
  }),
) {}

/** sysinfo_ver: the current client posts an empty body (see docs/client-api.md §6). */
export class SysinfoVersionBody extends createZodDto(
  z.object({ id: deviceIdSchema.optional(), uuid: clientUuid.optional() }),
) {}

export class HeartbeatBody extends createZodDto(
  z.object({
    id: deviceIdSchema,
    uuid: clientUuid,
    ver: clientInt64.optional(),
    conns: z
      .array(z.number().int().min(INT32_MIN).max(INT32_MAX))
      .max(MAX_HEARTBEAT_CONNS, `must list at most ${MAX_HEARTBEAT_CONNS} connections`)
      .optional(),
    modified_at: clientInt64.default('0'),
  }),
) {}

export class DeviceCliBody extends createZodDto(
  z.object({
    id: deviceIdSchema,
    uuid: clientUuid,
    user_name: text.optional(),
    strategy_name: text.optional(),
    address_book_name: text.optional(),
    address_book_tag: text.optional(),
    address_book_alias: text.optional(),
    address_book_password: text.optional(),
    address_book_note: text.optional(),
    device_group_name: text.optional(),
    note: text.optional(),
    device_username: text.optional(),
    device_name: text.optional(),
  }),
) {}

export class DisconnectBody extends createZodDto(
  z.strictObject({
    /** The connection id the device reports in its heartbeat's `conns` (an i32). */
    connId: z.number().int().min(INT32_MIN).max(INT32_MAX),
  }),
) {}
