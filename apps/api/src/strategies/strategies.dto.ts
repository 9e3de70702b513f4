import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { deviceIdSchema } from '../devices/devices.dto';
import { isoTimestamp, responseSchema } from '../http/response-schemas';
import { strategyOptionsSchema } from './strategy-options';

const strategyName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[^\p{Cc}]+$/u, 'must not contain control characters');

export class StrategyIdParams extends createZodDto(z.object({ id: z.uuid('must be a strategy id') })) {}

export class CreateStrategyBody extends createZodDto(
  z.strictObject({
    name: strategyName,
    note: z.string().max(4_000).nullable().optional(),
    options: strategyOptionsSchema.default({}),
  }),
) {}

export class UpdateStrategyBody extends createZodDto(
  z
    .strictObject({
      name: strategyName.optional(),
      note: z.string().max(4_000).nullable().optional(),
      /** Replaces the whole set. */
      options: strategyOptionsSchema.optional(),
    })
    .refine((body) => Object.values(body).some((value) => value !== undefined), 'nothing to change'),
) {}

/** Exactly one target: a device (RustDesk id), a user (username or id) or a device group (name or id). */
export const strategyTargetSchema = z
  .strictObject({
    device: deviceIdSchema.optional(),
    user: z.string().min(1).max(64).optional(),
    deviceGroup: z.string().min(1).max(128).optional(),
  })
  .refine(
    (target) =>
      [target.device, target.user, target.deviceGroup].filter((value) => value !== undefined).length === 1,
    'name exactly one of device, user, deviceGroup',
  );

export class StrategyTargetBody extends createZodDto(strategyTargetSchema) {}

/** A strategy as the operator API shows it. */
export const strategyViewSchema = responseSchema(
  'Strategy',
  z.object({
    id: z.uuid(),
    name: z.string(),
    note: z.string().nullable(),
    options: z.record(z.string(), z.string()).describe('RustDesk client option keys and their values.'),
    createdAt: isoTimestamp,
    updatedAt: isoTimestamp,
  }),
);
export type StrategyView = z.output<typeof strategyViewSchema>;

export const strategyListSchema = responseSchema('StrategyList', z.array(strategyViewSchema));
