import { Prisma } from './generated/sqlite/client';
import { kindOf, type Tx } from './client';

/** The SQL types a bulk row's values are read as (the first row's casts type the whole VALUES list). */
export type SqlType = 'TEXT' | 'INTEGER' | 'BIGINT';

/**
 * `(VALUES (…), (…)) AS v`: rows of parameters for a multi-row UPDATE … FROM. Its columns are
 * `v.column1`, `v.column2`, … in SQLite and in PostgreSQL alike.
 */
export function valuesTable(rows: readonly (readonly unknown[])[], types: readonly SqlType[]): Prisma.Sql {
  if (rows.length === 0) throw new Error('valuesTable: no rows');
  const tuples = rows.map((row, i) =>
    Prisma.sql`(${Prisma.join(row.map((value, j) => (i === 0 ? Prisma.sql`CAST(${value} AS ${Prisma.raw(types[j]!)})` : Prisma.sql`${value}`)))})`,
  );
  return Prisma.sql`(VALUES ${Prisma.join(tuples)}) AS v`;
}

/** A value of a PostgreSQL enum column set from text (`v.column4`): SQLite keeps enums as text. */
export function asEnum(tx: Tx, expression: string, enumName: string): Prisma.Sql {
  return Prisma.raw(kindOf(tx) === 'postgres' ? `CAST(${expression} AS "${enumName}")` : expression);
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

const ROWS_PER_INSERT = 500;

/**
 * `INSERT INTO "table" (columns) VALUES (…), (…)` with every row's values as parameters, in chunks of
 * ROWS_PER_INSERT rows: the hot paths' multi-row writes, without the ORM's per-query cost. Values go in as
 * the driver adapters pass them (Date, bigint, string, number, null; objects for Json columns must be
 * given as JSON text). Columns with a default in the schema must be given too: Prisma fills `@default(now())`
 * and `@updatedAt` itself, not the database.
 */
export async function insertRows(tx: Tx, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  const head = Prisma.raw(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES `);
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
    const chunk = rows.slice(at, at + ROWS_PER_INSERT);
    await tx.$executeRaw(Prisma.sql`${head}${Prisma.join(chunk.map((row) => Prisma.sql`(${Prisma.join(row)})`))}`);
  }
}
