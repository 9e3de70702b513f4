import { type AuditEntry, canonicalJson } from '@switchboard/audit';

// The audit log as CSV (RFC 4180: CRLF line ends, fields quoted when they hold a comma, quote, CR or
// LF, quotes doubled). Spreadsheets run a cell that starts with = + - @ TAB or CR as a formula, and
// entries carry attacker-chosen text (usernames, device ids, user agents), so such cells get a
// leading apostrophe (OWASP "CSV injection").

export const AUDIT_CSV_COLUMNS = [
  'seq',
  'at',
  'actor_type',
  'actor_id',
  'action',
  'target_type',
  'target_id',
  'ip',
  'details',
  'key_id',
  'prev_hash',
  'hash',
] as const;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvCell(value: string | null): string {
  if (value === null) return '';
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function csvRow(cells: readonly (string | null)[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

export function auditCsvRow(entry: AuditEntry): string {
  return csvRow([
    entry.seq.toString(),
    entry.at.toISOString(),
    entry.actorType,
    entry.actorId,
    entry.action,
    entry.targetType,
    entry.targetId,
    entry.ip,
    canonicalJson(entry.details),
    entry.keyId,
    entry.prevHash.toString('hex'),
    entry.hash.toString('hex'),
  ]);
}

/**
 * The CSV text of pages fetched one at a time: `nextPage(cursor)` is called only when the reader
 * wants more, so a log of any size streams in bounded memory.
 */
export async function* auditCsv(
  nextPage: (cursor: string | undefined) => Promise<{ entries: AuditEntry[]; nextCursor: string | null }>,
): AsyncGenerator<string> {
  yield csvRow(AUDIT_CSV_COLUMNS);
  let cursor: string | undefined;
  do {
    const page = await nextPage(cursor);
    // One chunk per page: a few hundred rows per write, not one write per row.
    yield page.entries.map(auditCsvRow).join('');
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}
