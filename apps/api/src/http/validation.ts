import { type ArgumentMetadata, BadRequestException, Injectable } from '@nestjs/common';
import { createZodValidationPipe } from 'nestjs-zod';
import { type ZodError } from 'zod';

const ZodValidationPipe = createZodValidationPipe({
  createValidationException: (error: unknown) =>
    new BadRequestException(
      (error as ZodError).issues.map((issue) => {
        const path = issue.path.map(String).join('.');
        return path === '' ? issue.message : `${path}: ${issue.message}`;
      }),
    ),
});

// A NUL, or half of a UTF-16 surrogate pair: Postgres refuses the first in text and jsonb (an error,
// so a 500) and Prisma silently rewrites the second as U+FFFD, storing something nobody sent.
const UNSTORABLE_TEXT = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_MESSAGE = 'must not contain NUL bytes or unpaired surrogates';
const CHECKED_SOURCES = new Set<ArgumentMetadata['type']>(['body', 'query', 'param']);

/**
 * Every body, query and route parameter, on the operator API and the RustDesk client API alike:
 * first no string anywhere in it (keys included) may hold text the database cannot store, then the
 * route's zod DTO (nestjs-zod's createZodDto). A bad request is a 400 whose `message` lists every
 * bad field as `path: problem`, so a client can fix all at once.
 */
@Injectable()
export class ApiValidationPipe extends ZodValidationPipe {
  override transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (CHECKED_SOURCES.has(metadata.type)) {
      const bad = unstorableTextPaths(value);
      if (bad.length > 0) throw new BadRequestException(bad.map((path) => `${path}: ${UNSTORABLE_MESSAGE}`));
    }
    return super.transform(value, metadata);
  }
}

/** Paths of the strings in a parsed JSON or query value that UNSTORABLE_TEXT matches ('' for the root). */
export function unstorableTextPaths(root: unknown): string[] {
  const found: string[] = [];
  // A loop, not recursion: a deeply nested body must not overflow the stack (that would be a 500).
  const pending: { value: unknown; path: string }[] = [{ value: root, path: '' }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    if (typeof value === 'string') {
      if (UNSTORABLE_TEXT.test(value)) found.push(path);
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => pending.push({ value: item, path: join(path, String(index)) }));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (UNSTORABLE_TEXT.test(key)) found.push(join(path, '(a key)'));
        else pending.push({ value: item, path: join(path, key) });
      }
    }
  }
  return found;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);
