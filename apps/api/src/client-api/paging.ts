/*
 * The client's paging (docs/client-api.md "Paging pattern"): `current` = 1, 2, … and
 * `pageSize` (the client sends 100); it reads `data` only when the response carries `total`.
 */

export const CLIENT_PAGE_SIZE_MAX = 100;
/** Far beyond any real list; keeps the offset a safe integer. */
export const CLIENT_PAGE_MAX = 1_000_000;

export interface ClientPage {
  /** 1-based page number. */
  readonly current: number;
  readonly pageSize: number;
  /** Rows to skip: (current - 1) * pageSize. */
  readonly offset: number;
}

export interface ClientPagedResponse<T> {
  readonly total: number;
  readonly data: readonly T[];
}

/**
 * `current`/`pageSize` from a query string. Lenient, as the client never sends anything else: a
 * missing or unreadable value takes the default, a number out of bounds is clamped.
 */
export function parseClientPage(query: { current?: unknown; pageSize?: unknown }): ClientPage {
  const current = clamp(positiveInteger(query.current) ?? 1, 1, CLIENT_PAGE_MAX);
  const pageSize = clamp(positiveInteger(query.pageSize) ?? CLIENT_PAGE_SIZE_MAX, 1, CLIENT_PAGE_SIZE_MAX);
  return { current, pageSize, offset: (current - 1) * pageSize };
}

/** Always both keys: without `total` the client ignores `data`. */
export function clientPagedResponse<T>(total: number, data: readonly T[]): ClientPagedResponse<T> {
  return { total, data };
}

function positiveInteger(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) return undefined;
  const parsed = Number(value);
  return parsed >= 1 ? parsed : undefined;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
