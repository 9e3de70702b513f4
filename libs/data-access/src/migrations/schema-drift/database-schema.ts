import type { ClientBase } from 'pg';

import type {
  ColumnShape,
  ConstraintShape,
  EnumShape,
  ForeignKeyShape,
  IndexShape,
  ReferentialAction,
  SchemaShape,
} from './schema-shape';

/** Tables the schema does not declare but that belong in the database. */
const BOOKKEEPING_TABLES = ['_prisma_migrations'];

const ACTIONS: Record<string, ReferentialAction> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};

/**
 * What the database really has in its current schema, read from pg_catalog (not information_schema,
 * which hides operator classes, index methods and sort order). Objects owned by extensions (pg_trgm's
 * functions and types) are left out: the schema does not declare them.
 */
export async function readDatabaseSchema(client: ClientBase): Promise<SchemaShape> {
  const { rows: tableRows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.relname <> ALL($1)
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1`,
    [BOOKKEEPING_TABLES],
  );

  const { rows: columnRows } = await client.query<{
    table: string;
    name: string;
    type: string;
    not_null: boolean;
    default: string | null;
    identity: string;
    generated: string;
  }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
            a.attidentity AS identity, a.attgenerated AS generated
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = current_schema() AND c.relname = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
    [tableRows.map((row) => row.name)],
  );
  const columnsByTable = new Map<string, ColumnShape[]>();
  for (const row of columnRows) {
    // Prisma never creates identity or generated columns; spell them out so they show as a difference.
    const special = row.identity
      ? `GENERATED ${row.identity === 'a' ? 'ALWAYS' : 'BY DEFAULT'} AS IDENTITY`
      : null;
    const generated = row.generated ? `GENERATED ALWAYS AS (${row.default ?? ''}) STORED` : null;
    const column: ColumnShape = {
      name: row.name,
      type: row.type,
      nullable: !row.not_null,
      default: generated ?? special ?? row.default,
    };
    columnsByTable.set(row.table, [...(columnsByTable.get(row.table) ?? []), column]);
  }

  const { rows: indexRows } = await client.query<{
    name: string;
    table: string;
    primary: boolean;
    unique: boolean;
    method: string;
    columns: (string | null)[];
    opclasses: string[];
    opclass_defaults: boolean[];
    options: number[];
    predicate: string | null;
    expressions: string | null;
  }>(
    `SELECT ic.relname AS name, tc.relname AS table, i.indisprimary AS primary, i.indisunique AS unique,
            am.amname AS method,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   WHERE k.ord <= i.indnkeyatts ORDER BY k.ord) AS columns,
            ARRAY(SELECT oc.opcname::text FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(oid, ord)
                    JOIN pg_opclass oc ON oc.oid = k.oid ORDER BY k.ord) AS opclasses,
            ARRAY(SELECT oc.opcdefault FROM unnest(i.indclass::oid[]) WITH ORDINALITY k(oid, ord)
                    JOIN pg_opclass oc ON oc.oid = k.oid ORDER BY k.ord) AS opclass_defaults,
            i.indoption::int2[] AS options,
            pg_get_expr(i.indpred, i.indrelid) AS predicate,
            pg_get_expr(i.indexprs, i.indrelid) AS expressions
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class tc ON tc.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = tc.relnamespace
       JOIN pg_am am ON am.oid = ic.relam
      WHERE n.nspname = current_schema() AND tc.relname = ANY($1)
      ORDER BY 1`,
    [tableRows.map((row) => row.name)],
  );
  const indexes: IndexShape[] = indexRows.map((row) => ({
    name: row.name,
    table: row.table,
    columns: row.columns.map((column) => column ?? '(expression)'),
    kind: row.primary ? 'primary' : row.unique ? 'unique' : 'index',
    method: row.method,
    opclasses: row.columns.map((_, i) => (row.opclass_defaults[i] ? null : (row.opclasses[i] ?? null))),
    // indoption bit 0 is INDOPTION_DESC (src/include/catalog/pg_index.h).
    descending: row.columns.map((_, i) => ((row.options[i] ?? 0) & 1) === 1),
    extra:
      [row.expressions && `expressions ${row.expressions}`, row.predicate && `WHERE ${row.predicate}`]
        .filter(Boolean)
        .join(' ') || null,
  }));

  const { rows: constraintRows } = await client.query<{
    name: string;
    table: string;
    type: string;
    columns: string[];
    referenced_table: string | null;
    referenced_columns: string[] | null;
    on_delete: string;
    on_update: string;
    definition: string;
  }>(
    `SELECT con.conname AS name, tc.relname AS table, con.contype AS type,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            rc.relname AS referenced_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord)
              AS referenced_columns,
            con.confdeltype AS on_delete, con.confupdtype AS on_update,
            pg_get_constraintdef(con.oid) AS definition
       FROM pg_constraint con
       JOIN pg_class tc ON tc.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = tc.relnamespace
       LEFT JOIN pg_class rc ON rc.oid = con.confrelid
      WHERE n.nspname = current_schema() AND tc.relname = ANY($1) AND con.contype IN ('f', 'c', 'x', 't')
      ORDER BY 1`,
    [tableRows.map((row) => row.name)],
  );
  const foreignKeys: ForeignKeyShape[] = [];
  const otherConstraints: ConstraintShape[] = [];
  for (const row of constraintRows) {
    if (row.type === 'f') {
      foreignKeys.push({
        name: row.name,
        table: row.table,
        columns: row.columns,
        referencedTable: row.referenced_table ?? '?',
        referencedColumns: row.referenced_columns ?? [],
        onDelete: ACTIONS[row.on_delete] ?? 'NO ACTION',
        onUpdate: ACTIONS[row.on_update] ?? 'NO ACTION',
      });
    } else {
      otherConstraints.push({ name: row.name, table: row.table, definition: row.definition });
    }
  }

  const { rows: enumRows } = await client.query<{ name: string; values: string[] }>(
    `SELECT t.typname AS name, ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid
                                      ORDER BY e.enumsortorder) AS values
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema() AND t.typtype = 'e'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = t.oid AND d.deptype = 'e')
      ORDER BY 1`,
  );
  const enums: EnumShape[] = enumRows.map((row) => ({ name: row.name, values: row.values }));

  return {
    tables: tableRows.map((row) => ({
      name: row.name,
      origin: 'table',
      columns: columnsByTable.get(row.name) ?? [],
    })),
    indexes,
    foreignKeys,
    otherConstraints,
    enums,
  };
}
