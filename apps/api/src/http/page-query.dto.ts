import { z } from 'zod';

export const DEFAULT_PAGE_SIZE = 50;
/** Larger requests are clamped to this, so no list costs more than one bounded query. */
export const MAX_PAGE_SIZE = 200;
// Beyond this an OFFSET scan is pointless and only costs the database.
const MAX_PAGE = 100_000;

/** `?page=1&pageSize=50` (1-based); the fields other list queries extend. */
export const pageQueryFields = {
  page: z.coerce.number().int().min(1).max(MAX_PAGE).default(1),
  pageSize: z.coerce
    .number()
    .int()
    .min(1)
    .default(DEFAULT_PAGE_SIZE)
    .transform((size) => Math.min(size, MAX_PAGE_SIZE)),
};

/** `?flag=true|false` (a query string has no booleans). */
export const queryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');

export interface Page<T> {
  readonly items: readonly T[];
  readonly total: number;
  readonly page: number;
  readonly pageSize: number;
}
