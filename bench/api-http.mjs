#!/usr/bin/env node
/**
 * How close the API path comes to bare Node, in one run on SQLite:
 *   - bare `node:http` answering {"ok":true} (its own process),
 *   - `GET /api/ping` (a Next.js route, no database),
 *   - `auth.me` signed in (`GET /api/trpc/auth.me?input={}` with the session cookie), the cheapest
 *     signed-in procedure: served by tRPC's Node adapter as `npm start` does now (server/http/api-server.ts),
 *     and by Next's route handler as before (the same build, `SWAPMESH_TRPC_VIA_NEXT=1`),
 * each at --connections (64) for --duration seconds (10), side by side with the target of issue 10
 * (auth.me ≥ 5,000 req/s).
 *
 *   node bench/api-http.mjs [--duration 10] [--connections 64] [--skip-next-route]
 *
 * It builds nothing: run `npm run build` first. Each app is started as `npm start` starts it
 * (`node scripts/start.mjs`) on a free loopback port with a temporary SQLite file, in its own process group,
 * and stopped afterwards; a member signs up over HTTP and its cookie is checked to sign auth.me in before
 * and after the load. The 1-minute load average before each measurement is printed: the machine is shared.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { appLauncher, stopOnExit } from './support/app-process.mjs';
import { AUTH_ME_PATH, measure, startBareNode } from './support/baselines.mjs';
import { benchDatabases } from './support/databases.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TARGET_AUTH_ME = 5_000;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    'skip-next-route': { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
for (const [name, value, max] of [['duration', DURATION, 120], ['connections', CONNECTIONS, 1024]]) {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
}
if (!existsSync(path.join(root, '.next', 'BUILD_ID')) || !existsSync(path.join(root, '.next', 'api-server', 'index.mjs'))) {
  console.error(`No production build in ${root}/.next: run \`npm run build\` first (this bench builds nothing).`);
  process.exit(1);
}

const { started, startApp, stopApp } = appLauncher(root);
const cleanups = [];
stopOnExit(started, () => Promise.allSettled(cleanups.map((c) => c())));

async function signUp(base) {
  const handle = `bench-${randomBytes(3).toString('hex')}`;
  const res = await fetch(`${base}/api/trpc/auth.signUp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle, password: 'correct horse battery staple' }),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('swapmesh_session='))?.split(';')[0];
  if (!res.ok || !cookie) throw new Error(`auth.signUp → ${res.status} ${await res.text()}`);
  return { handle, cookie };
}

async function assertSignedIn(base, { handle, cookie }) {
  const res = await fetch(`${base}${AUTH_ME_PATH}`, { headers: { cookie } });
  const body = await res.json();
  if (res.status !== 200 || body.result?.data?.handle !== handle) throw new Error(`auth.me is not signed in: ${res.status} ${JSON.stringify(body)}`);
}

/** One app (`via`: 'node adapter' or 'next route'): /api/ping and auth.me signed in. */
async function measureApp(databases, via) {
  const database = await databases.sqliteDatabase();
  cleanups.push(database.drop);
  const app = await startApp(database.url, via === 'next route' ? { SWAPMESH_TRPC_VIA_NEXT: '1' } : {});
  try {
    const member = await signUp(app.base);
    await assertSignedIn(app.base, member);
    // a short warm-up, so that both paths are measured past their first compilations and connections
    await measure(`${app.base}${AUTH_ME_PATH}`, { connections: 8, duration: 2, headers: { cookie: member.cookie } });
    const ping = via === 'node adapter' ? await measure(`${app.base}/api/ping`, { connections: CONNECTIONS, duration: DURATION }) : null;
    const me = await measure(`${app.base}${AUTH_ME_PATH}`, { connections: CONNECTIONS, duration: DURATION, headers: { cookie: member.cookie } });
    await assertSignedIn(app.base, member);
    return { ping, me };
  } finally {
    await stopApp(app);
    await database.drop();
  }
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
const row = (what, m, note = '') =>
  `| ${what} | ${fmt(m.rps)} req/s | ${m.p50} / ${m.p99} ms | ${m.failed} | ${m.load.toFixed(2)} | ${note} |`;

const databases = benchDatabases({ root, prefix: 'api' });
console.log(`api-http: ${CONNECTIONS} connections, ${DURATION} s each, ${cpus().length} CPUs, SQLite; autocannon in this process`);

const bare = await startBareNode(started);
let bareResult;
try {
  await measure(bare.base, { connections: 8, duration: 1 });
  bareResult = await measure(bare.base, { connections: CONNECTIONS, duration: DURATION });
} finally {
  await bare.stop();
}
const adapter = await measureApp(databases, 'node adapter');
const nextRoute = args['skip-next-route'] ? null : await measureApp(databases, 'next route');

const share = (m) => `${((m.rps / bareResult.rps) * 100).toFixed(1)}% of bare Node`;
console.log('');
console.log('| what | throughput | latency p50 / p99 | failed | load avg before | |');
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(row('bare `node:http` {"ok":true}', bareResult, 'baseline'));
console.log(row('`GET /api/ping` (Next route, no database)', adapter.ping, share(adapter.ping)));
if (nextRoute) console.log(row('`auth.me` signed in, Next route handler (before)', nextRoute.me, share(nextRoute.me)));
const met = adapter.me.rps >= TARGET_AUTH_ME && adapter.me.failed === 0;
console.log(
  row('`auth.me` signed in, tRPC Node adapter (`npm start`)', adapter.me, `${share(adapter.me)}; target ≥ ${fmt(TARGET_AUTH_ME)} req/s: ${met ? 'met' : 'NOT met'}`),
);
if (nextRoute) console.log(`\nauth.me: ${(adapter.me.rps / nextRoute.me.rps).toFixed(1)}× the Next route handler in the same run.`);
process.exitCode = adapter.me.failed > 0 || (nextRoute && nextRoute.me.failed > 0) ? 1 : 0;
