import { type INestApplication } from '@nestjs/common';
import { z } from 'zod';

import { routeHandlersOf } from './route-access-catalog';

/** What the document needs of a JSON Schema (OpenAPI 3.0 flavour). */
interface SchemaObject {
  type?: string;
  nullable?: boolean;
  properties?: Record<string, SchemaObject>;
}

/** A nestjs-zod DTO class (createZodDto): its static `schema` is the zod schema it validates with. */
function zodSchemaOf(type: unknown): z.ZodType | undefined {
  if (typeof type !== 'function' || !('isZodDto' in type) || !('schema' in type)) return undefined;
  return type.schema instanceof z.ZodType ? type.schema : undefined;
}

/** The zod DTOs the routes take (body, query, params), by class name: their component names. */
export function requestDtosOf(app: INestApplication): Map<string, z.ZodType> {
  const dtos = new Map<string, z.ZodType>();
  for (const { controller, name } of routeHandlersOf(app)) {
    const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, name) ??
      []) as unknown[];
    for (const type of types) {
      const schema = zodSchemaOf(type);
      if (schema !== undefined) dtos.set((type as { name: string }).name, schema);
    }
  }
  return dtos;
}

/** zod's own OpenAPI 3.0 rendering of a request DTO's schema (what it accepts). */
export function requestSchemaOf(schema: z.ZodType): SchemaObject {
  return z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    unrepresentable: 'any',
  }) as SchemaObject;
}

/**
 * zod renders a plain `.nullable()` as `type: ["string", "null"]`, and @nestjs/swagger reads a list
 * in `type` as "an array of": a DTO's nullable string property came out as an array of strings. Puts
 * each such property back as zod renders it for OpenAPI 3.0 (`nullable: true`). Returns what it fixed.
 */
export function repairNullableDtoProperties(
  schemas: Record<string, unknown>,
  dtos: ReadonlyMap<string, z.ZodType>,
): string[] {
  const repaired: string[] = [];
  for (const [name, dto] of dtos) {
    const documented = (schemas[name] as SchemaObject | undefined)?.properties;
    if (documented === undefined) continue;
    for (const [key, expected] of Object.entries(requestSchemaOf(dto).properties ?? {})) {
      if (expected.nullable === true && expected.type !== 'array' && documented[key]?.type === 'array') {
        documented[key] = expected;
        repaired.push(`${name}.${key}`);
      }
    }
  }
  return repaired;
}
