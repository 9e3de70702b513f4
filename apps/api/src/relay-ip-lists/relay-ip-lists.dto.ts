import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { canonicalRelayIp } from './relay-ip-address';

const listName = z.enum(['blocklist', 'blacklist'], "must be 'blocklist' or 'blacklist'");

/** One IP (no range), stored in the form a relay compares (relay-ip-address.ts). */
const relayIp = z
  .string()
  .max(64, 'must be one IP address')
  .transform((value, context) => {
    const canonical = canonicalRelayIp(value);
    if (canonical === null) {
      context.addIssue({ code: 'custom', message: 'must be one IPv4 or IPv6 address (no range)' });
      return z.NEVER;
    }
    return canonical;
  });

export class RelayIpListParams extends createZodDto(z.object({ list: listName })) {}

export class RelayIpListEntryParams extends createZodDto(z.object({ list: listName, address: relayIp })) {}

export class AddRelayIpListEntryBody extends createZodDto(
  z.strictObject({
    address: relayIp,
    /** Why it is listed, for the next operator; optional. */
    note: z
      .string()
      .trim()
      .max(256, 'must be at most 256 characters')
      .regex(/^[^\p{Cc}\p{Cf}]*$/u, 'must not contain control characters')
      .optional(),
  }),
) {}
