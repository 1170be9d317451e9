import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LibsqlError, type InValue, type ResultSet } from '@libsql/client';

/**
 * The SQLite connection that runs every transaction, on a worker thread of its own. The libsql driver
 * runs a statement synchronously on the thread that calls it, so on the main thread each statement of a
 * batch (parsing, B-tree work, index updates) stopped the event loop; on this machine that was about a
 * third of the coordinator's main-thread time per order. Here the main thread posts each statement and
 * goes on reading requests and matching orders while the worker — on the other core — runs it; a
 * transaction's statements keep their order because the worker takes them one at a time. The worker
 * also keeps each statement prepared (SQLite's parse and plan, redone on every call by the driver),
 * keyed by its text: the ORM's statements and the hot paths' repeat.
 *
 * It does what @libsql/client's local client does with a statement (lib-esm/sqlite3.js `executeStmt`):
 * the same value conversions both ways (integers as numbers, refused when not safe; blobs as
 * ArrayBuffer; booleans as 0/1; dates as their time value) and the same LibsqlError for SQLite's
 * errors, so the Prisma adapter and server/db/direct.ts see no difference.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.libsql);
const db = new Database(workerData.path, { timeout: workerData.timeout });
// a checkpointer (see Checkpointer): copies the log into the database now and then, never waiting for anyone
let timer = null;
if (workerData.checkpointMs) {
  const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  timer = setInterval(() => {
    try { checkpoint.all(); } catch { /* busy: the next turn tries again */ }
  }, workerData.checkpointMs);
}
const statements = new Map();
const MAX_STATEMENTS = ${500};
const MIN_SAFE = -9007199254740991n, MAX_SAFE = 9007199254740991n;
function prepared(sql) {
  let entry = statements.get(sql);
  if (entry) return entry;
  const stmt = db.prepare(sql);
  stmt.safeIntegers(true);
  let returnsData = true;
  try { stmt.raw(true); } catch { returnsData = false; }
  const columns = returnsData ? stmt.columns() : [];
  entry = { stmt, returnsData, columns: columns.map((c) => c.name), columnTypes: columns.map((c) => c.type ?? '') };
  if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value);
  statements.set(sql, entry);
  return entry;
}
function fromSql(value) {
  if (typeof value === 'bigint') {
    if (value < MIN_SAFE || value > MAX_SAFE) throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
    return Number(value);
  }
  if (value instanceof Uint8Array) return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
  return value;
}
function toSql(value) {
  return value instanceof Uint8Array && !Buffer.isBuffer(value) ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : value;
}
function one(sql, args) {
  try {
    const entry = prepared(sql);
    const values = args.map(toSql);
    if (entry.returnsData) {
      const rows = entry.stmt.all(values);
      for (const row of rows) for (let i = 0; i < row.length; i++) row[i] = fromSql(row[i]);
      return { columns: entry.columns, columnTypes: entry.columnTypes, rows };
    }
    const info = entry.stmt.run(values);
    return { changes: info.changes, lastInsertRowid: BigInt(info.lastInsertRowid) };
  } catch (e) {
    statements.delete(sql);
    return { error: { message: String(e && e.message), code: e && e.code, rawCode: e && e.rawCode, sqlite: e instanceof Database.SqliteError, range: e instanceof RangeError } };
  }
}
// one statement, or several run in order with an answer each ({ batch }: one message each way); statements
// deferred by the caller run first, and if one fails, or one guarded changes other than its expected number
// of rows ({ guard: its index }), the message's own statements are not run
parentPort.on('message', (message) => {
  // asked to stop (WorkerConnection.close, Checkpointer.stop): after every statement posted before, between
  // two checkpoints (a thread terminated inside the driver's call aborts the process)
  if (message === 'stop') {
    clearInterval(timer);
    db.close();
    parentPort.close();
    return;
  }
  const { id, sql, args, batch, deferred } = message;
  for (const [i, s] of (deferred ?? []).entries()) {
    const done = one(s.sql, s.args);
    if (!done.error && (s.expect === undefined || done.changes === s.expect)) continue;
    if (!done.error) parentPort.postMessage({ id, guard: i, changes: done.changes });
    else if (batch) parentPort.postMessage({ id, replies: batch.map(() => done) });
    else parentPort.postMessage({ id, ...done });
    return;
  }
  if (batch) parentPort.postMessage({ id, replies: batch.map((s) => one(s.sql, s.args)) });
  else parentPort.postMessage({ id, ...one(sql, args) });
});
`;

type Outcome =
  | { columns: string[]; columnTypes: string[]; rows: unknown[][] }
  | { changes: number; lastInsertRowid: bigint }
  | { error: { message: string; code?: string; rawCode?: number; sqlite: boolean; range: boolean } };
type Reply = { id: number } & (Outcome | { replies: Outcome[] } | { guard: number; changes: number });
type Done = Exclude<Outcome, { error: unknown }>;

type Statement = string | { sql: string; args?: InValue[] | Record<string, InValue> };

// SQLite's primary result codes (an extended code is the primary | (extension << 8)), as @libsql/client names them
const BASE_CODES = [
  'SQLITE_OK', 'SQLITE_ERROR', 'SQLITE_INTERNAL', 'SQLITE_PERM', 'SQLITE_ABORT', 'SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_NOMEM',
  'SQLITE_READONLY', 'SQLITE_INTERRUPT', 'SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTFOUND', 'SQLITE_FULL', 'SQLITE_CANTOPEN',
  'SQLITE_PROTOCOL', 'SQLITE_EMPTY', 'SQLITE_SCHEMA', 'SQLITE_TOOBIG', 'SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_MISUSE',
  'SQLITE_NOLFS', 'SQLITE_AUTH', 'SQLITE_FORMAT', 'SQLITE_RANGE', 'SQLITE_NOTADB', 'SQLITE_NOTICE', 'SQLITE_WARNING',
];
const baseCode = (rawCode: number | undefined) => (rawCode === undefined ? 'SQLITE_UNKNOWN' : (BASE_CODES[rawCode & 0xff] ?? `SQLITE_UNKNOWN_${rawCode & 0xff}`));

const MIN_INTEGER = -9223372036854775808n;
const MAX_INTEGER = 9223372036854775807n;

/** A value as @libsql/client's local client hands it to SQLite. */
function toSql(value: InValue): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError('Only finite numbers (not Infinity or NaN) can be passed as arguments');
    return value;
  }
  if (typeof value === 'bigint') {
    if (value < MIN_INTEGER || value > MAX_INTEGER) throw new RangeError('bigint is too large to be represented as a 64-bit integer and passed as argument');
    return value;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (value instanceof Date) return value.valueOf();
  if (value === undefined) throw new TypeError('undefined cannot be passed as argument to the database');
  return value;
}

function argsOf(statement: Statement): { sql: string; args: unknown[] } {
  if (typeof statement === 'string') return { sql: statement, args: [] };
  if (Array.isArray(statement.args ?? [])) return { sql: statement.sql, args: ((statement.args as InValue[] | undefined) ?? []).map(toSql) };
  throw new TypeError('The transaction connection takes positional arguments only');
}

/** Where the libsql driver is, for the worker (its code is evaluated, so it cannot resolve modules from this file). */
function libsqlPath(): string {
  return createRequire(path.join(process.cwd(), 'package.json')).resolve('libsql');
}

/**
 * A deferred statement's condition: it must change exactly `changes` rows, or the statements sent after it
 * do not run and the one that carried it fails with `error()` (e.g. "a balance moved under the batch").
 */
export type Guard = { changes: number; error: () => Error };

type Deferred = { sql: string; args: unknown[]; expect?: number };

/** One SQLite connection on a worker thread: `execute` as a libsql client's, plus `query` for rows by column name. */
export class WorkerConnection {
  readonly protocol = 'file';
  closed = false;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (reply: Reply) => void; reject: (error: unknown) => void }>();
  #next = 0;
  /** statements whose answers nobody waits for, sent ahead of the next message's (`defer`), and their guards */
  #deferred: Deferred[] = [];
  #guards: (Guard | undefined)[] = [];

  private constructor(file: string, timeout: number | undefined) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: file, timeout, libsql: libsqlPath() } });
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      const waiting = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      // the thread keeps the process alive only while a statement is on it
      if (this.#waiting.size === 0) this.#worker.unref();
      waiting?.resolve(reply);
    });
    const fail = (error: unknown) => {
      this.closed = true;
      for (const waiting of this.#waiting.values()) waiting.reject(new LibsqlError(`The database connection's thread stopped: ${String((error as Error)?.message ?? error)}`, 'CLIENT_CLOSED'));
      this.#waiting.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`exit ${code}`)));
  }

  /** A connection to the database file `file` on its own thread, or null where threads cannot load the driver. */
  static open(file: string, timeout?: number): WorkerConnection | null {
    try {
      return new WorkerConnection(file, timeout);
    } catch {
      return null;
    }
  }

  #post(message: { sql: string; args: unknown[] } | { batch: { sql: string; args: unknown[] }[] }): Promise<Reply> {
    if (this.closed) return Promise.reject(new LibsqlError('The client is closed', 'CLIENT_CLOSED'));
    const id = this.#next++;
    const deferred = this.#deferred.length ? this.#deferred : undefined;
    const guards = this.#guards;
    this.#deferred = [];
    this.#guards = [];
    return new Promise<Reply>((resolve, reject) => {
      if (this.#waiting.size === 0) this.#worker.ref();
      this.#waiting.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...message, deferred });
    }).then((reply) => {
      if ('guard' in reply) throw guards[reply.guard]!.error();
      return reply;
    });
  }

  /**
   * Queues a statement whose answer nobody waits for (a transaction's BEGIN, rows written for the record):
   * it goes to the thread with the next statement and runs before it, saving a message each way. If it
   * fails, the next statement does not run and answers its error instead (a transaction then rolls back).
   */
  defer(sql: string, args: InValue[] = [], guard?: Guard): void {
    if (this.closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED');
    this.#deferred.push({ ...argsOf({ sql, args }), expect: guard?.changes });
    this.#guards.push(guard);
  }

  /** Forgets the deferred statements (a transaction rolling back has no use for them). */
  discardDeferred(): void {
    this.#deferred = [];
    this.#guards = [];
  }

  async #run(statement: Statement): Promise<Done> {
    return settled((await this.#post(argsOf(statement))) as Outcome);
  }

  /** Several statements run in order on the thread, one message each way; each settles on its own. */
  async #runAll(statements: { sql: string; args: InValue[] }[]): Promise<PromiseSettledResult<Done>[]> {
    const reply = (await this.#post({ batch: statements.map(argsOf) })) as { replies: Outcome[] };
    return reply.replies.map((outcome) => {
      try {
        return { status: 'fulfilled', value: settled(outcome) };
      } catch (reason) {
        return { status: 'rejected', reason };
      }
    });
  }

  /** As @libsql/client's `execute`: rows as arrays (the Prisma adapter reads them by index). */
  async execute(statement: Statement, args?: InValue[]): Promise<ResultSet> {
    const reply = await this.#run(typeof statement === 'string' && args ? { sql: statement, args } : statement);
    if ('rows' in reply) return resultSet(reply.columns, reply.columnTypes, reply.rows as unknown as ResultSet['rows'], 0, undefined);
    return resultSet([], [], [], reply.changes, reply.lastInsertRowid);
  }

  /** A statement's rows as objects keyed by column name (server/db/direct.ts). */
  async query(sql: string, args: InValue[]): Promise<Record<string, unknown>[]> {
    return named(await this.#run({ sql, args }));
  }

  /** Several queries' rows, sent together (server/db/direct.ts); the first failure is thrown. */
  async queryAll(statements: { sql: string; args: InValue[] }[]): Promise<Record<string, unknown>[][]> {
    return (await this.#runAll(statements)).map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return named(result.value);
    });
  }

  /** A statement's count of rows changed (server/db/direct.ts). */
  async run(sql: string, args: InValue[]): Promise<number> {
    return changes(await this.#run({ sql, args }));
  }

  /** Several statements' counts of rows changed, sent together (server/db/direct.ts); the first failure is thrown. */
  async runAll(statements: { sql: string; args: InValue[] }[]): Promise<number[]> {
    return (await this.#runAll(statements)).map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return changes(result.value);
    });
  }

  /**
   * Stops the thread once the statements already posted have run (terminating it inside the driver's call can
   * abort the process: see Checkpointer); one still stuck after `STOP_GRACE_MS` (SQLite's busy wait) is terminated.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.discardDeferred();
    this.#worker.postMessage('stop');
    setTimeout(() => void this.#worker.terminate(), STOP_GRACE_MS).unref();
  }
}

/**
 * Checkpoints of a WAL-mode database off the committing threads. Left to SQLite, the COMMIT that takes the
 * log past `wal_autocheckpoint` pages copies the whole log into the database and syncs both files before it
 * returns, so now and then one batch of a book's writer took that much longer, and every answer behind it
 * waited (in the market bench it was half of the transaction thread's COMMIT time: 1,116 → 560 ms over ~600
 * commits without it). Here a thread of its own runs a PASSIVE checkpoint every `everyMs` on its own
 * connection, which copies what no reader still needs and waits for no one; a writer restarts the log from
 * its start once everything in it is copied. The connections that commit raise their own threshold
 * (`AUTOCHECKPOINT_PAGES`) so that they checkpoint only if this thread falls far behind.
 */
export class Checkpointer {
  readonly #worker: Worker;

  private constructor(file: string, everyMs: number) {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: file, checkpointMs: everyMs, libsql: libsqlPath() } });
    // it never keeps the process alive, and a thread that fails only leaves the checkpoints to the committers
    this.#worker.unref();
    this.#worker.on('error', () => undefined);
  }

  static start(file: string, everyMs = CHECKPOINT_EVERY_MS): Checkpointer | null {
    try {
      return new Checkpointer(file, everyMs);
    } catch {
      return null;
    }
  }

  stop(): void {
    this.#worker.postMessage('stop');
  }
}

/** How long a connection's thread may take to finish its statements once asked to stop. */
const STOP_GRACE_MS = 10_000;

/** How often the checkpointer copies the log into the database. */
export const CHECKPOINT_EVERY_MS = 100;
/** The log size, in pages, past which a committing connection checkpoints by itself (SQLite's default is 1,000). */
export const AUTOCHECKPOINT_PAGES = 16_384;

/** An outcome as the caller sees it: SQLite's error as @libsql/client throws it. */
function settled(outcome: Outcome): Done {
  if (!('error' in outcome)) return outcome;
  const { message, code, rawCode, sqlite, range } = outcome.error;
  if (sqlite) throw new LibsqlError(message, baseCode(rawCode), code, rawCode);
  throw range ? new RangeError(message) : new Error(message);
}

function named(outcome: Done): Record<string, unknown>[] {
  if (!('rows' in outcome)) return [];
  const { columns, rows } = outcome;
  return rows.map((row) => {
    const byName: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) if (!(columns[i]! in byName)) byName[columns[i]!] = row[i];
    return byName;
  });
}

const changes = (outcome: Done) => ('changes' in outcome ? outcome.changes : 0);

function resultSet(columns: string[], columnTypes: string[], rows: ResultSet['rows'], rowsAffected: number, lastInsertRowid: bigint | undefined): ResultSet {
  return {
    columns,
    columnTypes,
    rows,
    rowsAffected,
    lastInsertRowid,
    toJSON: () => ({ columns, columnTypes, rows: rows.map((row) => Array.from(row as ArrayLike<unknown>)), rowsAffected, lastInsertRowid: lastInsertRowid === undefined ? null : String(lastInsertRowid) }),
  };
}
