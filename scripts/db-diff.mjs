// Authors SQL migrations for SQLite and PostgreSQL offline, with Prisma's WebAssembly schema engine.
//
//   node scripts/db-diff.mjs --name add_orders   write prisma/migrations/{sqlite,postgres}/<UTC stamp>_add_orders/
//   node scripts/db-diff.mjs --check             exit 1 when prisma/schema.prisma has changes no migration covers
//
// How: prisma/migrations/schema.snapshot.prisma is a copy of prisma/schema.prisma as of the last
// migration. A new migration is the engine's schema-to-schema diff snapshot → current schema, computed
// once per provider (the PostgreSQL datamodel is the same schema with provider "postgresql"). Such a diff
// needs no database. The engine still opens its connector: for PostgreSQL it probes the server once
// (does schema "public" exist, which version), and a stub adapter answers "yes, version unknown" (the SQL
// came out identical to answering with a real server's version); any other query fails loudly.
// Diffing from the migrations folder instead would need shadow databases, which the WebAssembly engine
// replays unreliably (only the first statement of a script on libsql) and introspects badly through
// adapter-pg (prisma/orm#27403).
// To make sure the snapshot really is what the migrations produce, both commands also apply the SQLite
// migrations to a temporary database with scripts/migrate-lib.mjs and diff that database (introspected
// by the engine through @prisma/adapter-libsql) against the snapshot. The PostgreSQL folder is written
// from the same snapshot in the same step; the integration test applies it to a real server.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS_ROOT, readMigrations, migrate } from './migrate-lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA_FILE = path.join(ROOT, 'prisma/schema.prisma');
const SNAPSHOT_FILE = path.join(MIGRATIONS_ROOT, 'schema.snapshot.prisma');
const SNAPSHOT_HEADER = '// Written by scripts/db-diff.mjs: prisma/schema.prisma as of the latest migration. Do not edit.\n';
const PROVIDERS = { sqlite: 'sqlite', postgres: 'postgresql' }; // migrations folder → Prisma provider
const NO_FILTER = { externalTables: [], externalEnums: [] };

class UsageError extends Error {}

// ── schema texts ────────────────────────────────────────────────────────────────────────────────

/** The same schema for another provider: only the datasource's provider changes. */
function forProvider(schema, provider) {
  const datasource = /(datasource\s+\w+\s*\{[^}]*?\bprovider\s*=\s*)"[^"]*"/;
  if (!datasource.test(schema)) throw new Error('could not find the provider of the datasource block in the schema');
  return schema.replace(datasource, `$1"${PROVIDERS[provider]}"`);
}

/** What an empty database looks like: a datasource and nothing else. */
const emptySchema = (provider) => `datasource db {\n  provider = "${PROVIDERS[provider]}"\n}\n`;

function readSnapshot() {
  if (!existsSync(SNAPSHOT_FILE)) return null;
  const text = readFileSync(SNAPSHOT_FILE, 'utf8');
  return text.startsWith(SNAPSHOT_HEADER) ? text.slice(SNAPSHOT_HEADER.length) : text;
}

// ── the WebAssembly schema engine ──────────────────────────────────────────────────────────────

let enginePromise;

/** Instantiates @prisma/schema-engine-wasm without Node's experimental .wasm imports. */
function loadEngine() {
  enginePromise ??= (async () => {
    const dir = path.dirname(fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm')));
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const { instance } = await WebAssembly.instantiate(readFileSync(path.join(dir, 'schema_engine_bg.wasm')), {
      './schema_engine_bg.js': bindings,
    });
    bindings.__wbg_set_wasm(instance.exports);
    instance.exports.__wbindgen_start();
    const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');
    return { SchemaEngine: bindings.SchemaEngine, bind: bindMigrationAwareSqlAdapterFactory };
  })();
  return enginePromise;
}

/**
 * A driver adapter for diffs between datamodels, which touch no database. The PostgreSQL connector
 * still probes the server once on start-up; anything else means the engine needs a real database.
 */
function offlineAdapterFactory(provider) {
  const refuse = (what) => async () => {
    throw new Error(`the schema engine unexpectedly needed a database (${what}) for a schema-to-schema diff`);
  };
  const adapter = {
    provider,
    adapterName: 'swapmesh-offline',
    async queryRaw(query) {
      if (provider === 'postgres' && /pg_namespace/.test(query.sql) && /version\(\)/.test(query.sql)) {
        // schema exists: yes; server version: unknown
        return { columnNames: ['exists', 'version', 'numeric_version'], columnTypes: [5, 7, 0], rows: [[true, null, null]] };
      }
      throw new Error(`the schema engine unexpectedly needed a database for a schema-to-schema diff (query: ${query.sql})`);
    },
    executeRaw: refuse('executeRaw'),
    executeScript: refuse('executeScript'),
    startTransaction: refuse('startTransaction'),
    async dispose() {},
  };
  return { provider, adapterName: adapter.adapterName, connect: async () => adapter, connectToShadowDb: async () => adapter };
}

/** Runs `fn(engine)` with an engine on `adapterFactory`, turning adapter errors back into their messages. */
async function withEngine(schema, adapterFactory, fn) {
  const { SchemaEngine, bind } = await loadEngine();
  const bound = bind(adapterFactory);
  const engineLogs = [];
  try {
    const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, (line) => engineLogs.push(line), bound);
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } catch (error) {
    const id = /External error id#(\d+)/.exec(String(error?.message))?.[1];
    const original = id === undefined ? undefined : bound.errorRegistry.consumeError(Number(id))?.error;
    if (process.env.DB_DIFF_DEBUG) console.error(engineLogs.join('\n'));
    throw original ?? error;
  }
}

const datamodel = (schema) => ({ tag: 'schemaDatamodel', files: [{ path: 'schema.prisma', content: schema }] });

/** SQL (script) or a human-readable summary taking `from` to `to`, both schema texts; '' when equal. */
async function diffSchemas(provider, from, to, { script }) {
  const fromSchema = forProvider(from, provider);
  const toSchema = forProvider(to, provider);
  const result = await withEngine(toSchema, offlineAdapterFactory(provider), (engine) =>
    engine.diff({ from: datamodel(fromSchema), to: datamodel(toSchema), script, exitCode: true, filters: NO_FILTER }),
  );
  return result.exitCode === 0 ? '' : result.stdout ?? '';
}

/**
 * Applies the SQLite migrations to a temporary database and returns the engine's summary of how
 * that database differs from `schema` ('' when it matches).
 */
async function diffSqliteMigrationsFrom(schema) {
  const dir = mkdtempSync(path.join(tmpdir(), 'db-diff-'));
  try {
    const url = `file:${path.join(dir, 'replay.db')}`;
    await migrate(url, { log: () => {}, warn: () => {}, migrationsDir: path.join(MIGRATIONS_ROOT, 'sqlite') });
    const { PrismaLibSql } = await import('@prisma/adapter-libsql');
    const target = forProvider(schema, 'sqlite');
    const result = await withEngine(target, new PrismaLibSql({ url }), (engine) =>
      engine.diff({
        from: { tag: 'schemaDatasource', files: [{ path: 'schema.prisma', content: target }], configDir: ROOT },
        to: datamodel(target),
        script: false,
        exitCode: true,
        filters: NO_FILTER,
      }),
    );
    return result.exitCode === 0 ? '' : result.stdout ?? '';
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── migration history ──────────────────────────────────────────────────────────────────────────

/** Problems with the migrations folders and the snapshot, as messages. */
async function historyProblems() {
  const names = Object.fromEntries(
    Object.keys(PROVIDERS).map((provider) => [provider, readMigrations(path.join(MIGRATIONS_ROOT, provider)).map((m) => m.name)]),
  );
  const problems = [];
  const onlyIn = (a, b) => names[a].filter((name) => !names[b].includes(name));
  for (const [a, b] of [['sqlite', 'postgres'], ['postgres', 'sqlite']]) {
    const missing = onlyIn(a, b);
    if (missing.length > 0) problems.push(`migration(s) ${missing.join(', ')} exist for ${a} but not for ${b}`);
  }
  const snapshot = readSnapshot();
  const anyMigration = names.sqlite.length + names.postgres.length > 0;
  if (!snapshot) {
    if (anyMigration) problems.push(`${path.relative(ROOT, SNAPSHOT_FILE)} is missing although migrations exist`);
    return problems;
  }
  const replayDiff = await diffSqliteMigrationsFrom(snapshot);
  if (replayDiff) {
    problems.push(
      `the SQLite migrations do not produce ${path.relative(ROOT, SNAPSHOT_FILE)} (a migration was removed or edited, ` +
        `or the snapshot was edited by hand). From the migrated database to the snapshot:\n${indent(replayDiff)}`,
    );
  }
  return problems;
}

const indent = (text) => text.trim().split('\n').map((line) => `    ${line}`).join('\n');

function utcStamp(date) {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** A stamp later than every existing migration, so that name order stays creation order. */
function nextStamp() {
  const existing = Object.keys(PROVIDERS).flatMap((p) => readMigrations(path.join(MIGRATIONS_ROOT, p)).map((m) => m.name.slice(0, 14)));
  let date = new Date();
  while (existing.some((stamp) => stamp >= utcStamp(date))) date = new Date(date.getTime() + 1000);
  return utcStamp(date);
}

function lockFile(provider) {
  return `# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "${PROVIDERS[provider]}"\n`;
}

// ── commands ───────────────────────────────────────────────────────────────────────────────────

async function createMigration(rawName) {
  const name = rawName.trim().replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 200);
  if (!name) throw new UsageError('--name needs letters or digits, e.g. --name add_orders');
  const problems = await historyProblems();
  if (problems.length > 0) throw new Error(`cannot create a migration on top of an inconsistent history:\n- ${problems.join('\n- ')}`);

  const current = readFileSync(SCHEMA_FILE, 'utf8');
  const base = readSnapshot() ?? emptySchema('sqlite');
  const scripts = {};
  for (const provider of Object.keys(PROVIDERS)) scripts[provider] = await diffSchemas(provider, base, current, { script: true });
  if (Object.values(scripts).every((sql) => !sql.trim())) {
    console.log('No schema changes since the last migration: nothing written.');
    return;
  }
  const summary = await diffSchemas('sqlite', base, current, { script: false });

  const folder = `${nextStamp()}_${name}`;
  for (const [provider, sql] of Object.entries(scripts)) {
    const dir = path.join(MIGRATIONS_ROOT, provider, folder);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'migration.sql'), sql);
    writeFileSync(path.join(MIGRATIONS_ROOT, provider, 'migration_lock.toml'), lockFile(provider));
    console.log(`wrote ${path.relative(ROOT, path.join(dir, 'migration.sql'))}`);
  }
  writeFileSync(SNAPSHOT_FILE, SNAPSHOT_HEADER + current);
  console.log(`updated ${path.relative(ROOT, SNAPSHOT_FILE)}\nChanges:\n${indent(summary)}`);
  console.log('Review both migration.sql files (data-preserving steps may need hand edits), then commit them with the snapshot.');
}

async function check() {
  const problems = await historyProblems();
  const current = readFileSync(SCHEMA_FILE, 'utf8');
  const base = readSnapshot() ?? emptySchema('sqlite');
  for (const provider of Object.keys(PROVIDERS)) {
    const pending = await diffSchemas(provider, base, current, { script: false });
    if (pending) {
      problems.push(
        `prisma/schema.prisma has ${provider} changes that no migration covers:\n${indent(pending)}\n` +
          '  Create one with: node scripts/db-diff.mjs --name <what_changed>',
      );
    }
  }
  if (problems.length > 0) {
    console.error(`db-diff --check: migrations are out of date\n- ${problems.join('\n- ')}`);
    process.exitCode = 1;
    return;
  }
  console.log('db-diff --check: migrations match prisma/schema.prisma (sqlite and postgres)');
}

try {
  const { values } = parseArgs({ options: { name: { type: 'string' }, check: { type: 'boolean' } } });
  if (values.check && values.name === undefined) await check();
  else if (values.name !== undefined && !values.check) await createMigration(values.name);
  else throw new UsageError('usage: node scripts/db-diff.mjs --name <migration_name> | --check');
} catch (error) {
  const usage = error instanceof UsageError || String(error?.code).startsWith('ERR_PARSE_ARGS');
  console.error(usage ? error.message : `db-diff: ${error.message ?? error}`);
  process.exitCode = usage ? 2 : 1;
}
