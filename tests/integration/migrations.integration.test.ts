import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createClient } from '@libsql/client';
import { PrismaLibSql } from '@prisma/adapter-libsql';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as migrateLib from '../../scripts/migrate-lib.mjs';
import { PrismaClient as PostgresClient } from '@/server/db/generated/postgres/client';
import { PrismaClient as SqliteClient } from '@/server/db/generated/sqlite/client';

type Migration = { name: string; script: string; checksum: string };
const { migrate, readMigrations, MIGRATIONS_ROOT } = migrateLib as {
  migrate: (url: string, options?: { log?: (line: string) => void; warn?: (line: string) => void }) => Promise<string[]>;
  readMigrations: (dir: string) => Migration[];
  MIGRATIONS_ROOT: string;
};

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);
const models = [...readFileSync(path.join(root, 'prisma/schema.prisma'), 'utf8').matchAll(/^model\s+(\w+)/gm)].map((m) => m[1]);
const migrationsOf = (provider: 'sqlite' | 'postgres') => readMigrations(path.join(MIGRATIONS_ROOT, provider));

function collect() {
  const lines: string[] = [];
  return { lines, log: (line: string) => lines.push(line), warn: (line: string) => lines.push(line) };
}

type WasmEngine = {
  SchemaEngine: typeof import('@prisma/schema-engine-wasm').SchemaEngine;
  bind: typeof import('@prisma/driver-adapter-utils').bindMigrationAwareSqlAdapterFactory;
};
let wasmEngine: Promise<WasmEngine> | undefined;

/** Prisma's WebAssembly schema engine, instantiated once (its glue module keeps global state). */
function loadPrismaEngine() {
  wasmEngine ??= (async () => {
    const dir = path.dirname(fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm')));
    const bindings = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const { instance } = await WebAssembly.instantiate(readFileSync(path.join(dir, 'schema_engine_bg.wasm')), {
      './schema_engine_bg.js': bindings,
    });
    bindings.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    const { bindMigrationAwareSqlAdapterFactory } = await import('@prisma/driver-adapter-utils');
    return { SchemaEngine: bindings.SchemaEngine, bind: bindMigrationAwareSqlAdapterFactory };
  })();
  return wasmEngine;
}

/** What Prisma's own schema engine says about the history our runner recorded. */
async function prismaEngineDiagnosis(provider: 'sqlite' | 'postgres', adapterFactory: SqlMigrationAwareDriverAdapterFactory) {
  const { SchemaEngine, bind } = await loadPrismaEngine();
  const schema = `datasource db {\n  provider = "${provider === 'sqlite' ? 'sqlite' : 'postgresql'}"\n}\n`;
  const engine = await SchemaEngine.new({ datamodels: [['schema.prisma', schema]] }, () => {}, bind(adapterFactory));
  const baseDir = path.join(MIGRATIONS_ROOT, provider);
  const migrationDirectories = migrationsOf(provider).map((m) => ({
    path: m.name,
    migrationFile: { path: 'migration.sql', content: { tag: 'ok' as const, value: m.script } },
  }));
  try {
    return await engine.diagnoseMigrationHistory({
      migrationsList: { baseDir, lockfile: { path: 'migration_lock.toml', content: null }, shadowDbInitScript: '', migrationDirectories },
      optInToShadowDatabase: false,
      filters: { externalTables: [], externalEnums: [] },
    });
  } finally {
    engine.free();
  }
}

describe('SQLite migrations', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-migrations-'));
  const url = `file:${path.join(dir, 'nested', 'app.db')}`;
  const expected = migrationsOf('sqlite').map((m) => m.name);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has migrations to apply', () => {
    expect(expected.length).toBeGreaterThan(0);
    expect(models.length).toBeGreaterThan(0);
  });

  it('applies every migration to a fresh database file, in WAL mode', async () => {
    const out = collect();
    expect(await migrate(url, out)).toEqual(expected);
    expect(out.lines).toEqual(expected.map((name) => `applied migration ${name}`));

    const client = createClient({ url });
    try {
      const tables = (await client.execute("SELECT name FROM sqlite_master WHERE type = 'table'")).rows.map((r) => r.name);
      expect(tables).toEqual(expect.arrayContaining([...models, '_prisma_migrations']));
      expect((await client.execute('PRAGMA journal_mode')).rows[0]?.journal_mode).toBe('wal');
      const history = (await client.execute('SELECT migration_name, checksum, finished_at, applied_steps_count FROM _prisma_migrations ORDER BY migration_name')).rows;
      expect(history.map((r) => [r.migration_name, r.checksum, r.applied_steps_count])).toEqual(
        migrationsOf('sqlite').map((m) => [m.name, m.checksum, 1]),
      );
      expect(history.every((r) => r.finished_at)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('gives a database the generated Prisma client can write and read', async () => {
    const db = new SqliteClient({ adapter: new PrismaLibSql({ url }) });
    try {
      const created = await db.member.create({ data: { handle: 'migration-test', passwordHash: 'x' } });
      const read = await db.member.findUnique({ where: { handle: 'migration-test' } });
      expect(read?.id).toBe(created.id);
    } finally {
      await db.$disconnect();
    }
  });

  it('is a no-op the second time', async () => {
    const out = collect();
    expect(await migrate(url, out)).toEqual([]);
    expect(out.lines).toEqual(['database is up to date']);
  });

  it("leaves a history Prisma's schema engine considers complete and unedited", async () => {
    const diagnosis = await prismaEngineDiagnosis('sqlite', new PrismaLibSql({ url }));
    expect(diagnosis).toMatchObject({ hasMigrationsTable: true, history: null, editedMigrationNames: [], failedMigrationNames: [] });
  });

  it('refuses to run when an applied migration changed', async () => {
    const client = createClient({ url });
    try {
      const [first] = expected;
      await client.execute({ sql: 'UPDATE _prisma_migrations SET checksum = ? WHERE migration_name = ?', args: ['0'.repeat(64), first!] });
      await expect(migrate(url, collect())).rejects.toThrow(new RegExp(`${first}.*checksum mismatch`));
    } finally {
      client.close();
    }
  });

  it('applies each migration once when several processes, or several runners in one process, start at once', async () => {
    const cli = path.join(root, 'scripts/migrate.mjs');
    const processesUrl = `file:${path.join(dir, 'processes.db')}`;
    const outputs = await Promise.all(
      [1, 2, 3].map(() => run(process.execPath, [cli], { env: { ...process.env, DATABASE_URL: processesUrl } })),
    );
    const appliedLines = outputs.flatMap(({ stdout }) => stdout.split('\n').filter((line) => line.startsWith('applied')));
    expect(appliedLines.sort()).toEqual(expected.map((name) => `applied migration ${name}`));

    const inProcessUrl = `file:${path.join(dir, 'in-process.db')}`;
    const results = await Promise.all([1, 2, 3].map(() => migrate(inProcessUrl, collect())));
    expect(results.flat().sort()).toEqual(expected);

    for (const url of [processesUrl, inProcessUrl]) {
      const client = createClient({ url });
      try {
        expect((await client.execute('SELECT COUNT(*) AS n FROM _prisma_migrations')).rows[0]?.n).toBe(expected.length);
      } finally {
        client.close();
      }
    }
  });

  it('scripts/migrate.mjs defaults to ./data/swapmesh.db in the current directory', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'swapmesh-migrate-cli-'));
    try {
      const env = { ...process.env };
      delete env.DATABASE_URL;
      const { stdout } = await run(process.execPath, [path.join(root, 'scripts/migrate.mjs')], { cwd, env });
      expect(stdout.trim().split('\n')).toEqual(expected.map((name) => `applied migration ${name}`));
      expect(existsSync(path.join(cwd, 'data', 'swapmesh.db'))).toBe(true);
      const again = await run(process.execPath, [path.join(root, 'scripts/migrate.mjs')], { cwd, env });
      expect(again.stdout.trim()).toBe('database is up to date');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('db-diff --check finds no schema change without a migration', async () => {
    const { stdout } = await run(process.execPath, [path.join(root, 'scripts/db-diff.mjs'), '--check'], { cwd: root });
    expect(stdout).toMatch(/migrations match prisma\/schema\.prisma/);
  });
});

describe.skipIf(!process.env.TEST_POSTGRES_URL)('PostgreSQL migrations', () => {
  const admin = process.env.TEST_POSTGRES_URL ?? '';
  const name = `swapmesh_migrations_${randomBytes(6).toString('hex')}`;
  const target = new URL(admin || 'postgresql://unused');
  target.pathname = `/${name}`;
  const url = target.toString();
  const expected = migrationsOf('postgres').map((m) => m.name);

  async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, connectionString = admin) {
    const client = new pg.Client({ connectionString });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  beforeAll(() => withAdmin((c) => c.query(`CREATE DATABASE ${name}`)));
  afterAll(() => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));

  it('three runners started at once apply each migration exactly once', async () => {
    const results = await Promise.all([1, 2, 3].map(() => migrate(url, collect())));
    expect(results.flat().sort()).toEqual(expected);
    const rows = await withAdmin(async (c) => (await c.query('SELECT migration_name, checksum FROM _prisma_migrations ORDER BY migration_name')).rows, url);
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(migrationsOf('postgres').map((m) => [m.name, m.checksum]));
  });

  it('creates the tables, and the generated Prisma client can write and read', async () => {
    const tables = await withAdmin(
      async (c) => (await c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).rows.map((r) => r.tablename),
      url,
    );
    expect(tables).toEqual(expect.arrayContaining([...models, '_prisma_migrations']));
    const db = new PostgresClient({ adapter: new PrismaPg({ connectionString: url }) });
    try {
      const created = await db.member.create({ data: { handle: 'migration-test', passwordHash: 'x' } });
      expect((await db.member.findUnique({ where: { handle: 'migration-test' } }))?.id).toBe(created.id);
    } finally {
      await db.$disconnect();
    }
  });

  it('is a no-op the second time', async () => {
    const out = collect();
    expect(await migrate(url, out)).toEqual([]);
    expect(out.lines).toEqual(['database is up to date']);
  });

  it("leaves a history Prisma's schema engine considers complete and unedited", async () => {
    const diagnosis = await prismaEngineDiagnosis('postgres', new PrismaPg({ connectionString: url }));
    expect(diagnosis).toMatchObject({ hasMigrationsTable: true, history: null, editedMigrationNames: [], failedMigrationNames: [] });
  });

  it('refuses to run when an applied migration changed', async () => {
    const [first] = expected;
    await withAdmin((c) => c.query('UPDATE _prisma_migrations SET checksum = $1 WHERE migration_name = $2', ['0'.repeat(64), first]), url);
    await expect(migrate(url, collect())).rejects.toThrow(new RegExp(`${first}.*checksum mismatch`));
  });
});
