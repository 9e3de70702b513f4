import { get_dmmf } from '@prisma/prisma-schema-wasm';

import type {
  ColumnShape,
  EnumShape,
  ForeignKeyShape,
  IndexShape,
  ReferentialAction,
  SchemaShape,
  TableShape,
} from './schema-shape';

// The subset of Prisma's DMMF (`get_dmmf` of Prisma's own schema parser, compiled to wasm) we read.
interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  isList: boolean;
  isRequired: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string;
  algorithm?: string;
  fields: { name: string; sortOrder?: 'asc' | 'desc'; operatorClass?: string }[];
}
interface DmmfEnum {
  name: string;
  dbName?: string | null;
  values: { name: string; dbName: string | null }[];
}
interface Dmmf {
  datamodel: { models: DmmfModel[]; enums: DmmfEnum[]; indexes: DmmfIndex[] };
}

/** Postgres's NAMEDATALEN - 1: Prisma shortens generated constraint names to fit. */
const MAX_IDENTIFIER_LENGTH = 63;

/** Parses schema.prisma with Prisma's own parser (it also validates: an invalid schema throws). */
export function readDmmf(schemaText: string, fileName = 'schema.prisma'): Dmmf {
  return JSON.parse(get_dmmf(JSON.stringify({ prismaSchema: [[fileName, schemaText]] }))) as Dmmf;
}

/**
 * What `prisma migrate` would create for this schema, as a SchemaShape.
 *
 * DMMF carries models, fields, native types with arguments, defaults, enums, relations with their
 * referential actions when written, and (since Prisma 5) every @id/@unique/@@index with its
 * algorithm, sort order, operator class and explicit `map:` name. It does NOT carry:
 *  - default constraint/index names when no `map:` is given: we apply Prisma's naming convention
 *    (psl `ConstraintNames`: `<table>_pkey`, `<table>_<columns>_key|_idx|_fkey`, cut to 63 chars);
 *  - the `map:` of `@relation` (foreign key names): always the convention here, so a schema that adds
 *    `@relation(map: ...)` needs this function taught where to find it;
 *  - referential actions left implicit: Prisma's defaults (onDelete Restrict for a required relation,
 *    SetNull for an optional one; onUpdate Cascade);
 *  - the Postgres spelling of types and defaults: mapped below from Prisma's documented type mapping.
 */
export function expectedSchemaFromDmmf(dmmf: Dmmf): SchemaShape {
  const { models, enums, indexes } = dmmf.datamodel;
  const modelByName = new Map(models.map((model) => [model.name, model]));
  const enumByName = new Map(enums.map((e) => [e.name, e]));
  const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
  const columnOf = (model: DmmfModel, fieldName: string) => {
    const field = model.fields.find((f) => f.name === fieldName);
    if (!field) throw new Error(`DMMF: model ${model.name} has no field ${fieldName}`);
    return field.dbName ?? field.name;
  };

  const enumShapes: EnumShape[] = enums.map((e) => ({
    name: e.dbName ?? e.name,
    values: e.values.map((value) => value.dbName ?? value.name),
  }));

  const tables: TableShape[] = models.map((model) => ({
    name: tableOf(model),
    origin: `model ${model.name}`,
    columns: model.fields
      .filter((field) => field.kind === 'scalar' || field.kind === 'enum')
      .map((field) => expectedColumn(tableOf(model), field, enumByName)),
  }));

  const indexShapes: IndexShape[] = indexes
    .filter((index) => index.type !== 'fulltext')
    .map((index) => {
      const model = modelByName.get(index.model);
      if (!model) throw new Error(`DMMF: index on unknown model ${index.model}`);
      const table = tableOf(model);
      const columns = index.fields.map((field) => columnOf(model, field.name));
      const kind = index.type === 'id' ? 'primary' : index.type === 'unique' ? 'unique' : 'index';
      const suffix = kind === 'primary' ? 'pkey' : kind === 'unique' ? 'key' : 'idx';
      return {
        name: index.dbName ?? constraintName(table, kind === 'primary' ? [] : columns, suffix),
        table,
        columns,
        kind,
        method: (index.algorithm ?? 'BTree').toLowerCase(),
        opclasses: index.fields.map((field) => operatorClass(field.operatorClass)),
        descending: index.fields.map((field) => field.sortOrder === 'desc'),
        extra: null,
      };
    });

  const foreignKeys: ForeignKeyShape[] = models.flatMap((model) =>
    model.fields
      .filter((field) => field.kind === 'object' && (field.relationFromFields?.length ?? 0) > 0)
      .map((field) => {
        const target = modelByName.get(field.type);
        if (!target)
          throw new Error(`DMMF: relation ${model.name}.${field.name} to unknown model ${field.type}`);
        const fromFields = field.relationFromFields ?? [];
        const columns = fromFields.map((name) => columnOf(model, name));
        const allRequired = fromFields.every((name) => model.fields.find((f) => f.name === name)?.isRequired);
        return {
          name: constraintName(tableOf(model), columns, 'fkey'),
          table: tableOf(model),
          columns,
          referencedTable: tableOf(target),
          referencedColumns: (field.relationToFields ?? []).map((name) => columnOf(target, name)),
          onDelete: referentialAction(field.relationOnDelete ?? (allRequired ? 'Restrict' : 'SetNull')),
          onUpdate: referentialAction(field.relationOnUpdate ?? 'Cascade'),
        };
      }),
  );

  return { tables, indexes: indexShapes, foreignKeys, otherConstraints: [], enums: enumShapes };
}

/** Prisma's default names (psl ConstraintNames): the joined part is cut so the whole fits 63 chars. */
function constraintName(table: string, columns: string[], suffix: string): string {
  const base = [table, ...columns].join('_');
  return `${base.slice(0, MAX_IDENTIFIER_LENGTH - suffix.length - 1)}_${suffix}`;
}

// Prisma's named operator classes; raw("...") ones arrive as written.
const PRISMA_OPCLASSES: Record<string, string> = {
  ArrayOps: 'array_ops',
  JsonbOps: 'jsonb_ops',
  JsonbPathOps: 'jsonb_path_ops',
  InetOps: 'inet_ops',
  TextOps: 'text_ops',
};
function operatorClass(name: string | undefined): string | null {
  if (!name) return null;
  return PRISMA_OPCLASSES[name] ?? name;
}

function referentialAction(action: string): ReferentialAction {
  const actions: Record<string, ReferentialAction> = {
    Cascade: 'CASCADE',
    Restrict: 'RESTRICT',
    NoAction: 'NO ACTION',
    SetNull: 'SET NULL',
    SetDefault: 'SET DEFAULT',
  };
  const mapped = actions[action];
  if (!mapped) throw new Error(`Unknown referential action ${action}`);
  return mapped;
}

// Prisma's default Postgres type per scalar (docs: "PostgreSQL type mapping"), as format_type prints it.
const SCALAR_TYPES: Record<string, string> = {
  String: 'text',
  Boolean: 'boolean',
  Int: 'integer',
  BigInt: 'bigint',
  Float: 'double precision',
  Decimal: 'numeric(65,30)',
  DateTime: 'timestamp(3) without time zone',
  Json: 'jsonb',
  Bytes: 'bytea',
};

function nativeType([name, args]: [string, string[]]): string {
  const withArgs = (base: string) => (args.length ? `${base}(${args.join(',')})` : base);
  const fixed: Record<string, string> = {
    Text: 'text',
    Uuid: 'uuid',
    Xml: 'xml',
    Inet: 'inet',
    Citext: 'citext',
    Integer: 'integer',
    SmallInt: 'smallint',
    BigInt: 'bigint',
    Oid: 'oid',
    DoublePrecision: 'double precision',
    Real: 'real',
    Money: 'money',
    Date: 'date',
    Boolean: 'boolean',
    Json: 'json',
    JsonB: 'jsonb',
    ByteA: 'bytea',
  };
  if (fixed[name]) return fixed[name];
  switch (name) {
    case 'VarChar':
      return withArgs('character varying');
    case 'Char':
      return withArgs('character');
    case 'Bit':
      return withArgs('bit');
    case 'VarBit':
      return withArgs('bit varying');
    case 'Decimal':
      return withArgs('numeric');
    case 'Timestamp':
      return `${withArgs('timestamp')} without time zone`;
    case 'Timestamptz':
      return `${withArgs('timestamp')} with time zone`;
    case 'Time':
      return `${withArgs('time')} without time zone`;
    case 'Timetz':
      return `${withArgs('time')} with time zone`;
    default:
      throw new Error(`expectedSchemaFromDmmf: native type @db.${name} is not mapped yet; add it here`);
  }
}

function expectedColumn(table: string, field: DmmfField, enums: Map<string, DmmfEnum>): ColumnShape {
  const name = field.dbName ?? field.name;
  let baseType: string;
  if (field.kind === 'enum') {
    const enumType = enums.get(field.type);
    baseType = quoteIdentifierIfNeeded(enumType?.dbName ?? field.type);
  } else if (field.nativeType) {
    baseType = nativeType(field.nativeType);
  } else {
    const scalar = SCALAR_TYPES[field.type];
    if (!scalar) throw new Error(`expectedSchemaFromDmmf: scalar type ${field.type} is not mapped yet`);
    baseType = scalar;
  }
  return {
    name,
    type: field.isList ? `${baseType}[]` : baseType,
    // Prisma never puts NOT NULL on a list column, even a required one.
    nullable: field.isList || !field.isRequired,
    default: expectedDefault(table, name, field, baseType),
  };
}

/** The default as pg_get_expr prints what `prisma migrate` would have written. */
function expectedDefault(table: string, column: string, field: DmmfField, baseType: string): string | null {
  const value = field.default;
  if (value === undefined) return null;
  // pg prints casts without the type modifier: 'x'::character varying, ARRAY[]::character varying[].
  const castType = baseType.replace(/\(.*\)/, '');
  const unsupported = () =>
    new Error(
      `expectedSchemaFromDmmf: default ${JSON.stringify(value)} on ${table}.${column} is not mapped yet`,
    );

  if (Array.isArray(value)) {
    if (value.length === 0) return `ARRAY[]::${castType}[]`;
    throw unsupported();
  }
  if (typeof value === 'object' && value !== null && 'name' in value) {
    const fn = value as { name: string; args: unknown[] };
    switch (fn.name) {
      case 'dbgenerated':
        return typeof fn.args[0] === 'string' ? fn.args[0] : null;
      case 'now':
        return 'CURRENT_TIMESTAMP';
      case 'autoincrement':
        return `nextval('${table}_${column}_seq'::regclass)`;
      // Generated by Prisma Client, not by the database.
      case 'uuid':
      case 'cuid':
      case 'nanoid':
      case 'ulid':
        return null;
      default:
        throw unsupported();
    }
  }
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isInteger(value)) {
    return value >= 0 ? String(value) : `'${value}'::${castType}`;
  }
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'::${castType}`;
  throw unsupported();
}

function quoteIdentifierIfNeeded(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
