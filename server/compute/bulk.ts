import { randomBytes } from 'node:crypto';
import { Prisma } from '../db/generated/sqlite/client';
import { kindOf, type Tx } from '../db/client';

let lastTime = 0;
let counter = 0;

/**
 * A row id in the shape of Prisma's `cuid()` for rows written in bulk whose id must be known before they
 * are written (a lease's id is its replica's). Ids made in one process sort by when they were made.
 */
export function newId(): string {
  const now = Date.now();
  if (now === lastTime) counter++;
  else {
    lastTime = now;
    counter = 0;
  }
  const time = now.toString(36).padStart(9, '0');
  const count = (counter % 36 ** 4).toString(36).padStart(4, '0');
  const random = BigInt(`0x${randomBytes(8).toString('hex')}`).toString(36).padStart(13, '0').slice(-11);
  return `c${time}${count}${random}`;
}

export type SqlType = 'TEXT' | 'INTEGER' | 'BIGINT';

/**
 * `(VALUES (…), (…)) AS v` for a multi-row `UPDATE … FROM`: its columns are `v.column1`, `v.column2`, …
 * in SQLite and PostgreSQL alike (the first row's casts type every row).
 */
export function valuesTable(rows: readonly (readonly unknown[])[], types: readonly SqlType[]): Prisma.Sql {
  if (rows.length === 0) throw new Error('valuesTable: no rows');
  const tuples = rows.map((row, i) =>
    Prisma.sql`(${Prisma.join(row.map((value, j) => (i === 0 ? Prisma.sql`CAST(${value} AS ${Prisma.raw(types[j]!)})` : Prisma.sql`${value}`)))})`,
  );
  return Prisma.sql`(VALUES ${Prisma.join(tuples)}) AS v`;
}

/** `v.columnN` read as a PostgreSQL enum (SQLite keeps enums as text) or as JSON (jsonb in PostgreSQL, text in SQLite). */
export function asEnum(tx: Tx, column: string, enumName: string): Prisma.Sql {
  return Prisma.raw(kindOf(tx) === 'postgres' ? `CAST(${column} AS "${enumName}")` : column);
}
export function asJson(tx: Tx, column: string): Prisma.Sql {
  return Prisma.raw(kindOf(tx) === 'postgres' ? `CAST(${column} AS jsonb)` : column);
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
 * One multi-row `INSERT` per few thousand values (Prisma's createMany costs about as much per row as a
 * query): the table's columns type the values in both databases, so they go in as they are (Dates as
 * Dates); enum constants as `enumValue`.
 */
export async function insertRows(tx: Tx, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  for (const part of chunks(rows, Math.max(1, Math.floor(8_000 / columns.length)))) {
    const head = Prisma.raw(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES `);
    await tx.$executeRaw(Prisma.sql`${head}${Prisma.join(part.map((row) => Prisma.sql`(${Prisma.join(row)})`))}`);
  }
}
