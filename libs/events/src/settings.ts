import { z } from 'zod';

import { REGISTRATION_POLICY_KEY } from '@switchboard/domain';

// The settings the data plane acts on when ConfigChanged announces them. The api validates a PUT of
// a known key against its schema here, and signal parses the same names, so the two can never
// disagree on what a valid value is.

/** `[a-zA-Z0-9._-]{1,64}` (docs/architecture.md "Data model"; settings.key is VARCHAR(64)). */
export const SETTING_KEY_PATTERN = /^[a-zA-Z0-9._-]{1,64}$/;

/** Who may register with signal (docs/architecture.md "Registration"); REGISTRATION_POLICY is the default. */
export const REGISTRATION_POLICIES = ['open', 'token', 'approval', 'locked'] as const;
export type RegistrationPolicy = (typeof REGISTRATION_POLICIES)[number];

/** Known keys and the values they accept; any other (well-formed) key holds any JSON. */
export const knownSettingSchemas: Readonly<Record<string, z.ZodType>> = {
  [REGISTRATION_POLICY_KEY]: z.enum(REGISTRATION_POLICIES, {
    error: `must be one of ${REGISTRATION_POLICIES.join(', ')}`,
  }),
};
