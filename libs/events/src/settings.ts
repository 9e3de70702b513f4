import { z } from 'zod';

import {
  CLIENT_API_SERVER_KEY,
  CLIENT_ID_SERVER_KEY,
  CLIENT_RELAY_SERVER_KEY,
  REGISTRATION_POLICY_KEY,
} from '@switchboard/domain';

// The settings the data plane acts on when ConfigChanged announces them. The api validates a PUT of
// a known key against its schema here, and signal parses the same names, so the two can never
// disagree on what a valid value is.

/** `[a-zA-Z0-9._-]{1,64}` (docs/architecture.md "Data model"; settings.key is VARCHAR(64)). */
export const SETTING_KEY_PATTERN = /^[a-zA-Z0-9._-]{1,64}$/;

/** Who may register with signal (docs/architecture.md "Registration"); REGISTRATION_POLICY is the default. */
export const REGISTRATION_POLICIES = ['open', 'token', 'approval', 'locked'] as const;
export type RegistrationPolicy = (typeof REGISTRATION_POLICIES)[number];

/** host or host:port as a RustDesk client takes it (no scheme, no path, no spaces). */
const clientServerAddress = z
  .string()
  .max(255)
  .regex(/^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$/, {
    error: 'must be host or host:port',
  });

/** Known keys and the values they accept; any other (well-formed) key holds any JSON. */
export const knownSettingSchemas: Readonly<Record<string, z.ZodType>> = {
  [REGISTRATION_POLICY_KEY]: z.enum(REGISTRATION_POLICIES, {
    error: `must be one of ${REGISTRATION_POLICIES.join(', ')}`,
  }),
  [CLIENT_ID_SERVER_KEY]: clientServerAddress,
  [CLIENT_RELAY_SERVER_KEY]: clientServerAddress,
  [CLIENT_API_SERVER_KEY]: z
    .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
    .max(255),
};
