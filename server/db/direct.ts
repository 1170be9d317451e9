import type { InValue } from '@libsql/client';
import type { Connection } from './libsql-adapter';
import type { Guard, WorkerConnection } from './sqlite-worker';
import type { Prisma } from './generated/sqlite/client';
import { sqliteAdapterOf, type Db, type Queryable, type Tx } from './client';
import { DomainError } from '../errors';

/**
 * Raw statements of the hot paths (the market's and the compute scheduler's batches, the ledger batch,
 * live events), sent inside a SQLite transaction straight to that transaction's libsql connection. Through
 * the ORM a raw statement costs a few microseconds per parameter (it maps and types each one), and a
 * batch's multi-row writes carry thousands: most of a batch's time went there. The SQL and its values are
 * the same `Prisma.sql` template either way; values are written as the SQLite adapter writes them (dates
 * as ISO 8601 text with "+00:00", booleans as 0/1). Outside such a transaction, and on PostgreSQL, the
 * statement goes through the ORM as before. Rows come back as the driver reads them: numbers or bigints,
 * date and JSON columns as text, so readers convert with Number(), BigInt(), new Date() and JSON.parse.
 */
const globalConnections = globalThis as unknown as { swapmeshDirectConnections?: WeakMap<object, Connection> };
const connections = (globalConnections.swapmeshDirectConnections ??= new WeakMap());

/** Called by `transaction()` as its callback starts: `tx` runs on the SQLite adapter's open transaction. */
export function rememberConnection(tx: Tx, db: Db): void {
  const connection = sqliteAdapterOf(db)?.openTransaction;
  if (connection) connections.set(tx, connection);
}

/** An ORM call on the `tx` of a transaction outside the ORM (`rawOnlyTx`). */
export class OrmInRawTransaction extends Error {
  constructor(property: string) {
    super(`tx.${property}: this transaction runs outside the ORM and takes raw statements only (server/db/direct.ts)`);
  }
}

/**
 * The `tx` of a transaction outside the ORM (server/db/transaction.ts `rawTransaction`): the functions of this
 * file run on `connection`; any use of it as a Prisma client throws `OrmInRawTransaction`.
 */
export function rawOnlyTx(connection: Connection): Tx {
  const tx = new Proxy(
    {},
    {
      get(_, property) {
        if (property === 'then') return undefined;
        throw new OrmInRawTransaction(String(property));
      },
    },
  ) as Tx;
  connections.set(tx, connection);
  return tx;
}

/**
 * Whether the transaction's connection is the one on its own thread. Not `instanceof`: Next's bundle and
 * the API server's bundle each have their own copy of the class, and the client may come from either.
 */
const onThread = (connection: Connection): connection is WorkerConnection => 'query' in connection && typeof connection.query === 'function';

/** The last date written and its text: a batch's rows mostly share one `now`. */
let lastDate: { time: number; text: string } = { time: NaN, text: '' };

function sqliteValue(value: unknown): InValue {
  // most values are strings and numbers: they skip the `instanceof`, which is slow against Next's wrapped Date
  if (typeof value === 'object' && value instanceof Date) {
    const time = value.getTime();
    if (time !== lastDate.time) lastDate = { time, text: value.toISOString().replace('Z', '+00:00') };
    return lastDate.text;
  }
  return value as InValue;
}

/** A raw query's rows (see above for how values come back). */
export async function rawQuery<T>(db: Queryable, query: Prisma.Sql): Promise<T[]> {
  const connection = connections.get(db);
  if (!connection) return db.$queryRaw<T[]>(query);
  const args = query.values.map(sqliteValue);
  if (onThread(connection)) return (await connection.query(query.sql, args)) as T[];
  const result = await connection.execute({ sql: query.sql, args });
  return result.rows as unknown as T[];
}

/**
 * Several queries of one transaction, independent of each other; their rows, in order. On SQLite's threaded
 * connection they are posted at once and run back to back on its thread (one message each way instead of
 * one per query); elsewhere one after the other.
 */
export async function rawQueryAll<T extends unknown[]>(db: Queryable, queries: { [K in keyof T]: Prisma.Sql }): Promise<{ [K in keyof T]: T[K][] }> {
  const connection = connections.get(db);
  if (connection && onThread(connection)) return connection.queryAll(queries.map((query) => ({ sql: query.sql, args: query.values.map(sqliteValue) }))) as never;
  const rows: unknown[][] = [];
  for (const query of queries) rows.push(await rawQuery(db, query));
  return rows as never;
}

/** A raw statement's count of rows changed. */
export async function rawExecute(db: Queryable, query: Prisma.Sql): Promise<number> {
  const connection = connections.get(db);
  if (!connection) return db.$executeRaw(query);
  const args = query.values.map(sqliteValue);
  if (onThread(connection)) return connection.run(query.sql, args);
  const result = await connection.execute({ sql: query.sql, args });
  return result.rowsAffected;
}

/**
 * Statements of one transaction whose counts nobody needs (rows written for the record): on SQLite's
 * threaded connection they go with the transaction's next statement, at the latest its COMMIT, which then
 * fails if one of them did; elsewhere they run now.
 */
export async function rawExecuteLater(db: Queryable, queries: Prisma.Sql[]): Promise<void> {
  const connection = connections.get(db);
  if (connection && onThread(connection)) {
    for (const query of queries) connection.defer(query.sql, query.values.map(sqliteValue));
    return;
  }
  await rawExecuteAll(db, queries);
}

/**
 * Several statements of one transaction, run in order; their counts of rows changed. On SQLite's
 * threaded connection they are all posted at once and run back to back on its thread (one message each way
 * instead of one per statement); elsewhere one after the other. If one fails the rest may still run:
 * the caller's transaction is given up, as after any failed statement.
 */
export async function rawExecuteAll(db: Queryable, queries: Prisma.Sql[]): Promise<number[]> {
  const connection = connections.get(db);
  if (connection && onThread(connection)) return connection.runAll(queries.map((query) => ({ sql: query.sql, args: query.values.map(sqliteValue) })));
  const counts: number[] = [];
  for (const query of queries) counts.push(await rawExecute(db, query));
  return counts;
}

/** A write of a batch, and, if it must change an exact number of rows, that number and the error otherwise. */
export type Write = { query: Prisma.Sql; guard?: Guard };

/** Writes without a guard. */
export const unguarded = (queries: Prisma.Sql[]): Write[] => queries.map((query) => ({ query }));

/** A write that must change exactly `changes` rows, or it fails with CONFLICT and `message` (a row changed meanwhile). */
export const conflictUnless = (query: Prisma.Sql, changes: number, message: string): Write => ({ query, guard: { changes, error: () => new DomainError('CONFLICT', message) } });

/** Runs `writes` now, in order; a guard not met throws its error (the transaction must then be given up). */
export async function runWrites(db: Queryable, writes: Write[]): Promise<void> {
  const counts = await rawExecuteAll(db, writes.map((write) => write.query));
  writes.forEach((write, i) => {
    if (write.guard && counts[i] !== write.guard.changes) throw write.guard.error();
  });
}

/**
 * `writes` whose only answer needed is that their guards hold. On SQLite's threaded connection they go
 * with the transaction's next statement — at the latest its COMMIT, which then fails with the error of
 * the write that failed or of the guard not met, and the transaction rolls back; elsewhere they run now
 * (`runWrites`).
 */
export async function deferWrites(db: Queryable, writes: Write[]): Promise<void> {
  const connection = connections.get(db);
  if (connection && onThread(connection)) {
    for (const { query, guard } of writes) connection.defer(query.sql, query.values.map(sqliteValue), guard);
    return;
  }
  await runWrites(db, writes);
}
