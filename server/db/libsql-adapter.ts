import { LibsqlError } from '@libsql/client';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { WalSync, sqliteFileOf } from './wal-sync';
import { AUTOCHECKPOINT_PAGES, Checkpointer, WorkerConnection } from './sqlite-worker';

/**
 * @prisma/adapter-libsql 7.10 without its descriptor leak: every interactive transaction used to leave a
 * SQLite connection (two file descriptors in WAL mode) open for the life of the process.
 *
 * Why: the adapter builds its client with @libsql/client 0.17, whose local `transaction()` hands the
 * client's own connection to the transaction and lazily opens a new one for the client; nothing ever
 * closes the one the transaction took, and closing it would not help either, since libsql 0.5 keeps a
 * connection's descriptors until garbage collection once it has prepared a statement
 * (tursodatabase/libsql-client-ts#350, tursodatabase/libsql-js#230). So connections must be reused, not
 * opened and closed per transaction.
 *
 * What this does instead: the client the adapter gets runs every statement outside a transaction on one
 * connection, as before, and every transaction on a second, dedicated connection, opened once and reused
 * by each transaction in turn (BEGIN … COMMIT / ROLLBACK on it). A process therefore holds two
 * connections to the file, however many transactions it runs. What the previous setup guaranteed still
 * holds: a transaction's writes live on its own connection, so a query that is not part of it never sees
 * them uncommitted nor is rolled back with it; and transactions run one at a time (the adapter holds its
 * process-wide lock from BEGIN to COMMIT/ROLLBACK, and this client also queues them itself).
 *
 * An in-memory database (the shadow database Prisma may ask for) exists only on the connection that
 * opened it, so there transactions run on the client's one connection; the adapter's lock keeps every
 * other statement out while one is open.
 */
export class PrismaLibSqlSharedConnections extends PrismaLibSql {
  #client: TransactionConnectionClient | null = null;

  override createClient(config: LibsqlConfig): LibsqlClient {
    const main = super.createClient(config);
    const file = sqliteFileOf(config.url);
    // a file's transactions run on a connection of their own, on its own thread where the driver loads there
    const open = file === null ? () => main : () => WorkerConnection.open(file, config.timeout) ?? super.createClient(config);
    this.#client = new TransactionConnectionClient(main, open, file === null ? null : new WalSync(file));
    return this.#client;
  }

  /**
   * Resolves once every transaction committed so far is on disk (server/db/wal-sync.ts): `transaction()`
   * answers its caller only after this.
   */
  durable(): Promise<void> {
    return this.#client?.durable() ?? Promise.resolve();
  }

  /** The log's syncs (commits and syncs so far, their recent times), when transactions commit without syncing (else null). */
  get walSync(): WalSync | null {
    return this.#client?.walSync ?? null;
  }

  /**
   * The connection of the transaction open right now, if any. Transactions run one at a time on this
   * client, so inside a transaction's callback this is that transaction's connection: statements sent
   * on it directly (server/db/direct.ts) are part of the transaction, without the ORM's cost per value.
   */
  get openTransaction(): Connection | null {
    return this.#client?.openTransaction ?? null;
  }

  /** Whether the ORM has connected (made its client) and not closed it since. */
  get connected(): boolean {
    return this.#client !== null && !this.#client.closed;
  }

  /**
   * A write transaction outside the ORM (server/db/transaction.ts `rawTransaction`): its statements go straight
   * to the transaction connection, and it ends with `commit()` or `rollback()`. While it is open, statements of
   * the ORM wait: those of its transactions for their turn, the others until it ends (as they wait for the
   * ORM's own transactions behind the adapter's lock) — the main connection must never wait for SQLite's write
   * lock on the event loop's thread, which the transaction could then never give back.
   */
  rawTransaction(): Promise<{ connection: Connection; transaction: LibsqlTransaction }> {
    if (!this.#client) throw new Error('rawTransaction: the client is not connected yet');
    return this.#client.exclusiveTransaction();
  }
}

type LibsqlConfig = Parameters<PrismaLibSql['createClient']>[0];
type LibsqlClient = ReturnType<PrismaLibSql['createClient']>;
type LibsqlTransaction = Awaited<ReturnType<LibsqlClient['transaction']>>;
type TransactionMode = NonNullable<Parameters<LibsqlClient['batch']>[1]>;
type Statement = Parameters<LibsqlTransaction['execute']>[0];
type Args = Parameters<LibsqlClient['execute']> extends [unknown, (infer A)?] ? A : never;
type ResultSet = Awaited<ReturnType<LibsqlClient['execute']>>;
/** What a transaction needs of its connection: an in-process libsql client, or one on its own thread. */
export type Connection = Pick<LibsqlClient, 'execute' | 'close'> | WorkerConnection;

const BEGIN: Record<TransactionMode, string> = {
  write: 'BEGIN IMMEDIATE',
  read: 'BEGIN TRANSACTION READONLY',
  deferred: 'BEGIN DEFERRED',
};

/** A libsql client whose transactions all run, one after another, on one dedicated connection. */
class TransactionConnectionClient implements LibsqlClient {
  readonly #main: LibsqlClient;
  readonly #open: () => Connection;
  /** The transactions' connection, opened on first use and after one had to be dropped. */
  #connection: Connection | null = null;
  /** Settles when the transaction holding the connection has ended. */
  #turn: Promise<void> = Promise.resolve();
  /** The connection while a transaction is open on it (between BEGIN and its end). */
  openTransaction: Connection | null = null;
  /** While a transaction outside the ORM is open: settles when it ends (the main connection's statements wait for it). */
  #exclusive: Promise<void> | null = null;
  closed = false;
  readonly protocol: string;
  /** The log's syncs for a database file; `#syncing` is it once the connection commits without syncing (WAL mode). */
  readonly #walSync: WalSync | null;
  #syncing: WalSync | null = null;
  #checkpointer: Checkpointer | null = null;

  constructor(main: LibsqlClient, open: () => Connection, walSync: WalSync | null) {
    this.#main = main;
    this.#open = open;
    this.#walSync = walSync;
    this.protocol = main.protocol;
  }

  durable(): Promise<void> {
    return this.#syncing?.durable() ?? Promise.resolve();
  }

  get walSync(): WalSync | null {
    return this.#syncing;
  }

  /** A fresh transaction connection: in WAL mode it commits without an fsync, and `durable()` syncs the log instead. */
  async #prepare(connection: Connection): Promise<void> {
    if (!this.#walSync) return;
    this.#walSync.reopen();
    const mode = await connection.execute('PRAGMA journal_mode');
    this.#syncing = String(mode.rows[0]?.[0]).toLowerCase() === 'wal' ? this.#walSync : null;
    if (!this.#syncing) return;
    await connection.execute('PRAGMA synchronous = NORMAL');
    // the log is copied into the database by a thread of its own; the committing connections only if it falls far behind
    this.#checkpointer ??= Checkpointer.start(this.#walSync.databaseFile);
    if (this.#checkpointer) {
      await connection.execute(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      await this.#main.execute(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
    }
  }

  async execute(stmtOrSql: Statement | string, args?: Args): Promise<ResultSet> {
    while (this.#exclusive) await this.#exclusive;
    return typeof stmtOrSql === 'string' ? this.#main.execute(stmtOrSql, args) : this.#main.execute(stmtOrSql);
  }
  async batch(...call: Parameters<LibsqlClient['batch']>) {
    while (this.#exclusive) await this.#exclusive;
    return this.#main.batch(...call);
  }
  async migrate(...call: Parameters<LibsqlClient['migrate']>) {
    while (this.#exclusive) await this.#exclusive;
    return this.#main.migrate(...call);
  }
  async executeMultiple(sql: string) {
    while (this.#exclusive) await this.#exclusive;
    return this.#main.executeMultiple(sql);
  }
  sync() {
    return this.#main.sync();
  }

  transaction(mode: TransactionMode = 'write'): Promise<LibsqlTransaction> {
    return this.#begin(mode, false).then(({ transaction }) => transaction);
  }

  /** A write transaction during which the main connection's statements wait (`rawTransaction` above). */
  exclusiveTransaction(): Promise<{ connection: Connection; transaction: LibsqlTransaction }> {
    return this.#begin('write', true);
  }

  async #begin(mode: TransactionMode, exclusive: boolean): Promise<{ connection: Connection; transaction: LibsqlTransaction }> {
    if (this.closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED');
    const previous = this.#turn;
    let endTurn!: () => void;
    const turn = new Promise<void>((resolve) => (endTurn = resolve));
    this.#turn = turn;
    await previous;
    if (exclusive) {
      this.#exclusive = turn;
      const end = endTurn;
      endTurn = () => {
        if (this.#exclusive === turn) this.#exclusive = null;
        end();
      };
    }
    let connection: Connection | undefined;
    try {
      if (this.closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED');
      if (!this.#connection) {
        connection = this.#connection = this.#open();
        await this.#prepare(connection);
      }
      connection = this.#connection;
      // on the connection's own thread BEGIN goes with the transaction's first statement (its failure is that statement's)
      if ('defer' in connection) connection.defer(BEGIN[mode]);
      else await connection.execute(BEGIN[mode]);
    } catch (error) {
      // e.g. a connection left inside a transaction by a failure this client did not see: start afresh
      if (connection) this.#drop(connection);
      endTurn();
      throw error;
    }
    this.openTransaction = connection;
    const transaction = new ConnectionTransaction(connection, (reusable, committed) => {
      if (committed) this.#syncing?.noteCommit();
      this.openTransaction = null;
      if (!reusable) this.#drop(connection);
      endTurn();
    });
    return { connection, transaction };
  }

  close() {
    this.closed = true;
    this.#walSync?.reopen();
    this.#checkpointer?.stop();
    this.#checkpointer = null;
    if (this.#connection && this.#connection !== this.#main) this.#connection.close();
    this.#connection = null;
    this.#main.close();
  }
  reconnect() {
    if (this.#connection) this.#drop(this.#connection);
    this.#main.reconnect();
    this.closed = false;
  }

  #drop(connection: Connection) {
    if (this.#connection === connection) this.#connection = null;
    if (connection !== this.#main) {
      try {
        connection.close();
      } catch {
        // already unusable; nothing more to release
      }
    }
  }
}

/** One transaction on the shared transaction connection; `end(reusable)` gives the connection back. */
class ConnectionTransaction implements LibsqlTransaction {
  #connection: Connection | null;
  readonly #end: (reusable: boolean, committed: boolean) => void;

  constructor(connection: Connection, end: (reusable: boolean, committed: boolean) => void) {
    this.#connection = connection;
    this.#end = end;
  }

  get closed() {
    return this.#connection === null;
  }

  execute(stmt: Statement): Promise<ResultSet> {
    return this.#live().execute(stmt);
  }
  async batch(stmts: Statement[]): Promise<ResultSet[]> {
    const results: ResultSet[] = [];
    for (const stmt of stmts) results.push(await this.execute(stmt));
    return results;
  }
  async executeMultiple(): Promise<void> {
    // The client's executeMultiple rolls back whatever transaction the script leaves open, this one included.
    throw new LibsqlError('executeMultiple is not available inside a transaction here', 'NOT_IMPLEMENTED');
  }

  async commit(): Promise<void> {
    const connection = this.#live();
    try {
      await connection.execute('COMMIT');
    } catch (error) {
      // COMMIT can fail and leave the transaction open (SQLITE_BUSY): end it, so the next one starts clean
      await this.#rollback(connection);
      throw error;
    }
    this.#finish(true, true);
  }

  async rollback(): Promise<void> {
    if (this.#connection) await this.#rollback(this.#connection);
  }

  close() {
    if (this.#connection) void this.#rollback(this.#connection);
  }

  async #rollback(connection: Connection) {
    // statements held back for the next message have no use now (and would run before the ROLLBACK)
    if ('discardDeferred' in connection) connection.discardDeferred();
    try {
      await connection.execute('ROLLBACK');
      this.#finish(true);
    } catch (error) {
      // SQLite may already have rolled back on its own (after some errors): the connection is fine
      this.#finish(/no transaction is active/i.test(String((error as Error)?.message)));
    }
  }

  #finish(reusable: boolean, committed = false) {
    if (!this.#connection) return;
    this.#connection = null;
    this.#end(reusable, committed);
  }

  #live(): Connection {
    if (!this.#connection) throw new LibsqlError('The transaction is closed', 'TRANSACTION_CLOSED');
    return this.#connection;
  }
}
