// What the numbers in RustDesk's audit posts mean (docs/client-api.md §7.2, §7.3).

export type ClientAuditKind = 'connections' | 'files' | 'alarms';

export const KIND_LABELS: Record<ClientAuditKind, string> = {
  connections: 'Connections',
  files: 'File transfers',
  alarms: 'Alarms',
};

/** The `type` filter's meaning per kind: conn_type, direction or alarm type. */
export const TYPE_LABELS: Record<ClientAuditKind, Readonly<Record<number, string>>> = {
  connections: {
    0: 'Remote control',
    1: 'File transfer',
    2: 'Port forward or RDP',
    3: 'Camera',
    4: 'Terminal',
  },
  files: {
    0: 'From the device',
    1: 'To the device',
  },
  alarms: {
    0: 'IP not on the whitelist',
    1: 'More than 30 failed attempts',
    2: 'Six failed attempts within a minute',
    6: 'IPv6-prefix attempts',
    7: 'Terminal login limit',
    8: 'Terminal login limit',
    9: 'Session-scope violation',
    10: 'ID not on the whitelist',
  },
};

export const TYPE_FILTER_LABELS: Record<ClientAuditKind, string> = {
  connections: 'Connection type',
  files: 'Direction',
  alarms: 'Alarm',
};

const PRIMARY_AUTH: Readonly<Record<number, string>> = {
  1: 'Click to accept',
  2: 'One-time password',
  3: 'Permanent password',
  4: 'Switch sides',
};
const TWO_FACTOR: Readonly<Record<number, string>> = { 1: 'TOTP', 2: 'trusted device' };

export function typeLabel(kind: ClientAuditKind, type: number | null): string {
  if (type === null) return '—';
  return TYPE_LABELS[kind][type] ?? `Type ${type}`;
}

export function authLabel(primary: number | null, twoFactor: number | null): string {
  if (primary === null) return '—';
  const first = PRIMARY_AUTH[primary] ?? `Method ${primary}`;
  if (twoFactor === null) return first;
  return `${first} + ${TWO_FACTOR[twoFactor] ?? `factor ${twoFactor}`}`;
}
