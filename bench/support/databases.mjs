// Throw-away databases for the HTTP benches: a SQLite file in a temporary folder, or a fresh database on
// a PostgreSQL server — the one given, the shared test cluster when it is up, or the test cluster
// started for the run (and stopped again by `stopClusterIfOurs`, unless `keepPg`).
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export const DEFAULT_TEST_PG = 'postgresql://postgres@127.0.0.1:55433/postgres';

export async function reachable(url) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_500 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** `prefix` names the temporary folders and databases; `audit` is attached to each database made. */
export function benchDatabases({ root, prefix, pgUrl, keepPg }) {
  let stopTestCluster = false;

  async function postgresServer() {
    const given = pgUrl ?? process.env.BENCH_PG_URL ?? process.env.TEST_POSTGRES_URL;
    if (given) return given;
    if (await reachable(DEFAULT_TEST_PG)) return DEFAULT_TEST_PG; // shared: never stopped by the bench
    console.log('Starting the PostgreSQL test cluster (scripts/test-postgres.sh start)…');
    const run = spawnSync('bash', ['scripts/test-postgres.sh', 'start'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
    if (run.status !== 0) throw new Error(`scripts/test-postgres.sh start failed: ${run.stderr || run.stdout}`);
    stopTestCluster = !keepPg;
    return run.stdout.trim().split('\n').at(-1);
  }

  async function sqliteDatabase(audit) {
    const dir = mkdtempSync(path.join(tmpdir(), `swapmesh-${prefix}-`));
    return { kind: 'sqlite', url: `file:${path.join(dir, 'bench.db')}`, audit, drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }

  async function postgresDatabase(audit) {
    const admin = await postgresServer();
    const name = `swapmesh_${prefix}_${randomBytes(5).toString('hex')}`;
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`CREATE DATABASE ${name}`);
    await client.end();
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      kind: 'postgres',
      url: url.toString(),
      audit,
      drop: async () => {
        const c = new pg.Client({ connectionString: admin });
        await c.connect();
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.end();
      },
    };
  }

  function stopClusterIfOurs() {
    if (!stopTestCluster) return;
    stopTestCluster = false;
    spawnSync('bash', ['scripts/test-postgres.sh', 'stop'], { cwd: root, stdio: 'ignore', timeout: 60_000 });
    console.log('Stopped the PostgreSQL test cluster the bench had started.');
  }

  return { sqliteDatabase, postgresDatabase, stopClusterIfOurs };
}
