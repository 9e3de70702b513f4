import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';

import { isClientApiPath } from './client-api-paths';

/*
 * JSON bodies as the RustDesk client sends them (docs/client-api.md "Body parsing"). On client paths only:
 * an empty body is `{}` (the address book POSTs `Content-Type: application/json` with no body), a
 * POST without Content-Type is read as JSON, and integers beyond 2^53 (the u64 `session_id`) arrive
 * as their exact decimal string instead of a rounded number. The operator API keeps Fastify's rules.
 */

const UNSAFE_INTEGER_CANDIDATE = /^-?[1-9]\d{15,}$/;
const NUMBER_CHARS = /[\d.eE+-]/;

/**
 * Quotes the integer literals a JSON number cannot hold exactly, so `JSON.parse` keeps their digits;
 * integers that are still safe stay numbers. One linear pass (a regex skipping string literals goes
 * quadratic on an unterminated one, and these bodies come from anyone): string literals are skipped
 * whole, so digits inside strings or keys are never touched; a number token is quoted only if it is a
 * plain integer (no fraction or exponent) without a leading zero, so invalid JSON stays invalid.
 */
export function quoteUnsafeIntegers(json: string): string {
  let out = '';
  let copiedUpTo = 0;
  let i = 0;
  while (i < json.length) {
    const char = json[i] as string;
    if (char === '"') {
      i = afterString(json, i);
    } else if (char === '-' || (char >= '0' && char <= '9')) {
      const start = i;
      do i += 1;
      while (i < json.length && NUMBER_CHARS.test(json[i] as string));
      const token = json.slice(start, i);
      if (UNSAFE_INTEGER_CANDIDATE.test(token) && !Number.isSafeInteger(Number(token))) {
        out += `${json.slice(copiedUpTo, start)}"${token}"`;
        copiedUpTo = i;
      }
    } else {
      i += 1;
    }
  }
  return out + json.slice(copiedUpTo);
}

/** The index just past the string literal opening at `open` (or the end, if it never closes). */
function afterString(json: string, open: number): number {
  let i = open + 1;
  while (i < json.length) {
    const char = json[i];
    if (char === '"') return i + 1;
    i += char === '\\' ? 2 : 1;
  }
  return i;
}

type ParseDone = (error: Error | null, body?: unknown) => void;

/** Replaces Fastify's `application/json` parser (and adds an untyped-body one) with the rules above. */
export function registerClientJsonBodyParser(instance: FastifyInstance): void {
  // Fastify's own, which refuses __proto__ and constructor.prototype keys, as the default does.
  const fastifyJson = instance.getDefaultJsonParser('error', 'error');
  const parseJson = (request: FastifyRequest, body: string, done: ParseDone): void => {
    if (!isClientApiPath(request.url)) void fastifyJson(request, body, done);
    else if (body.trim() === '') done(null, {});
    else void fastifyJson(request, quoteUnsafeIntegers(body), done);
  };
  instance.removeContentTypeParser('application/json');
  instance.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    parseJson(request, body as string, done),
  );
  // Fastify sends a body with no Content-Type, and any type no parser claims, to the catch-all.
  instance.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const contentType = request.headers['content-type'];
    if (contentType === undefined && isClientApiPath(request.url)) {
      return parseJson(request, body as string, done);
    }
    return done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(contentType ?? ''));
  });
  // With neither Content-Type nor a body no parser runs at all; the client still means `{}`.
  instance.addHook('preValidation', (request, _reply, done) => {
    if (request.body === undefined && BODY_METHODS.has(request.method) && isClientApiPath(request.url)) {
      request.body = {};
    }
    done();
  });
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);
