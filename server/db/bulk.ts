import { Prisma } from './generated/sqlite/client';
import { rawExecute } from './direct';
import { kindOf, type Queryable, type Tx } from './client';

/** The SQL types a bulk row's values are read as (the first row's casts type the whole VALUES list). */
export type SqlType = 'TEXT' | 'INTEGER' | 'BIGINT';

/**
 * `(VALUES (…), (…)) AS v`: rows of parameters for a multi-row UPDATE … FROM. Its columns are
 * `v.column1`, `v.column2`, … in SQLite and in PostgreSQL alike.
 */
export function valuesTable(rows: readonly (readonly unknown[])[], types: readonly SqlType[]): Prisma.Sql {
  if (rows.length === 0) throw new Error('valuesTable: no rows');
  const width = types.length;
  const strings = rowStrings(rows.length, width, '(VALUES (', ')) AS v');
  for (let j = 0; j < width; j++) {
    strings[j] += 'CAST(';
    strings[j + 1] = ` AS ${types[j]})${strings[j + 1]}`;
  }
  return new FlatSql(strings, flatValues(rows, 0, rows.length, width));
}

/**
 * A `Prisma.Sql` made from its parts directly: multi-row statements carry thousands of values, and
 * composing them from a `Prisma.sql` template per row copied every value once per level and built the text
 * by appending to it value by value (most of a market batch's garbage). Its text is one join.
 */
class FlatSql extends Prisma.Sql {
  constructor(strings: string[], values: unknown[]) {
    super([''], []);
    Object.assign(this, values.some((value) => value instanceof Prisma.Sql) ? spliced(strings, values) : { strings, values });
  }

  override get sql(): string {
    return this.strings.join('?');
  }
}

/** `strings` and `values` with each value that is itself SQL (`enumValue`) written into the text, as `Prisma.sql` does. */
function spliced(strings: string[], values: unknown[]): { strings: string[]; values: unknown[] } {
  const out = { strings: [strings[0]!], values: [] as unknown[] };
  values.forEach((value, i) => {
    if (value instanceof Prisma.Sql) {
      out.strings[out.strings.length - 1] += value.strings[0]!;
      value.values.forEach((inner, k) => {
        out.values.push(inner);
        out.strings.push(value.strings[k + 1]!);
      });
      out.strings[out.strings.length - 1] += strings[i + 1]!;
    } else {
      out.values.push(value);
      out.strings.push(strings[i + 1]!);
    }
  });
  return out;
}

/**
 * The text around the values of `rowCount` rows of `width` values: `prefix` before the first, `,` between
 * values of a row, `),(` between rows and `suffix` after the last (as `Prisma.join` writes them).
 */
function rowStrings(rowCount: number, width: number, prefix: string, suffix: string): string[] {
  const strings = new Array<string>(rowCount * width + 1).fill(',');
  for (let r = 1; r < rowCount; r++) strings[r * width] = '),(';
  strings[0] = prefix;
  strings[rowCount * width] = suffix;
  return strings;
}

/** The values of rows `from` to `to` (not included), row after row; every row must have `width` values. */
function flatValues(rows: readonly (readonly unknown[])[], from: number, to: number, width: number): unknown[] {
  const values = new Array<unknown>((to - from) * width);
  let at = 0;
  for (let r = from; r < to; r++) {
    const row = rows[r]!;
    if (row.length !== width) throw new Error(`a row of ${row.length} values where ${width} were expected`);
    for (let j = 0; j < width; j++) values[at++] = row[j];
  }
  return values;
}

/** A value of a PostgreSQL enum column set from text (`v.column4`): SQLite keeps enums as text. */
export function asEnum(tx: Tx, expression: string, enumName: string): Prisma.Sql {
  return Prisma.raw(kindOf(tx) === 'postgres' ? `CAST(${expression} AS "${enumName}")` : expression);
}

/** A value of a Json column set from text (`v.column3`): jsonb in PostgreSQL, text in SQLite. */
export function asJson(tx: Tx, expression: string): Prisma.Sql {
  return Prisma.raw(kindOf(tx) === 'postgres' ? `CAST(${expression} AS jsonb)` : expression);
}

/** A constant of a PostgreSQL enum (SQLite keeps enums as text), for a multi-row INSERT. */
export function enumValue(tx: Tx, value: string, enumName: string): Prisma.Sql {
  if (!/^[A-Z_]+$/.test(value)) throw new Error(`enumValue: ${value} is not an enum constant`);
  return Prisma.raw(kindOf(tx) === 'postgres' ? `CAST('${value}' AS "${enumName}")` : `'${value}'`);
}

/** Splits `items` into slices of at most `size` (statements stay under the databases' parameter limits). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Runs `fn` inside a savepoint of the open transaction: when it throws, its writes are undone and the
 * transaction goes on (PostgreSQL would otherwise refuse every later statement of the transaction).
 */
export async function inSavepoint<T>(tx: Tx, fn: () => Promise<T>): Promise<T> {
  await tx.$executeRawUnsafe('SAVEPOINT swapmesh_step');
  try {
    const value = await fn();
    await tx.$executeRawUnsafe('RELEASE SAVEPOINT swapmesh_step');
    return value;
  } catch (error) {
    await tx.$executeRawUnsafe('ROLLBACK TO SAVEPOINT swapmesh_step');
    await tx.$executeRawUnsafe('RELEASE SAVEPOINT swapmesh_step');
    throw error;
  }
}

/** Values per statement: well under SQLite's and PostgreSQL's limits on parameters. */
const VALUES_PER_STATEMENT = 8_000;

/**
 * `INSERT INTO "table" (columns) VALUES (…), (…)` with every row's values as parameters, a few thousand
 * values per statement: the hot paths' multi-row writes, without the ORM's cost per row. The table's
 * columns type the values in both databases (Dates as Dates, bigints, strings, numbers, null; JSON as its
 * text; enum constants in a mixed list as `enumValue`). Columns with a default in the schema must be given
 * too when Prisma, not the database, fills them (`@default(now())`, `@updatedAt`, `cuid()`).
 */
export async function insertRows(tx: Queryable, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  for (const statement of insertStatements(table, columns, rows)) await rawExecute(tx, statement);
}

/** The statements of `insertRows`, for a caller that sends them with others (`rawExecuteAll`). */
export function insertStatements(table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Prisma.Sql[] {
  const head = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (`;
  const width = columns.length;
  const perStatement = Math.max(1, Math.floor(VALUES_PER_STATEMENT / width));
  const statements: Prisma.Sql[] = [];
  for (let from = 0; from < rows.length; from += perStatement) {
    const to = Math.min(rows.length, from + perStatement);
    statements.push(new FlatSql(rowStrings(to - from, width, head, ')'), flatValues(rows, from, to, width)));
  }
  return statements;
}
