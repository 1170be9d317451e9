// Applies the SQL migrations in prisma/migrations/<provider>/ to a database, without Prisma's native
// schema engine. It keeps Prisma's `_prisma_migrations` table (same columns, sha256 checksums, the
// same advisory lock key on PostgreSQL), so `prisma migrate deploy` on a machine with the native
// engine can take over the same database.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEFAULT_DATABASE_URL = 'file:./data/swapmesh.db';
export const MIGRATIONS_ROOT = fileURLToPath(new URL('../prisma/migrations/', import.meta.url));

// The key Prisma's schema engine locks, so native and JavaScript runners exclude each other.
const PRISMA_ADVISORY_LOCK_KEY = 72707369;

const SQLITE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const POSTGRES_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export class MigrationError extends Error {}

/** 'sqlite' for file: URLs, 'postgres' for postgres(ql):// URLs. */
export function providerOf(url) {
  if (url.startsWith('file:')) return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(url)) return 'postgres';
  throw new MigrationError(`unsupported DATABASE_URL "${url}": use file:… (SQLite) or postgresql://… (PostgreSQL)`);
}

/** The absolute path of a file: URL; relative paths are relative to the current directory. */
export function sqlitePath(url) {
  const withoutQuery = url.replace(/\?.*$/, '');
  if (withoutQuery.startsWith('file://')) return fileURLToPath(withoutQuery);
  return path.resolve(withoutQuery.slice('file:'.length));
}

export function checksum(text) {
  return createHash('sha256').update(text).digest('hex');
}

/** Like Prisma, accept a file whose line endings were converted after it was applied. */
function matchesChecksum(script, recorded) {
  return [script, script.replace(/\r\n/g, '\n'), script.replace(/\r?\n/g, '\r\n')].some((s) => checksum(s) === recorded);
}

/** The migrations of one provider folder, in name order: [{ name, script, checksum }]. */
export function readMigrations(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const script = readFileSync(path.join(dir, name, 'migration.sql'), 'utf8');
      return { name, script, checksum: checksum(script) };
    });
}

/**
 * Checks the recorded history against the folder and returns the migrations still to apply.
 * Throws when an applied migration was edited or a migration is recorded as failed.
 */
function plan(migrations, rows, warn) {
  const live = rows.filter((row) => row.rolled_back_at == null);
  const failed = live.filter((row) => row.finished_at == null);
  if (failed.length > 0) {
    throw new MigrationError(
      `migration ${failed.map((r) => r.migration_name).join(', ')} is recorded as started but not finished in _prisma_migrations; ` +
        'repair the database, then mark it rolled back or applied (prisma migrate resolve) before starting again',
    );
  }
  const applied = new Map(live.map((row) => [row.migration_name, row]));
  const edited = migrations.filter((m) => applied.has(m.name) && !matchesChecksum(m.script, applied.get(m.name).checksum));
  if (edited.length > 0) {
    throw new MigrationError(
      `refusing to migrate: applied migration(s) ${edited.map((m) => m.name).join(', ')} changed since they were applied ` +
        '(checksum mismatch). Restore the original migration.sql and put the change in a new migration.',
    );
  }
  const known = new Set(migrations.map((m) => m.name));
  const unknown = [...applied.keys()].filter((name) => !known.has(name));
  if (unknown.length > 0) warn(`warning: the database has migration(s) not in this folder: ${unknown.join(', ')}`);
  return migrations.filter((m) => !applied.has(m.name));
}

const sqliteTimestamp = (date) => date.toISOString().replace('Z', '+00:00');

// SQLite waits for locks synchronously, so two runners in one process would block each other's
// thread; they take turns per file instead. Other processes are excluded by SQLite's own locks.
const sqliteTurns = new Map();

async function migrateSqlite(url, migrations, options) {
  const file = sqlitePath(url);
  const previous = sqliteTurns.get(file) ?? Promise.resolve();
  const turn = previous.catch(() => {}).then(() => migrateSqliteFile(file, migrations, options));
  sqliteTurns.set(file, turn);
  try {
    return await turn;
  } finally {
    if (sqliteTurns.get(file) === turn) sqliteTurns.delete(file);
  }
}

async function migrateSqliteFile(file, migrations, { log, warn }) {
  const { createClient } = await import('@libsql/client');
  mkdirSync(path.dirname(file), { recursive: true });
  // One connection, so that the pragmas below apply to the transactions too.
  const client = createClient({ url: `file:${file}`, concurrency: 1, timeout: 30_000 });
  const applied = [];
  try {
    await client.execute('PRAGMA journal_mode = WAL');
    // Table rebuilds drop and re-create tables; with enforcement on, DROP TABLE would cascade deletes.
    // Integrity is checked with foreign_key_check before each commit instead.
    await client.execute('PRAGMA foreign_keys = OFF');
    for (let first = true; ; first = false) {
      // BEGIN IMMEDIATE takes the write lock before reading the history, so concurrent runners
      // apply each migration once.
      const tx = await client.transaction('write');
      try {
        await tx.execute(SQLITE_MIGRATIONS_TABLE);
        const { rows } = await tx.execute('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');
        const [migration] = plan(migrations, rows, first ? warn : () => {});
        if (!migration) break;
        const startedAt = new Date();
        try {
          await tx.executeMultiple(migration.script);
          const violations = await tx.execute('PRAGMA foreign_key_check');
          if (violations.rows.length > 0) {
            const { table, parent } = violations.rows[0];
            throw new Error(`it leaves ${violations.rows.length} foreign key violation(s), e.g. "${table}" → "${parent}"`);
          }
        } catch (error) {
          throw failed(migration, error);
        }
        await tx.execute({
          sql: `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
                VALUES (?, ?, ?, ?, NULL, NULL, ?, 1)`,
          args: [randomUUID(), migration.checksum, sqliteTimestamp(new Date()), migration.name, sqliteTimestamp(startedAt)],
        });
        await tx.commit();
        applied.push(migration.name);
        log(`applied migration ${migration.name}`);
      } finally {
        tx.close(); // rolls back unless committed
      }
    }
  } finally {
    client.close();
  }
  return applied;
}

function postgresConnection(url) {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

const quoteIdent = (name) => `"${name.replace(/"/g, '""')}"`;

async function migratePostgres(url, migrations, { log, warn }) {
  const { default: pg } = await import('pg');
  const { connectionString, schema } = postgresConnection(url);
  const client = new pg.Client({ connectionString });
  await client.connect();
  const applied = [];
  try {
    const { rows: [{ locked }] } = await client.query('SELECT pg_try_advisory_lock($1) AS locked', [PRISMA_ADVISORY_LOCK_KEY]);
    if (!locked) {
      warn('another process is migrating this database: waiting for it to finish');
      await client.query('SELECT pg_advisory_lock($1)', [PRISMA_ADVISORY_LOCK_KEY]);
    }
    try {
      if (schema) {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
        await client.query(`SET search_path TO ${quoteIdent(schema)}`);
      }
      await client.query(POSTGRES_MIGRATIONS_TABLE);
      const { rows } = await client.query('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');
      for (const migration of plan(migrations, rows, warn)) {
        const startedAt = new Date();
        try {
          await client.query('BEGIN');
          // No parameters: the simple query protocol runs a multi-statement script.
          await client.query(migration.script);
          await client.query(
            `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
             VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, $4, 1)`,
            [randomUUID(), migration.checksum, migration.name, startedAt],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw failed(migration, error);
        }
        applied.push(migration.name);
        log(`applied migration ${migration.name}`);
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_KEY]).catch(() => {});
    }
  } finally {
    await client.end();
  }
  return applied;
}

function failed(migration, error) {
  return new MigrationError(`migration ${migration.name} failed and was rolled back: ${error.message}`, { cause: error });
}

/**
 * Applies the pending migrations for `url` and returns their names.
 * Options: log (progress lines), warn (warnings), migrationsDir (defaults to prisma/migrations/<provider>).
 */
export async function migrate(url = DEFAULT_DATABASE_URL, options = {}) {
  const log = options.log ?? console.log;
  const warn = options.warn ?? console.warn;
  const provider = providerOf(url);
  const migrations = readMigrations(options.migrationsDir ?? path.join(MIGRATIONS_ROOT, provider));
  const applied = provider === 'sqlite'
    ? await migrateSqlite(url, migrations, { log, warn })
    : await migratePostgres(url, migrations, { log, warn });
  if (applied.length === 0) log('database is up to date');
  return applied;
}
