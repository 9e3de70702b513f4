import { type RelayIpListEntryRecord } from '@switchboard/data-access';
import { z } from 'zod';

import { isoTimestamp, responseSchema } from '../http/response-schemas';

export const relayIpListEntryViewSchema = responseSchema(
  'RelayIpListEntry',
  z.object({
    list: z
      .enum(['blocklist', 'blacklist'])
      .describe('blocklist: refused; blacklist: slowed to LIMIT_SPEED.'),
    address: z.string().describe('IPv4 dotted or IPv6 in RFC 5952 form, as the relays compare it.'),
    note: z.string(),
    createdAt: isoTimestamp,
    createdBy: z.object({ id: z.uuid(), username: z.string() }).nullable(),
  }),
);
export type RelayIpListEntryView = z.output<typeof relayIpListEntryViewSchema>;

export const relayIpListEntriesSchema = responseSchema(
  'RelayIpListEntries',
  z.array(relayIpListEntryViewSchema),
);

export function relayIpListEntryView(entry: RelayIpListEntryRecord): RelayIpListEntryView {
  return {
    list: entry.list,
    address: entry.address,
    note: entry.note,
    createdAt: entry.createdAt.toISOString(),
    createdBy: entry.createdBy && { ...entry.createdBy },
  };
}
