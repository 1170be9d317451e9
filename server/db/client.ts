import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient as PostgresClient } from './generated/postgres/client';
import { PrismaClient as SqliteClient } from './generated/sqlite/client';
import { PrismaLibSqlSharedConnections } from './libsql-adapter';

export type { Prisma } from './generated/sqlite/client';
export * from './generated/sqlite/enums';

/**
 * The application is typed against the SQLite client; the PostgreSQL client is generated from the same
 * models (prisma/postgres/schema.prisma is derived from prisma/schema.prisma), so it has the same shape.
 */
export type Db = SqliteClient;
export type Tx = Parameters<Parameters<Db['$transaction']>[0]>[0];
/** Anything that can run queries: the client itself or an open interactive transaction. */
export type Queryable = Db | Tx;

export type DbKind = 'sqlite' | 'postgres';
export const dbKind = (url: string): DbKind => (url.startsWith('file:') ? 'sqlite' : 'postgres');

// Kept on globalThis: Next.js may load this module more than once (route handlers, instrumentation),
// and a client cached by one copy must still be known to the others.
const globalKinds = globalThis as unknown as { swapmeshDbKinds?: WeakMap<object, DbKind> };
const kinds = (globalKinds.swapmeshDbKinds ??= new WeakMap<object, DbKind>());
/** Which database a client or an open transaction talks to. */
export function kindOf(db: Queryable): DbKind {
  const kind = kinds.get(db);
  if (!kind) throw new Error('kindOf: this client was not made by createDb, nor this transaction by transaction()');
  return kind;
}
export const rememberKind = (db: Queryable, kind: DbKind) => kinds.set(db, kind);

const globalAdapters = globalThis as unknown as { swapmeshSqliteAdapters?: WeakMap<object, PrismaLibSqlSharedConnections> };
const sqliteAdapters = (globalAdapters.swapmeshSqliteAdapters ??= new WeakMap());
/** The SQLite adapter a client was made with (server/db/direct.ts reaches the open transaction's connection through it). */
export const sqliteAdapterOf = (db: Db): PrismaLibSqlSharedConnections | undefined => sqliteAdapters.get(db);

// Generous, because on SQLite every transaction of the process is serialized behind one lock.
const transactionOptions = { maxWait: 30_000, timeout: 30_000 };

/**
 * SQLite goes through @prisma/adapter-libsql, which serializes every statement and every transaction of
 * this process behind one lock. Transactions run on their own connection, separate from the one plain
 * queries use: a query issued while a transaction is open waits for it, never sees its uncommitted
 * writes and is never rolled back with it (the better-sqlite3 adapter does not isolate; see the first
 * test of tests/integration/ledger.integration.test.ts). That transaction connection is one dedicated
 * connection reused by every transaction (server/db/libsql-adapter.ts): the adapter as shipped opened a
 * new one per transaction and never released it, two file descriptors each, until the process ran out
 * (tests/integration/sqlite-connections.integration.test.ts).
 */
export function createDb(url: string): Db {
  if (dbKind(url) === 'sqlite') {
    const adapter = new PrismaLibSqlSharedConnections({ url, timeout: 10_000 });
    const client = new SqliteClient({ adapter, transactionOptions });
    rememberKind(client, 'sqlite');
    sqliteAdapters.set(client, adapter);
    return client;
  }
  const client = new PostgresClient({
    adapter: new PrismaPg({ connectionString: url, max: 10 }),
    transactionOptions,
  });
  // The two generated clients differ only in the isolation levels their $transaction accepts.
  const db = client as Db;
  rememberKind(db, 'postgres');
  return db;
}

const globalForDb = globalThis as unknown as { swapmeshDb?: Db };

/** The process-wide client, cached on globalThis so that development hot reloads reuse it. */
export function getDb(): Db {
  if (!globalForDb.swapmeshDb) {
    globalForDb.swapmeshDb = createDb(process.env.DATABASE_URL ?? 'file:./data/swapmesh.db');
  }
  return globalForDb.swapmeshDb;
}
