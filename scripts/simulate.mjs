#!/usr/bin/env node
/**
 * The randomized simulation at full size (issue 9): 10,000 operations by default, on SQLite and on
 * PostgreSQL, through the same test as `npm test` runs at a smaller size
 * (tests/integration/simulation.integration.test.ts).
 *
 *   node scripts/simulate.mjs [--ops 10000] [--seed 123] [--concurrency 24] [--members 24] [--sqlite-only]
 *
 * PostgreSQL: TEST_POSTGRES_URL if set, otherwise the private test cluster (scripts/test-postgres.sh),
 * started for the run and left as it was. A failing run prints its seed; pass it back with --seed to
 * replay the same plan of operations.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] ? args[at + 1] : fallback;
};
const seed = option('seed', process.env.SIM_SEED || String(Math.floor(Math.random() * 2 ** 31)));
const env = {
  ...process.env,
  SIM_OPS: option('ops', process.env.SIM_OPS || '10000'),
  SIM_SEED: seed,
  SIM_CONCURRENCY: option('concurrency', process.env.SIM_CONCURRENCY || '24'),
  SIM_MEMBERS: option('members', process.env.SIM_MEMBERS || '24'),
};

/** Whether the private test cluster already answers (then it belongs to whoever started it: leave it running). */
async function clusterRunning() {
  const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${process.env.TEST_PG_PORT || 55433}/postgres`, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

let startedCluster = false;
if (args.includes('--sqlite-only')) {
  delete env.TEST_POSTGRES_URL;
} else if (!env.TEST_POSTGRES_URL) {
  startedCluster = !(await clusterRunning());
  env.TEST_POSTGRES_URL = execFileSync('bash', ['scripts/test-postgres.sh', 'start'], { cwd: root, encoding: 'utf8' }).trim();
}

console.log(`simulation: ${env.SIM_OPS} operations, seed ${seed}, ${env.SIM_CONCURRENCY} at once, ${env.SIM_MEMBERS} members, ${env.TEST_POSTGRES_URL ? 'SQLite and PostgreSQL' : 'SQLite'}`);
// each database in its own process, so that one exhausting a resource (file descriptors, say) cannot fail the other
let status = 0;
for (const database of env.TEST_POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite']) {
  const run = spawnSync('npx', ['vitest', 'run', '--project', 'integration', 'tests/integration/simulation.integration.test.ts'], { cwd: root, env: { ...env, SIM_DATABASES: database }, stdio: 'inherit' });
  if (run.status !== 0) status = run.status ?? 1;
}
if (startedCluster && process.env.SIM_KEEP_CLUSTER !== '1') spawnSync('bash', ['scripts/test-postgres.sh', 'stop'], { cwd: root, stdio: 'inherit' });
if (status !== 0) console.log(`\nsimulation failed; replay its plan with: node scripts/simulate.mjs --seed ${seed} --ops ${env.SIM_OPS}`);
process.exit(status);
