/**
 * The parts of a Postgres schema that `schema.prisma` decides, in one neutral shape, so the schema's
 * side (from Prisma's DMMF) and the database's side (from pg_catalog) can be compared field by field.
 * Types and defaults use Postgres's own spelling (`format_type`, `pg_get_expr`).
 */
export interface SchemaShape {
  tables: TableShape[];
  indexes: IndexShape[];
  foreignKeys: ForeignKeyShape[];
  /** CHECK, EXCLUDE and constraint triggers: schema.prisma cannot declare any, so any found is drift. */
  otherConstraints: ConstraintShape[];
  enums: EnumShape[];
}

export interface TableShape {
  name: string;
  /** Where it comes from, for messages: `model User` or `table`. */
  origin: string;
  columns: ColumnShape[];
}

export interface ColumnShape {
  name: string;
  /** e.g. `character varying(64)`, `timestamp(3) with time zone`, `text[]`, `role`. */
  type: string;
  nullable: boolean;
  /** The default expression as pg_get_expr prints it, or null for none. */
  default: string | null;
}

export interface IndexShape {
  name: string;
  table: string;
  columns: string[];
  kind: 'primary' | 'unique' | 'index';
  /** Access method: btree, gin, gist, hash, brin, spgist. */
  method: string;
  /** Per column: the operator class, or null for the type's default one. */
  opclasses: (string | null)[];
  /** Per column: descending order. */
  descending: boolean[];
  /** Anything Prisma never creates (partial or expression index), spelled out; null when plain. */
  extra?: string | null;
}

export type ReferentialAction = 'CASCADE' | 'RESTRICT' | 'NO ACTION' | 'SET NULL' | 'SET DEFAULT';

export interface ForeignKeyShape {
  name: string;
  table: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

export interface ConstraintShape {
  name: string;
  table: string;
  /** pg_get_constraintdef output. */
  definition: string;
}

export interface EnumShape {
  name: string;
  values: string[];
}

/**
 * Every difference between what the schema declares and what the database has, one readable line
 * each, sorted so the output is stable. Empty means no drift.
 */
export function compareSchemas(expected: SchemaShape, actual: SchemaShape): string[] {
  const differences: string[] = [];
  const report = (line: string) => differences.push(line);

  compareByName(
    expected.enums,
    actual.enums,
    (e) => `enum ${e.name}`,
    describeEnum,
    report,
    (want, have) => {
      if (describeEnum(want) !== describeEnum(have)) {
        report(
          `enum ${want.name}: schema declares ${describeEnum(want)}, database has ${describeEnum(have)}`,
        );
      }
    },
  );

  compareByName(
    expected.tables,
    actual.tables,
    (t) => `table ${t.name}`,
    (t) => t.origin,
    report,
    (want, have) => {
      const label = (column: ColumnShape) => `column ${want.name}.${column.name}`;
      compareByName(want.columns, have.columns, label, describeColumn, report, (wantColumn, haveColumn) => {
        const where = label(wantColumn);
        if (wantColumn.type !== haveColumn.type) {
          report(`${where}: schema declares type ${wantColumn.type}, database has ${haveColumn.type}`);
        }
        if (wantColumn.nullable !== haveColumn.nullable) {
          report(
            `${where}: schema declares ${nullability(wantColumn)}, database has ${nullability(haveColumn)}`,
          );
        }
        if (wantColumn.default !== haveColumn.default) {
          report(
            `${where}: schema declares default ${wantColumn.default ?? '(none)'}, ` +
              `database has ${haveColumn.default ?? '(none)'}`,
          );
        }
      });
    },
  );

  compareByName(
    expected.indexes,
    actual.indexes,
    (i) => `index ${i.name}`,
    describeIndex,
    report,
    (want, have) => {
      if (describeIndex(want) !== describeIndex(have)) {
        report(
          `index ${want.name}: schema declares ${describeIndex(want)}, database has ${describeIndex(have)}`,
        );
      }
    },
  );

  const fkLabel = (key: ForeignKeyShape) => `foreign key ${key.name}`;
  compareByName(
    expected.foreignKeys,
    actual.foreignKeys,
    fkLabel,
    describeForeignKey,
    report,
    (want, have) => {
      if (describeForeignKey(want) !== describeForeignKey(have)) {
        report(
          `${fkLabel(want)}: schema declares ${describeForeignKey(want)}, database has ${describeForeignKey(have)}`,
        );
      }
    },
  );

  const constraintLabel = (c: ConstraintShape) => `constraint ${c.table}.${c.name}`;
  compareByName(
    expected.otherConstraints,
    actual.otherConstraints,
    constraintLabel,
    (c) => c.definition,
    report,
    () => {},
  );

  return differences.sort();
}

/**
 * Pairs items by name. Unpaired ones are reported with their definition, so a renamed object reads
 * as "missing X (definition)" next to "not declared Y (same definition)".
 */
function compareByName<T extends { name: string }>(
  expected: readonly T[],
  actual: readonly T[],
  label: (item: T) => string,
  describe: (item: T) => string,
  report: (line: string) => void,
  compare: (want: T, have: T) => void,
): void {
  const actualByName = new Map(actual.map((item) => [item.name, item]));
  const expectedNames = new Set(expected.map((item) => item.name));
  for (const want of expected) {
    const have = actualByName.get(want.name);
    if (have) compare(want, have);
    else report(`${label(want)}: declared by the schema, missing from the database (${describe(want)})`);
  }
  for (const have of actual) {
    if (!expectedNames.has(have.name)) {
      report(`${label(have)}: in the database, not declared by the schema (${describe(have)})`);
    }
  }
}

function nullability(column: ColumnShape): string {
  return column.nullable ? 'NULL allowed' : 'NOT NULL';
}

export function describeColumn(column: ColumnShape): string {
  return `${column.type} ${nullability(column)}${column.default === null ? '' : ` DEFAULT ${column.default}`}`;
}

export function describeEnum(enumShape: EnumShape): string {
  return `values [${enumShape.values.join(', ')}]`;
}

export function describeIndex(index: IndexShape): string {
  const columns = index.columns.map((column, i) => {
    const opclass = index.opclasses[i] ? ` ${index.opclasses[i]}` : '';
    return `${column}${opclass}${index.descending[i] ? ' DESC' : ''}`;
  });
  const kind = index.kind === 'primary' ? 'PRIMARY KEY' : index.kind === 'unique' ? 'UNIQUE' : 'INDEX';
  return `${kind} ON ${index.table} USING ${index.method} (${columns.join(', ')})${index.extra ? ` ${index.extra}` : ''}`;
}

export function describeForeignKey(key: ForeignKeyShape): string {
  return (
    `${key.table}(${key.columns.join(', ')}) REFERENCES ${key.referencedTable}(${key.referencedColumns.join(', ')}) ` +
    `ON DELETE ${key.onDelete} ON UPDATE ${key.onUpdate}`
  );
}
