import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { deviceIdSchema } from '../devices/devices.dto';

export const MAX_TOKEN_USES = 1_000_000;

export class CreateRegistrationTokenBody extends createZodDto(
  z.strictObject({
    name: z
      .string()
      .trim()
      .min(1, 'is required')
      .max(128, 'must be at most 128 characters')
      .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control characters'),
    /** ISO 8601 with an offset, in the future (the service checks, by its clock). Absent: never expires. */
    expiresAt: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset' })
      .transform((value) => new Date(value))
      .nullable()
      .optional(),
    /** Absent or null: unlimited. */
    maxUses: z.number().int().min(1).max(MAX_TOKEN_USES).nullable().optional(),
  }),
) {}

export class RegistrationTokenIdParams extends createZodDto(z.object({ id: z.uuid('must be a uuid') })) {}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Standard base64 (the client's `crate::encode64`) decoding to `min`..`max` bytes. */
function base64Bytes(min: number, max: number, what: string) {
  return z
    .string()
    .max(Math.ceil(max / 3) * 4, `is too long for ${what}`)
    .regex(BASE64, 'must be base64')
    .transform((value) => Buffer.from(value, 'base64'))
    .refine((bytes) => bytes.length >= min && bytes.length <= max, `must be ${what}`);
}

/**
 * What `rustdesk --deploy` posts (src/ui_interface.rs `deploy_device` in rustdesk/rustdesk):
 * `{id, uuid: encode64(get_uuid()), pk: encode64(the Ed25519 public key)}`. Unknown fields are
 * ignored, so a newer client adding one still deploys.
 */
export class DeployDeviceBody extends createZodDto(
  z.object({
    id: deviceIdSchema,
    uuid: base64Bytes(1, 256, '1-256 bytes'),
    pk: base64Bytes(32, 32, 'a 32-byte Ed25519 public key'),
  }),
) {}
