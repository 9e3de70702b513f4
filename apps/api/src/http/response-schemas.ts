import { STATUS_CODES } from 'node:http';

import { applyDecorators } from '@nestjs/common';
import { ApiProduces, ApiResponse } from '@nestjs/swagger';
import { z } from 'zod';

// The operator API's answers as zod schemas: each named one becomes a component of the OpenAPI
// document (docs/openapi-document.ts), and a handler's return type is its z.output, so the compiler
// keeps the code and the docs together. Response schemas describe JSON as sent: no transforms, no
// defaults, timestamps as ISO strings.

/** The named response schemas: their ids are the component names in the OpenAPI document. */
export const responseSchemas = z.registry<{ id: string }, z.ZodType>();

const COMPONENT_PREFIX = '#/components/schemas/';

/** Registers `schema` as the component `id` (ids are unique: a clash is a mistake, found at start). */
export function responseSchema<Schema extends z.ZodType>(id: string, schema: Schema): Schema {
  if (responseSchemas._idmap.has(id)) throw new Error(`Two response schemas are named ${id}`);
  responseSchemas.add(schema, { id });
  return schema;
}

/** A `$ref` to a registered response schema's component. */
export function responseRef(schema: z.ZodType): { $ref: string } {
  const id = responseSchemas.get(schema)?.id;
  if (id === undefined) throw new Error('A documented answer must be a registered response schema');
  return { $ref: `${COMPONENT_PREFIX}${id}` };
}

/** A timestamp as JSON carries it: Date.toISOString(), always UTC. */
export const isoTimestamp = z.iso.datetime();

/** A JSON value of any shape (a setting's value, an audit entry's details). */
export const anyJson = z.unknown().describe('Any JSON value.');

/** The `{ items, total, page, pageSize }` answer of a paginated list (http/page-query.dto.ts `Page`). */
export function pageSchema<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    total: z.number().int().min(0),
    page: z.number().int().min(1),
    pageSize: z.number().int().min(1),
  });
}

/** The one error shape of the api (errors/error-response.ts `ErrorResponse`). */
export const apiErrorSchema = responseSchema(
  'ApiError',
  z.object({
    statusCode: z.number().int(),
    error: z.string().describe('The HTTP reason phrase, e.g. "Bad Request".'),
    message: z
      .union([z.string(), z.array(z.string())])
      .describe('A 400 from validation lists every bad field as `field: problem`.'),
    requestId: z
      .string()
      .describe('Echoes X-Request-Id (or the generated id) to find the request in the logs.'),
  }),
);

type Handler<Schema extends z.ZodType> = (...args: never[]) => z.output<Schema> | Promise<z.output<Schema>>;

/**
 * Documents a route's success answer (`status`, a registered response schema) and holds the handler
 * to it: a handler whose return type is not the schema's output does not compile. Documentation
 * only: the answer is neither parsed nor filtered at run time, and the status is the route's own.
 */
export function Answers<Schema extends z.ZodType>(
  status: number,
  schema: Schema,
  description = STATUS_CODES[status] ?? '',
): (
  target: object,
  key: string | symbol,
  descriptor: Pick<TypedPropertyDescriptor<Handler<Schema>>, 'value'>,
) => void {
  const decorator = ApiResponse({ status, description, schema: responseRef(schema) });
  return (target, key, descriptor) => {
    decorator(target, key, descriptor as PropertyDescriptor);
  };
}

/**
 * Documents a success answer without a body (a 202 whose work happens later, say): the description
 * says what the status means, as there is no schema to say it.
 */
export function AnswersNothing(status: number, description: string): MethodDecorator {
  return ApiResponse({ status, description });
}

/** Documents a CSV download (a StreamableFile sent as an attachment, UTF-8, with a header row). */
export function AnswersCsv(): MethodDecorator {
  return applyDecorators(
    ApiProduces('text/csv'),
    ApiResponse({
      status: 200,
      description: 'CSV (UTF-8, a header row, then one row per entry), as an attachment.',
      content: { 'text/csv': { schema: { type: 'string' } } },
    }),
  );
}
