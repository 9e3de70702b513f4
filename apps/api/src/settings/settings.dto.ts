import { SETTING_KEY_PATTERN } from '@switchboard/events';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { anyJson, isoTimestamp, responseSchema } from '../http/response-schemas';

export const settingKeyParamSchema = z.strictObject({
  key: z.string().regex(SETTING_KEY_PATTERN, 'must be 1-64 characters of a-z A-Z 0-9 . _ -'),
});

/** Deeper than any real setting; checked before anything recursive (zod, canonical JSON) walks it. */
export const MAX_SETTING_DEPTH = 32;

/** Nesting depth of a parsed JSON value, without recursion (a hostile body nests 100,000 deep). */
function depthWithin(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > max) return false;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return true;
}

/** Any JSON; known keys are checked further, and the size against SETTING_VALUE_MAX_BYTES. */
export const putSettingBodySchema = z.strictObject({
  value: z
    .unknown()
    .refine((value) => depthWithin(value, MAX_SETTING_DEPTH), `must nest at most ${MAX_SETTING_DEPTH} deep`)
    .pipe(z.json()),
});

export class SettingKeyParamDto extends createZodDto(settingKeyParamSchema) {}
export class PutSettingBodyDto extends createZodDto(putSettingBodySchema) {}

export const settingViewSchema = responseSchema(
  'Setting',
  z.object({
    key: z.string(),
    value: anyJson,
    updatedAt: isoTimestamp,
    updatedBy: z.string().nullable().describe('Who set it last: `user:<id>` or `api_key:<prefix>`.'),
  }),
);
export type SettingView = z.output<typeof settingViewSchema>;

export const settingListSchema = responseSchema(
  'SettingList',
  z.object({ settings: z.array(settingViewSchema) }),
);
export type SettingList = z.output<typeof settingListSchema>;
