#!/usr/bin/env node
/**
 * Fan-out of a book's changes over HTTP against the production build: N server-sent-event subscribers
 * of `market.bookEvents` (or, with `--via stream`, of `signal.stream` watching the book, as a browser's
 * tabs do) on one book, and the delay from each order's acknowledgement (the `market.placeOrder` response)
 * to each subscriber's event showing it — p50, p99 and max — with the app's RSS once every stream is open.
 * Beside it, in the same run, the bare `node:http` baseline: a server in its own process that holds N
 * event streams and, on each POST, writes one book-sized event to all of them before answering (what the
 * hardware and Node allow; `--skip-baseline` leaves it out).
 *
 *   node bench/live-fanout.mjs [--subscribers 1000] [--orders 20] [--watchers 10] [--gap 300] [--clients 2]
 *                              [--via bookEvents|stream] [--only sqlite|postgres] [--apps 1|2] [--pg-url postgresql://…]
 *
 * It builds nothing: run `npm run build` first. It starts the app as `npm start` does (bench/support/
 * app-process.mjs), signs up a seller and `--watchers` members (the subscribers share their sessions),
 * opens every stream (GET /api/trpc/market.bookEvents, text/event-stream) and waits for each one's first
 * event (the current book), then places `--orders` asks one after another, `--gap` ms apart, each at a
 * price of its own, so an event shows order i when its asks contain that price. A delay is measured from
 * the moment the order's response arrived (an event that comes before the response counts as 0 ms).
 * The streams are read by `--clients` worker threads (each its share of them), so that one busy reader does
 * not make the last streams look slow; times are absolute (performance.timeOrigin + now) across threads.
 * `--base http://host:port` uses an app already running there instead (e.g. one started under a profiler).
 * With `--apps 2` (PostgreSQL) two app processes share the database: the subscribers watch through the
 * first, the orders go through the second, so every event crossed processes by LISTEN/NOTIFY.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { appLauncher, freePort, killGroup, sleep, stopOnExit } from './support/app-process.mjs';
import { benchDatabases } from './support/databases.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CREDIT = 1_000_000;
const HOUR = 3_600_000;

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    orders: { type: 'string', default: '20' },
    watchers: { type: 'string', default: '10' },
    gap: { type: 'string', default: '300' },
    only: { type: 'string', default: 'sqlite' },
    apps: { type: 'string', default: '1' },
    clients: { type: 'string', default: '2' },
    'pg-url': { type: 'string' },
    base: { type: 'string' },
    via: { type: 'string', default: 'bookEvents' },
    'skip-baseline': { type: 'boolean', default: false },
  },
});
if (!['bookEvents', 'stream'].includes(args.via)) throw new Error('--via is bookEvents or stream');
const SUBSCRIBERS = Number(args.subscribers);
const ORDERS = Number(args.orders);
const WATCHERS = Number(args.watchers);
const GAP = Number(args.gap);
const APPS = Number(args.apps);
const CLIENTS = Number(args.clients);
for (const [name, value, max] of [['clients', CLIENTS, 16], ['subscribers', SUBSCRIBERS, 20_000], ['orders', ORDERS, 1_000], ['watchers', WATCHERS, 100], ['gap', GAP, 10_000], ['apps', APPS, 2]]) {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
}
if (!['sqlite', 'postgres'].includes(args.only)) throw new Error('--only is sqlite or postgres');
if (APPS === 2 && args.only !== 'postgres') throw new Error('--apps 2 needs --only postgres (SQLite is one process)');
if (isMainThread && !existsSync(path.join(root, '.next', 'BUILD_ID'))) {
  console.error(`No production build in ${root}/.next: run \`npm run build\` first (this bench builds nothing).`);
  process.exit(1);
}

const { started, startApp, stopApp } = appLauncher(root);
let currentDatabase = null;
if (isMainThread) stopOnExit(started, async () => currentDatabase?.drop());

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

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

/**
 * One SSE subscriber: calls `onEvent(data, receivedAt)` for each data event; resolves `opened` on the
 * first one (the current book).
 */
function subscribe(base, path, cookie, input, onEvent) {
  const url = new URL(`${base}${path}`);
  if (input) url.searchParams.set('input', JSON.stringify(input));
  let opened;
  const first = new Promise((resolve, reject) => (opened = { resolve, reject }));
  const req = http.get(url, { agent, headers: { ...(cookie ? { cookie } : {}), accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) {
      opened.reject(new Error(`${path} → ${res.statusCode}`));
      res.resume();
      return;
    }
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk) => {
      const receivedAt = performance.timeOrigin + performance.now();
      buffer += chunk;
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data += line.slice(5).trim();
        }
        if (event !== 'message' || !data) continue;
        const parsed = JSON.parse(data);
        if (!parsed || !parsed.levels) continue;
        onEvent(parsed, receivedAt);
        opened.resolve();
      }
    });
    res.on('error', () => {});
  });
  req.on('error', (error) => opened.reject(error));
  return { first, close: () => req.destroy() };
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN);

/** The bare node:http baseline: holds every GET as an event stream; each POST writes one event to all of them, then answers. */
const BARE_FANOUT = `
const http = require('node:http');
const streams = new Set();
const asks = [];
let serial = 0;
http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('event: connected\\ndata: {}\\n\\n');
    streams.add(res);
    res.write('data: ' + JSON.stringify({ levels: { bids: [], asks }, trades: [] }) + '\\nid: ' + ++serial + '\\n\\n');
    res.on('close', () => streams.delete(res));
    return;
  }
  asks.push({ price: Number(new URL(req.url, 'http://x').searchParams.get('price')), quantity: 1 });
  const frame = Buffer.from('data: ' + JSON.stringify({ levels: { bids: [], asks }, trades: [] }) + '\\nid: ' + ++serial + '\\n\\n');
  for (const s of streams) s.write(frame);
  res.end('{"ok":true}');
}).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
`;

async function startBareFanout() {
  const port = await freePort();
  const child = spawn(process.execPath, ['-e', BARE_FANOUT], { detached: true, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PORT: String(port) } });
  started.add(child);
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', (code) => reject(new Error(`bare node:http exited (${code}) before it listened`)));
  });
  return { base: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => (killGroup(child, 'SIGKILL'), started.delete(child)) };
}

/** The resident memory of a process, in MB (Linux). */
function rssMb(pid) {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return NaN;
  }
}

// order i rests at its own price: a subscriber has seen it when its asks hold that price
const priceOf = (i) => 5 * CREDIT + (i + 1) * (CREDIT / 100);

/**
 * Opens SUBSCRIBERS streams (`path` with `input`, by `--clients` threads), places ORDERS changes with
 * `place(i)` GAP ms apart, and returns the delays from each acknowledgement to each stream's event.
 */
async function fanout({ base, path, cookies, input, place, pid }) {
  const opening = performance.now();
  const clients = Array.from({ length: CLIENTS }, (_, c) => {
    const count = Math.floor(SUBSCRIBERS / CLIENTS) + (c < SUBSCRIBERS % CLIENTS ? 1 : 0);
    const worker = new Worker(fileURLToPath(import.meta.url), {
      argv: process.argv.slice(2),
      workerData: { base, path, cookies: cookies.slice(c % cookies.length).concat(cookies.slice(0, c % cookies.length)), input, count, prices: Array.from({ length: ORDERS }, (_, i) => priceOf(i)) },
    });
    const messages = [];
    const waiting = [];
    worker.on('message', (m) => (waiting.length ? waiting.shift()(m) : messages.push(m)));
    worker.on('error', (error) => console.error('client thread:', error));
    const next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((resolve) => waiting.push(resolve)));
    return { worker, count, next };
  });
  try {
    for (const c of clients) {
      const m = await c.next();
      if (m.error) throw new Error(m.error);
    }
    const openMs = Math.round(performance.now() - opening);
    const rss = pid ? rssMb(pid) : NaN;
    const acks = new Array(ORDERS).fill(null);
    for (let i = 0; i < ORDERS; i++) {
      await place(i);
      acks[i] = performance.timeOrigin + performance.now();
      await sleep(GAP);
    }
    // the last events: each client thread waits until its streams saw every order, or 10 s
    for (const c of clients) c.worker.postMessage('report');
    const seen = Array.from({ length: ORDERS }, () => []);
    for (const c of clients) {
      const m = await c.next();
      m.seen.forEach((times, i) => seen[i].push(...times));
    }
    const delays = [];
    let missing = 0;
    for (let i = 0; i < ORDERS; i++) {
      missing += SUBSCRIBERS - seen[i].length;
      for (const at of seen[i]) delays.push(Math.max(0, at - acks[i]));
    }
    delays.sort((a, b) => a - b);
    return { delays, missing, openMs, rss };
  } finally {
    for (const c of clients) await c.worker.terminate();
  }
}

const fmt = (ms) => `${ms.toFixed(1)} ms`;
function report(label, { delays, missing, openMs, rss }) {
  console.log(
    `${label}: ${SUBSCRIBERS} streams open in ${openMs} ms${Number.isNaN(rss) ? '' : `, server RSS ${rss} MB`}; ` +
      `${ORDERS} changes × ${SUBSCRIBERS} = ${delays.length} deliveries, ${missing} missing; ` +
      `ack → event p50 ${fmt(percentile(delays, 50))}, p99 ${fmt(percentile(delays, 99))}, max ${fmt(delays.at(-1) ?? NaN)}`,
  );
}

async function run() {
  console.log(`load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (2 cores shared with other work)`);
  if (!args['skip-baseline']) {
    const bare = await startBareFanout();
    try {
      const result = await fanout({
        base: bare.base,
        path: '/sse',
        cookies: [null],
        input: null,
        pid: bare.pid,
        place: async (i) => {
          const res = await fetch(`${bare.base}/publish?price=${priceOf(i)}`, { method: 'POST' });
          await res.text();
        },
      });
      report('bare node:http (baseline)', result);
    } finally {
      bare.stop();
    }
  }

  const databases = benchDatabases({ root, prefix: 'fanout', pgUrl: args['pg-url'] });
  const database = args.base ? null : args.only === 'sqlite' ? await databases.sqliteDatabase() : await databases.postgresDatabase();
  currentDatabase = database;
  const apps = [];
  try {
    if (args.base) apps.push({ base: args.base });
    else for (let i = 0; i < APPS; i++) apps.push(await startApp(database.url));
    const watchBase = apps[0].base;
    const orderBase = apps.at(-1).base;
    const tag = randomBytes(3).toString('hex');
    const seller = await call(orderBase, 'auth.signUp', { handle: `fan-${tag}-s`, password: 'correct horse battery staple' });
    const slug = `fan-${tag}`;
    const { data: community } = await call(orderBase, 'community.create', { name: `Fanout ${tag}`, slug, commissionBps: 100, startingGrant: 1_000 * CREDIT, inviteOnly: false }, seller.cookie);
    const watchers = [];
    for (let i = 0; i < WATCHERS; i++) {
      const w = await call(watchBase, 'auth.signUp', { handle: `fan-${tag}-w${i}`, password: 'correct horse battery staple' });
      await call(watchBase, 'community.join', { slug }, w.cookie);
      watchers.push(w.cookie);
    }
    const book = { communityId: community.id, category: 'COMPUTE', unit: 'CPU_SECOND', tradeLimit: 10 };
    const window = { windowStart: new Date(Date.now() + HOUR).toISOString(), windowEnd: new Date(Date.now() + 3 * HOUR).toISOString() };
    const result = await fanout({
      base: watchBase,
      path: args.via === 'stream' ? '/api/trpc/signal.stream' : '/api/trpc/market.bookEvents',
      cookies: watchers,
      input: args.via === 'stream' ? { books: [book] } : book,
      pid: apps[0].child?.pid,
      place: (i) => call(orderBase, 'market.placeOrder', { communityId: community.id, side: 'SELL', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 1, price: priceOf(i), kind: 'STANDING', ...window }, seller.cookie),
    });
    report(
      `${args.only}, ${args.via === 'stream' ? 'signal.stream' : 'market.bookEvents'}${APPS === 2 ? ', 2 app processes (watch through one, order through the other)' : ''}`,
      result,
    );
  } finally {
    if (database) {
      for (const app of apps) await stopApp(app);
      await database.drop().catch(() => {});
    }
    currentDatabase = null;
  }
}

/** A client thread: opens its share of the streams, then reports when each saw each order. */
async function client() {
  const { base, path, cookies, input, count, prices } = workerData;
  const seen = prices.map(() => []);
  const streams = [];
  try {
    for (let s = 0; s < count; s++) {
      const got = new Set();
      streams.push(
        subscribe(base, path, cookies[s % cookies.length], input, (event, at) => {
          const asks = new Set(event.levels.asks.map((l) => l.price));
          prices.forEach((price, i) => {
            if (!got.has(i) && asks.has(price)) {
              got.add(i);
              seen[i].push(at);
            }
          });
        }),
      );
      // open in small waves so that the accept queue is not flooded
      if (s % 100 === 99) await Promise.all(streams.slice(-100).map((x) => x.first));
    }
    await Promise.all(streams.map((x) => x.first));
  } catch (error) {
    parentPort.postMessage({ error: String(error) });
    return;
  }
  parentPort.postMessage({ opened: true });
  await new Promise((resolve) => parentPort.once('message', resolve));
  const deadline = performance.now() + 10_000;
  while (seen.some((list) => list.length < count) && performance.now() < deadline) await sleep(50);
  parentPort.postMessage({ seen });
  for (const s of streams) s.close();
}

if (!isMainThread) client();
else run().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
