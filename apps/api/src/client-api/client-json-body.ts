import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';

import { isClientApiPath } from './client-api-paths';

/*
 * JSON bodies as the RustDesk client sends them (CLIENT-API.md traps 3 and 4). On client paths only:
 * an empty body is `{}` (the address book POSTs `Content-Type: application/json` with no body), a
 * POST without Content-Type is read as JSON, and integers beyond 2^53 (the u64 `session_id`) arrive
 * as their exact decimal string instead of a rounded number. The operator API keeps Fastify's rules.
 */

// A string literal (skipped whole, so digits inside strings are never touched), or an integer of 16+
// digits standing alone: not after a digit, '.', exponent or sign (a fraction or exponent part), and
// not followed by one. A leading zero never matches, so `0123…` stays invalid JSON.
const STRING_OR_LONG_INTEGER = /"(?:[^"\\]|\\.)*"|(?<![\d.eE+-])-?[1-9]\d{15,}(?![\d.eE])/g;

/**
 * Quotes the integer literals a JSON number cannot hold exactly, so `JSON.parse` keeps their digits.
 * Integers that are still safe stay numbers.
 */
export function quoteUnsafeIntegers(json: string): string {
  return json.replace(STRING_OR_LONG_INTEGER, (token) =>
    token.startsWith('"') || Number.isSafeInteger(Number(token)) ? token : `"${token}"`,
  );
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
