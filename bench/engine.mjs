#!/usr/bin/env node
/**
 * Throughput of the pure matching engine (server/market/engine.ts, through its `Book`) against the
 * npm package `nodejs-order-book`, fed the same deterministic stream of limit orders in one run.
 *
 *   node bench/engine.mjs                       # 200k orders, 3 rounds
 *   BENCH_ORDERS=50000 BENCH_ROUNDS=1 node bench/engine.mjs
 *
 * Loading TypeScript: Node 20 cannot run .ts and no loader (tsx, vite-node, esbuild) is installed,
 * so this script transpiles engine.ts with the project's own `typescript` (ts.transpileModule,
 * types stripped, no type check) into a temporary directory and imports the result. engine.ts
 * imports nothing, so that single file is enough.
 *
 * The comparison package is not a project dependency. Install it into a scratch directory:
 *   mkdir -p /tmp/ob && cd /tmp/ob && npm init -y && npm install nodejs-order-book
 * and point ORDER_BOOK_DIR at it (default /tmp/ob). Without it the engine runs alone.
 *
 * The stream: one unit, no constraints, no negotiation, windows that always fit (every SELL's
 * window covers every BUY's), a different member per order, prices around a slowly drifting mid.
 * Under those conditions both books must produce the same trades, which the script checks.
 */
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORDERS = Number(process.env.BENCH_ORDERS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SEED = Number(process.env.BENCH_SEED ?? 20_250_104);
const ORDER_BOOK_DIR = process.env.ORDER_BOOK_DIR ?? '/tmp/ob';

async function loadEngine() {
  const require = createRequire(path.join(root, 'package.json'));
  const ts = require('typescript');
  const source = readFileSync(path.join(root, 'server/market/engine.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: 'engine.ts',
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'swapmesh-bench-'));
  const file = path.join(dir, 'engine.mjs');
  writeFileSync(file, outputText);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function loadOrderBook() {
  const manifest = path.join(ORDER_BOOK_DIR, 'package.json');
  if (!existsSync(manifest)) return null;
  try {
    return createRequire(manifest)('nodejs-order-book');
  } catch {
    return null;
  }
}

/** mulberry32: a small, fast, seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function makeStream(n, seed) {
  const random = prng(seed);
  const stream = [];
  let mid = 10_000;
  for (let i = 0; i < n; i++) {
    mid = Math.max(1_000, mid + Math.round((random() - 0.5) * 4));
    const side = random() < 0.5 ? 'BUY' : 'SELL';
    // Mostly passive orders a little behind the mid, some aggressive ones through it.
    const offset = Math.floor(random() * 40) - 8;
    const price = side === 'BUY' ? mid - offset : mid + offset;
    const quantity = 1 + Math.floor(random() * 100);
    stream.push({ id: `o${i}`, side, price, quantity, seq: i });
  }
  return stream;
}

function toBookOrders(stream) {
  return stream.map((o) => ({
    id: o.id,
    side: o.side,
    unit: 'GFLOP',
    price: o.price,
    remaining: o.quantity,
    locked: 0,
    windowStart: o.side === 'SELL' ? 0 : 1_000,
    windowEnd: o.side === 'SELL' ? 10_000 : 2_000,
    seq: o.seq,
    constraints: {},
    negotiation: { mode: 'NONE', limit: null },
    party: { memberId: `m${o.seq}`, storageMb: null, os: null, mips: null, mflops: null, network: null },
  }));
}

function toObOrders(stream) {
  return stream.map((o) => ({ id: o.id, side: o.side === 'BUY' ? 'buy' : 'sell', size: o.quantity, price: o.price }));
}

function runEngine(engine, orders) {
  const book = new engine.Book();
  let trades = 0;
  let volume = 0;
  const start = process.hrtime.bigint();
  for (const order of orders) {
    const result = book.submit(order);
    trades += result.fills.length;
    volume += order.remaining - result.incomingRemaining;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const depth = book.depth();
  return { seconds, trades, volume, resting: book.size, topBid: depth.bids[0] ?? null, topAsk: depth.asks[0] ?? null };
}

function runOrderBook(lib, orders) {
  const book = new lib.OrderBook();
  let trades = 0;
  let volume = 0;
  const start = process.hrtime.bigint();
  for (const order of orders) {
    const r = book.limit(order);
    if (r.err) throw new Error(`nodejs-order-book refused ${order.id}: ${r.err.message}`);
    for (const done of r.done) if (done.id !== order.id) trades += 1;
    if (r.partial !== null && r.partial.id !== order.id) trades += 1;
    volume += order.size - r.quantityLeft;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const [asks, bids] = book.depth();
  const level = (l) => (l === undefined ? null : { price: l[0], quantity: l[1] });
  return {
    seconds,
    trades,
    volume,
    resting: Object.keys(book.orders).length,
    topBid: level(bids[0]),
    topAsk: level(asks[0]),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

const engine = await loadEngine();
const lib = loadOrderBook();
const stream = makeStream(ORDERS, SEED);
const engineOrders = toBookOrders(stream);
const obOrders = lib === null ? [] : toObOrders(stream);

console.log(`Swapmesh matching engine bench — node ${process.version}, ${fmt(ORDERS)} limit orders, seed ${SEED}, ${ROUNDS} round(s), median reported`);
if (lib === null) {
  console.log(`note: nodejs-order-book not found under ${ORDER_BOOK_DIR} (set ORDER_BOOK_DIR, or: mkdir -p /tmp/ob && cd /tmp/ob && npm init -y && npm install nodejs-order-book); running the engine alone.`);
}

// Warm both up on a slice of the stream so the JIT has seen the hot paths.
const warm = Math.min(ORDERS, 20_000);
runEngine(engine, engineOrders.slice(0, warm));
if (lib !== null) runOrderBook(lib, obOrders.slice(0, warm));

const mine = [];
const theirs = [];
for (let round = 0; round < ROUNDS; round++) {
  mine.push(runEngine(engine, engineOrders));
  if (lib !== null) theirs.push(runOrderBook(lib, obOrders));
}

function report(name, runs) {
  const seconds = median(runs.map((r) => r.seconds));
  const r = runs[0];
  console.log(
    `${name.padEnd(20)} ${fmt(ORDERS / seconds).padStart(11)} orders/s ${fmt(r.trades / seconds).padStart(11)} trades/s` +
      `  (${seconds.toFixed(3)} s, ${fmt(r.trades)} trades, ${fmt(r.volume)} units traded, ${fmt(r.resting)} resting)`,
  );
  return seconds;
}

const mySeconds = report('swapmesh engine', mine);
if (lib !== null) {
  const theirSeconds = report('nodejs-order-book', theirs);
  console.log(`ratio (swapmesh / nodejs-order-book throughput): ${(theirSeconds / mySeconds).toFixed(2)}x`);
  const a = mine[0];
  const b = theirs[0];
  const same =
    a.trades === b.trades &&
    a.volume === b.volume &&
    a.resting === b.resting &&
    JSON.stringify([a.topBid, a.topAsk]) === JSON.stringify([b.topBid, b.topAsk]);
  console.log(
    same
      ? `results agree: same trades, volume, resting orders and top of book (bid ${a.topBid?.price}, ask ${a.topAsk?.price})`
      : `RESULTS DIFFER: ${JSON.stringify({ swapmesh: a, nodejsOrderBook: b })}`,
  );
  if (!same) process.exitCode = 1;
}
