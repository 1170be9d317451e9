#!/usr/bin/env node
/**
 * End-to-end `market.placeOrder` over HTTP against the production build, on SQLite and on PostgreSQL:
 * orders per second and p50/p99 latency with concurrent clients (autocannon), one order per request
 * and with tRPC request batching (k orders per request).
 *
 *   node bench/market-http.mjs [--duration 10] [--connections 64] [--batch 16] [--rate 1000] [--members 20]
 *                              [--modes plain,batch,rate]
 *                              [--baseline-seconds 5] [--only sqlite|postgres] [--pg-url postgresql://…] [--keep-pg]
 *
 * It builds nothing: run `npm run build` first (it refuses to start without .next/BUILD_ID). For each
 * database it starts the app as `npm start` would (`node scripts/start.mjs`, which applies migrations
 * and runs `next start`) on a free loopback port, in its own process group, waits for /api/health,
 * signs members up over HTTP (`auth.signUp`, session from the `swapmesh_session` cookie), has the first
 * create a community per mode (`community.create`) and the others join them (`community.join`). Then
 * autocannon:
 *   - plain:  N connections, each signed in as one member, POST /api/trpc/market.placeOrder
 *   - batch:  the same, POST /api/trpc/market.placeOrder,…(k times)?batch=1 with {"0":{…},…}
 *   - rate:   plain requests offered open-loop at --rate orders/s, evenly spaced, over a pool of N
 *             keep-alive connections (node:http): the latency at a fixed load rather than at saturation,
 *             each answer timed from when its request was due (so a generator that falls behind counts
 *             against the app, not for it). autocannon's own rate limit is not used: it lets each
 *             connection send its share of a second as fast as it is answered from the second's start,
 *             which is closed-loop bursts, not an open loop.
 *             It starts 3 s after the mode before it (what that left, its log's checkpoint and garbage, is done),
 *             and its slow answers (over 50 ms) are printed as episodes, each beside the slowest sync of SQLite's
 *             log that ran during it (system.health, read as the first member, whom the run makes administrator).
 * Before the load, in the same run, the baselines: bare `node:http` and `auth.me` signed in
 * (bench/support/baselines.mjs), at the same number of connections; before the rate mode, the disk's: a bare
 * group-commit loop (write + fdatasync) beside the database file, offered the same rate (`durableLoop`).
 * Members alternate between buyers and sellers (one side each, so nobody's bid meets their own ask);
 * bids mostly above a mid price and asks mostly below, so most orders cross; quantities 1–5; one window
 * for every order; a fresh community (an empty book) per mode.
 * orders/s = successful orders / duration (for batch that is requests/s × k when nothing fails).
 * "app CPU µs/order" is the app process's CPU time (user + system, from /proc) over the mode divided by
 * its successful orders, and "app CPU used" that time over the mode's duration (100% = one core): on a
 * shared 2-core machine the app rarely gets a whole core, and these say what it would do with one.
 * Afterwards it stops the app and reads the database directly: orders, contracts, overfilled orders
 * (contracts + remaining != quantity), crossed pairs left in the book, and the ledger sums
 * (SUM(balance) of "Account" must be 0 and equal, account by account, the sum of its postings).
 *
 * SQLite: a temporary file, deleted afterwards. PostgreSQL: a fresh database on the server named by
 * --pg-url, else $BENCH_PG_URL, else $TEST_POSTGRES_URL, else the test cluster of
 * scripts/test-postgres.sh (started if it is not running, and then stopped again unless --keep-pg);
 * the database is dropped afterwards. Every process the bench starts is stopped (process group).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { appLauncher, cpuSeconds, stopOnExit } from './support/app-process.mjs';
import { AUTH_ME_PATH, durableLoop, measure, startBareNode } from './support/baselines.mjs';
import { benchDatabases } from './support/databases.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CREDIT = 1_000_000;
const HOUR = 3_600_000;

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    batch: { type: 'string', default: '16' },
    rate: { type: 'string', default: '1000' },
    'baseline-seconds': { type: 'string', default: '5' },
    members: { type: 'string', default: '20' },
    only: { type: 'string' },
    modes: { type: 'string', default: 'plain,batch,rate' },
    'pg-url': { type: 'string' },
    'keep-pg': { type: 'boolean', default: false },
  },
});
const DURATION = Number(args.duration);
const CONNECTIONS = Number(args.connections);
const BATCH = Number(args.batch);
const MEMBERS = Number(args.members);
const RATE = Number(args.rate);
/** --modes: which of plain, batch and rate to run (all by default; e.g. one alone to profile it) */
const MODES = new Set(args.modes.split(',').map((m) => m.trim()));
const BASELINE_SECONDS = Number(args['baseline-seconds']);
for (const [name, value, max] of [['duration', DURATION, 120], ['connections', CONNECTIONS, 256], ['batch', BATCH, 100], ['members', MEMBERS, 200], ['rate', RATE, 100_000], ['baseline-seconds', BASELINE_SECONDS, 60]]) {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
}
if (MEMBERS < 2) throw new Error('--members must be at least 2 (one buyer, one seller)');
if (args.only && !['sqlite', 'postgres'].includes(args.only)) throw new Error('--only is sqlite or postgres');
if (!existsSync(path.join(root, '.next', 'BUILD_ID'))) {
  console.error(`No production build in ${root}/.next: run \`npm run build\` first (this bench builds nothing).`);
  process.exit(1);
}

// ------------------------------------------------------------------------------------------------
// processes we start, so that every exit path stops them

const { started, startApp, stopApp } = appLauncher(root); // child processes, each leading its own process group
let currentDatabase = null; // dropped on an interrupt too
stopOnExit(started, async () => currentDatabase?.drop());

// ------------------------------------------------------------------------------------------------
// tRPC over HTTP, plain JSON (no transformer)

async function call(base, procedure, input, cookie) {
  const res = await fetch(`${base}/api/trpc/${procedure}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(input),
  });
  const body = await res.json();
  if (!res.ok || body.error) throw new Error(`${procedure} → ${res.status}: ${JSON.stringify(body.error ?? body).slice(0, 500)}`);
  const setCookie = res.headers.getSetCookie().find((c) => c.startsWith('swapmesh_session='));
  return { data: body.result.data, cookie: setCookie ? setCookie.split(';')[0] : null };
}

async function query(base, procedure, cookie) {
  const res = await fetch(`${base}/api/trpc/${procedure}`, { headers: { cookie } });
  const body = await res.json();
  if (!res.ok || body.error) throw new Error(`${procedure} → ${res.status}: ${JSON.stringify(body.error ?? body).slice(0, 500)}`);
  return body.result.data;
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * MEMBERS members signed up over HTTP; the first creates one community per mode (so every mode starts
 * from an empty book), the others join them all.
 */
async function setUpMarket(base, modes, tag) {
  const handles = Array.from({ length: MEMBERS }, (_, i) => `bench-${tag}-${i}`);
  const signedUp = await mapLimit(handles, 4, async (handle) => {
    const { data, cookie } = await call(base, 'auth.signUp', { handle, password: 'correct horse battery staple' });
    if (!cookie) throw new Error('auth.signUp set no swapmesh_session cookie');
    return { id: data.member.id, handle, cookie };
  });
  const communities = [];
  for (const [i, mode] of modes.entries()) {
    const slug = `bench-${tag}-${i}`;
    // a large grant: buyers' escrow is only released by sign-off, which the bench never does
    const { data } = await call(
      base,
      'community.create',
      { name: `Bench ${tag} ${mode}`, slug, commissionBps: 100, startingGrant: 1_000_000 * CREDIT, inviteOnly: false },
      signedUp[0].cookie,
    );
    await mapLimit(signedUp.slice(1), 4, (m) => call(base, 'community.join', { slug }, m.cookie));
    communities.push(data.id);
  }
  return { communities, members: signedUp.map((m, i) => ({ ...m, side: i % 2 === 0 ? 'BUY' : 'SELL' })) };
}

// ------------------------------------------------------------------------------------------------
// the load

// one window for every order of the run, so every bid is eligible for every ask of another member
const WINDOW_START = Date.now() + HOUR;
const WINDOW = { windowStart: new Date(WINDOW_START).toISOString(), windowEnd: new Date(WINDOW_START + 2 * HOUR).toISOString() };

function orderMaker(communityId) {
  const MID = 10 * CREDIT;
  const STEP = CREDIT / 10;
  const int = (lo, hi) => lo + Math.floor(Math.random() * (hi - lo + 1));
  // bids mostly above the mid and asks mostly below, so most orders cross and the book stays shallow
  return (side) => ({
    communityId,
    side,
    category: 'COMPUTE',
    unit: 'CPU_SECOND',
    quantity: int(1, 5),
    price: MID + (side === 'BUY' ? int(-1, 6) : int(-6, 1)) * STEP,
    kind: 'STANDING',
    ...WINDOW,
  });
}

/** Counts the orders a response placed and the ones it refused (a batch answers 207 when some fail). */
function tally(counts, status, body, k) {
  let ok = 0;
  if (k === 1) {
    if (status === 200) ok = 1;
    else counts.failed++;
  } else {
    try {
      for (const item of JSON.parse(body)) {
        if (item.result) ok++;
        else counts.failed++;
      }
    } catch {
      counts.failed += k;
    }
  }
  counts.ok += ok;
  const second = Math.floor((Date.now() - counts.startedAt) / 1_000);
  counts.perSecond[second] = (counts.perSecond[second] ?? 0) + ok;
  if (status !== 200 && counts.samples.length < 3) counts.samples.push(`${status} ${String(body).slice(0, 300)}`);
}

/** The pause before the open loop when other modes ran before it. */
const SETTLE_MS = 3_000;

/** An answer slower than this is counted as slow in the open loop (the target's p99). */
const SLOW_MS = 50;

/**
 * The open loop's slow answers (`due`: epoch ms the request was due; `ms`: its latency) grouped into episodes:
 * answers due within 250 ms of the previous slow one belong to its episode. Beside each episode, the longest slow sync
 * of SQLite's log (over 20 ms from its start until the app heard it was done, which takes longer when the event loop
 * is held up too: `logSyncs.slowest` of system.health) that ran during it: every answer waits for one.
 */
function slowEpisodes(slow, startedAt, logSyncs) {
  const episodes = [];
  for (const answer of [...slow].sort((a, b) => a.due - b.due)) {
    const last = episodes.at(-1);
    if (last && answer.due - last.lastDue <= 250) {
      last.count++;
      last.lastDue = answer.due;
      last.end = Math.max(last.end, answer.due + answer.ms);
    } else episodes.push({ firstDue: answer.due, lastDue: answer.due, end: answer.due + answer.ms, count: 1 });
  }
  const syncs = logSyncs?.slowest ?? [];
  return {
    count: slow.length,
    episodes: episodes.map((e) => ({
      atSeconds: (e.firstDue - startedAt) / 1000,
      answers: e.count,
      logSyncMs: Math.max(0, ...syncs.filter((sync) => sync.endedAt >= e.firstDue && sync.endedAt - sync.ms <= e.end).map((sync) => sync.ms)) || null,
    })),
    logSyncs,
  };
}

/**
 * Plain orders offered open-loop at `rate` per second for DURATION seconds: request i is due at start +
 * i / rate, sent on one of CONNECTIONS keep-alive sockets (queued in the agent when all are busy), and its
 * latency runs from when it was due. Each member's orders come from its own side, as in the other modes.
 */
async function openLoop(app, market, communityId, rate) {
  const cpuBefore = cpuSeconds(app.child.pid);
  const make = orderMaker(communityId);
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const url = new URL('/api/trpc/market.placeOrder', app.base);
  const counts = { ok: 0, failed: 0, samples: [], perSecond: [], startedAt: Date.now() };
  const latencies = [];
  const slow = [];
  let errors = 0;
  let non2xx = 0;
  const total = rate * DURATION;
  const send = (i, due) =>
    new Promise((resolve) => {
      const member = market.members[i % market.members.length];
      const body = JSON.stringify(make(member.side));
      const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), cookie: member.cookie } }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - due;
          latencies.push(ms);
          if (ms > SLOW_MS) slow.push({ due: performance.timeOrigin + due, ms });
          if (res.statusCode !== 200) non2xx++;
          tally(counts, res.statusCode, Buffer.concat(chunks).toString(), 1);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });
  const start = performance.now();
  const dueAt = (i) => start + (i * 1000) / rate;
  const inFlight = [];
  for (let i = 0; i < total; ) {
    const now = performance.now();
    // every request due by now goes out; then wait for the next one's time
    for (; i < total && dueAt(i) <= now; i++) inFlight.push(send(i, dueAt(i)));
    if (i < total) await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt(i) - performance.now())));
  }
  await Promise.all(inFlight);
  const seconds = (performance.now() - start) / 1000;
  agent.destroy();
  const cpu = cpuSeconds(app.child.pid) - cpuBefore;
  latencies.sort((a, b) => a - b);
  const at = (q) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN);
  const health = await query(app.base, 'system.health', market.members[0].cookie).catch(() => null);
  return {
    mode: `${rate}/s offered`,
    slowAnswers: slowEpisodes(slow, start + performance.timeOrigin, health?.logSyncs ?? null),
    cpuMicrosPerOrder: counts.ok > 0 ? (cpu * 1e6) / counts.ok : NaN,
    appCpuShare: cpu / seconds,
    connections: CONNECTIONS,
    requestsPerSecond: latencies.length / seconds,
    ordersPerSecond: counts.ok / seconds,
    p50: at(0.5),
    p99: at(0.99),
    p90: at(0.9),
    max: Math.round(latencies.at(-1) ?? NaN),
    requests: latencies.length,
    orders: counts.ok,
    failedOrders: counts.failed,
    errors,
    non2xx,
    samples: counts.samples,
    perSecond: Array.from({ length: DURATION }, (_, i) => counts.perSecond[i] ?? 0),
  };
}

/** Orders as fast as they are answered: N connections, each request one order or a tRPC batch of `k`. */
async function load(app, market, communityId, k) {
  const base = app.base;
  const cpuBefore = cpuSeconds(app.child.pid);
  const make = orderMaker(communityId);
  const counts = { ok: 0, failed: 0, samples: [], perSecond: [], startedAt: Date.now() };
  let assigned = 0; // connections given a member so far
  let spare = 0; // first requests, built before their connection has a member
  const route = k === 1 ? '/api/trpc/market.placeOrder' : `/api/trpc/${Array(k).fill('market.placeOrder').join(',')}?batch=1`;
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: DURATION,
    timeout: 30,
    // each connection is one member: setupClient runs once per connection, and its initialContext
    // is what the connection's context is reset to between requests
    initialContext: {},
    setupClient(client) {
      client.opts.initialContext.member = market.members[assigned++ % market.members.length];
    },
    requests: [
      {
        method: 'POST',
        path: route,
        setupRequest(req, context) {
          // the very first request of a connection is built before setupClient: take any member
          const member = context.member ?? market.members[spare++ % market.members.length];
          const body =
            k === 1 ? make(member.side) : Object.fromEntries(Array.from({ length: k }, (_, i) => [String(i), make(member.side)]));
          return { ...req, headers: { 'content-type': 'application/json', cookie: member.cookie }, body: JSON.stringify(body) };
        },
        onResponse(status, body) {
          tally(counts, status, body, k);
        },
      },
    ],
  });
  const cpu = cpuSeconds(app.child.pid) - cpuBefore;
  return {
    mode: k === 1 ? 'plain' : `batch ×${k}`,
    // the app's CPU per successful order: its ceiling on one core is 1 / this, however busy the machine was
    cpuMicrosPerOrder: counts.ok > 0 ? (cpu * 1e6) / counts.ok : NaN,
    appCpuShare: cpu / result.duration,
    connections: CONNECTIONS,
    requestsPerSecond: result.requests.total / result.duration,
    ordersPerSecond: counts.ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    p90: result.latency.p90,
    max: result.latency.max,
    requests: result.requests.total,
    orders: counts.ok,
    failedOrders: counts.failed,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    samples: counts.samples,
    perSecond: Array.from({ length: DURATION }, (_, i) => counts.perSecond[i] ?? 0),
  };
}

// ------------------------------------------------------------------------------------------------
// reading the database back

const AUDIT = {
  orders: 'SELECT COUNT(*) AS n FROM "Order"',
  bids: `SELECT COUNT(*) AS n FROM "Order" WHERE "side" = 'BUY'`,
  contracts: 'SELECT COUNT(*) AS n FROM "Contract"',
  traded: 'SELECT COALESCE(SUM("quantity"), 0) AS n FROM "Contract"',
  balances: 'SELECT COALESCE(SUM("balance"), 0) AS n FROM "Account"',
  postings: 'SELECT COALESCE(SUM("amount"), 0) AS n FROM "Posting"',
  accountsOff: `SELECT COUNT(*) AS n FROM "Account" a
    LEFT JOIN (SELECT "accountId", SUM("amount") AS s FROM "Posting" GROUP BY "accountId") p ON p."accountId" = a."id"
    WHERE a."balance" <> COALESCE(p.s, 0)`,
  overfilled: `SELECT COUNT(*) AS n FROM "Order" o
    LEFT JOIN (SELECT id, SUM(q) AS f FROM (SELECT "buyOrderId" AS id, "quantity" AS q FROM "Contract"
                                            UNION ALL SELECT "sellOrderId", "quantity" FROM "Contract") x GROUP BY id) c ON c.id = o."id"
    WHERE o."remaining" < 0 OR o."quantity" <> o."remaining" + COALESCE(c.f, 0)`,
  open: `SELECT "communityId" AS book, "memberId" AS member, "side" AS side, "price" AS price FROM "Order" WHERE "status" = 'OPEN' AND "remaining" > "locked"`,
};

/** Bids left in a book at or above an ask of another member in the same book (one category, one unit, one window). */
function crossedPairs(open) {
  const books = new Map();
  for (const o of open) books.set(o.book, [...(books.get(o.book) ?? []), o]);
  let crossed = 0;
  for (const orders of books.values()) crossed += crossedInBook(orders);
  return crossed;
}

function crossedInBook(open) {
  const bids = open.filter((o) => o.side === 'BUY').sort((a, b) => Number(b.price) - Number(a.price));
  const asks = open.filter((o) => o.side === 'SELL').sort((a, b) => Number(a.price) - Number(b.price));
  let crossed = 0;
  for (const bid of bids) {
    const reachable = asks.filter((a) => Number(a.price) <= Number(bid.price));
    if (reachable.length === 0) break;
    if (reachable.some((a) => a.member !== bid.member)) crossed++;
  }
  return crossed;
}

async function auditSqlite(url) {
  const { createClient } = await import('@libsql/client');
  const db = createClient({ url });
  try {
    const out = {};
    for (const [key, sql] of Object.entries(AUDIT)) {
      const { rows } = await db.execute(sql);
      out[key] = key === 'open' ? rows.map((r) => ({ book: r.book, member: r.member, side: r.side, price: r.price })) : Number(rows[0].n);
    }
    return out;
  } finally {
    db.close();
  }
}

async function auditPostgres(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out = {};
    for (const [key, sql] of Object.entries(AUDIT)) {
      const { rows } = await client.query(sql);
      out[key] = key === 'open' ? rows : Number(rows[0].n);
    }
    return out;
  } finally {
    await client.end();
  }
}

// ------------------------------------------------------------------------------------------------
// databases

const databases = benchDatabases({ root, prefix: 'bench', pgUrl: args['pg-url'], keepPg: args['keep-pg'] });

// ------------------------------------------------------------------------------------------------

async function benchDatabase(database) {
  const t0 = Date.now();
  const tag = randomBytes(3).toString('hex');
  // the first member is the coordinator's administrator (system.health: the log's sync times)
  const app = await startApp(database.url, { SWAPMESH_ADMINS: `bench-${tag}-0` });
  let runs;
  const baselines = {};
  try {
    const market = await setUpMarket(app.base, ['plain', 'batch', 'rate', 'warm-up'], tag);
    // warm up, in a community of its own: the first requests load the tRPC route and the database client
    const make = orderMaker(market.communities[3]);
    for (const m of market.members.slice(0, 4)) await call(app.base, 'market.placeOrder', make(m.side), m.cookie);
    // the baselines of this run: bare node:http, and the cheapest signed-in procedure of this app
    const bare = await startBareNode(started);
    try {
      await measure(bare.base, { connections: 8, duration: 1 });
      baselines.bare = await measure(bare.base, { connections: CONNECTIONS, duration: BASELINE_SECONDS });
    } finally {
      await bare.stop();
    }
    const cookie = market.members[0].cookie;
    await measure(`${app.base}${AUTH_ME_PATH}`, { connections: 8, duration: 1, headers: { cookie } });
    baselines.authMe = await measure(`${app.base}${AUTH_ME_PATH}`, { connections: CONNECTIONS, duration: BASELINE_SECONDS, headers: { cookie } });
    runs = [];
    if (MODES.has('plain')) runs.push(await load(app, market, market.communities[0], 1));
    if (MODES.has('batch')) runs.push(await load(app, market, market.communities[1], BATCH));
    if (MODES.has('rate')) {
      // the open loop measures a steady rate: it starts once what the modes before it left (the log's checkpoint,
      // a collection of their garbage, their sockets closing) is done
      if (runs.length > 0) await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      // the disk's own ceiling at the same rate, just before (SQLite: beside its file; PostgreSQL's data is on the same disk here)
      baselines.durable = await durableLoop(database.kind === 'sqlite' ? path.dirname(database.url.replace(/^file:/, '')) : tmpdir(), { rate: RATE, seconds: DURATION });
      runs.push(await openLoop(app, market, market.communities[2], RATE));
    }
  } catch (error) {
    console.error(`app output:\n${app.log()}`);
    throw error;
  } finally {
    await stopApp(app);
  }
  const audit = await database.audit(database.url);
  return { database: database.kind, runs, baselines, audit: { ...audit, open: audit.open.length, crossed: crossedPairs(audit.open) }, seconds: (Date.now() - t0) / 1_000 };
}

/** The open loop's slow answers in words, with SQLite's log syncs beside them. */
function describeSlow({ count, episodes, logSyncs }) {
  if (count === 0) return `no answer over ${SLOW_MS} ms`;
  const list = episodes
    .slice(0, 12)
    .map((e) => `${e.atSeconds.toFixed(1)} s ×${e.answers}${e.logSyncMs ? ` (log sync ${e.logSyncMs} ms)` : ''}`)
    .join(', ');
  const withSync = episodes.filter((e) => e.logSyncMs).length;
  const syncs = logSyncs
    ? `; SQLite's log syncs over the last minute: ${logSyncs.count}, p50 ${logSyncs.p50Ms} ms, p99 ${logSyncs.p99Ms} ms, longest ${logSyncs.maxMs} ms, ${logSyncs.slow} over ${logSyncs.slowMs} ms; ${withSync} of ${episodes.length} episodes had one of those end during them`
    : '';
  return `${count} answers over ${SLOW_MS} ms in ${episodes.length} episodes (${list}${episodes.length > 12 ? ', …' : ''})${syncs}`;
}

const pad = (value, width, right = false) => (right ? String(value).padStart(width) : String(value).padEnd(width));

function printTable(results) {
  const head = ['database', 'mode', 'conns', 'orders/s', 'req/s', 'p50 ms', 'p99 ms', 'orders', 'app CPU µs/order', 'app CPU used', 'errors/non-2xx/failed orders'];
  const rows = results.flatMap((r) =>
    r.runs.map((run) => [
      r.database,
      run.mode,
      run.connections,
      run.ordersPerSecond.toFixed(0),
      run.requestsPerSecond.toFixed(0),
      run.p50,
      run.p99,
      run.orders,
      run.cpuMicrosPerOrder.toFixed(0),
      `${(100 * run.appCpuShare).toFixed(0)}%`,
      `${run.errors}/${run.non2xx}/${run.failedOrders}`,
    ]),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => pad(c, widths[i], i >= 2 && i <= 9)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w, i) => (i >= 2 && i <= 9 ? `${'-'.repeat(w + 1)}:` : `${'-'.repeat(w + 2)}`)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log('');
  const rate = (m) => `${m.rps.toFixed(0)} req/s (p50 ${m.p50} ms, p99 ${m.p99} ms)`;
  for (const r of results) {
    console.log(`${r.database} baselines in this run, ${CONNECTIONS} connections: bare node:http ${rate(r.baselines.bare)}; auth.me signed in ${rate(r.baselines.authMe)}`);
    const d = r.baselines.durable;
    if (d) console.log(`${r.database} disk in this run: a bare group-commit loop (write + fdatasync) offered ${d.rate}/s answers p50 ${d.p50} ms, p99 ${d.p99} ms, max ${d.max} ms (${d.syncs} syncs, p99 ${d.syncP99} ms, longest ${d.syncMax} ms): the floor under a durable answer`);
  }
  console.log('targets (issue 10): ≥ 3,000 orders/s plain and ≥ 10,000/s in batches of 16 at 64 connections, p99 ≤ 50 ms at 1,000 orders/s offered');
  for (const r of results) {
    const a = r.audit;
    const sound = a.balances === 0 && a.postings === 0 && a.accountsOff === 0 && a.overfilled === 0 && a.crossed === 0;
    console.log(
      `${r.database}: ${a.orders} orders (${a.bids} bids), ${a.contracts} contracts (${a.traded} units traded), ${a.open} open; ` +
        `ledger SUM(balance) = ${a.balances}, SUM(postings) = ${a.postings}, accounts off their postings: ${a.accountsOff}; ` +
        `overfilled orders: ${a.overfilled}; crossed pairs left: ${a.crossed} → ${sound ? 'sound' : 'NOT SOUND'} (${r.seconds.toFixed(0)} s)`,
    );
    for (const run of r.runs) {
      console.log(`  ${r.database} ${run.mode}: successful orders per second over the run: ${run.perSecond.join(' ')}; latency p90 ${run.p90} ms, max ${run.max} ms`);
      for (const s of run.samples) console.log(`  ${r.database} ${run.mode} sample failure: ${s}`);
      if (run.slowAnswers) console.log(`  ${r.database} ${run.mode}: ${describeSlow(run.slowAnswers)}`);
    }
  }
}

const kinds = args.only ? [args.only] : ['sqlite', 'postgres'];
console.log(`market.placeOrder over HTTP: ${CONNECTIONS} connections, ${DURATION} s per mode, batches of ${BATCH}, ${RATE} orders/s offered in the rate mode, ${MEMBERS} members (${root})`);
const results = [];
let failed = false;
for (const kind of kinds) {
  let database;
  try {
    database = kind === 'sqlite' ? await databases.sqliteDatabase(auditSqlite) : await databases.postgresDatabase(auditPostgres);
  } catch (error) {
    console.error(`${kind}: skipped — ${error.message}`);
    failed = true;
    continue;
  }
  currentDatabase = database;
  try {
    results.push(await benchDatabase(database));
  } catch (error) {
    console.error(`${kind}: failed — ${error.stack ?? error}`);
    failed = true;
  } finally {
    await database.drop().catch((error) => console.error(`${kind}: could not drop the database: ${error.message}`));
    currentDatabase = null;
  }
}
databases.stopClusterIfOurs();
console.log('');
printTable(results);
const unsound = results.some((r) => r.audit.balances !== 0 || r.audit.accountsOff !== 0 || r.audit.overfilled !== 0 || r.audit.crossed !== 0);
process.exit(failed || unsound ? 1 : 0);
