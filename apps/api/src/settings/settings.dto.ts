import { SETTING_KEY_PATTERN } from '@switchboard/events';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

export const settingKeyParamSchema = z.strictObject({
  key: z.string().regex(SETTING_KEY_PATTERN, 'must be 1-64 characters of a-z A-Z 0-9 . _ -'),
});

/** Any JSON; known keys are checked further, and the size against SETTING_VALUE_MAX_BYTES. */
export const putSettingBodySchema = z.strictObject({ value: z.json() });

export class SettingKeyParamDto extends createZodDto(settingKeyParamSchema) {}
export class PutSettingBodyDto extends createZodDto(putSettingBodySchema) {}

export interface SettingView {
  key: string;
  value: unknown;
  updatedAt: string;
  updatedBy: string | null;
}
