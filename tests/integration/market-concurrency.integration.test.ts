/**
 * DESIGN.md, market rules: "Matching of one book is serialized: no order is ever filled beyond its
 * quantity, whatever the concurrency, on SQLite and on PostgreSQL with several coordinator processes."
 *
 * Many orders for one book (one community, one category, one unit, one window) are placed at once —
 * through `market.placeOrder` in this process on every database, and from several child coordinator
 * processes on PostgreSQL — and then the whole market is checked: every order's contracts plus its
 * remainder add up to its quantity, the book is not left crossed, contracts trade at the resting
 * order's price, every bid holds exactly what its remainder could cost, and the ledger balances
 * (each account equals its postings, every entry and the whole ledger sum to zero, each member's
 * escrow equals their open holds plus their unsettled contracts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '@/server/db/client';
import { placements } from '@/server/market/book-writer';
import { holdFor } from '@/server/market/reservation';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import type { WorkerJob, WorkerResult } from '../support/market-worker';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const BPS = 200; // 2% commission
const GRANT = 1_000 * CREDIT;
const MEMBERS_PER_SIDE = 10;
const CATEGORY = 'COMPUTE';
const UNIT = 'CPU_SECOND';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JITI_CLI = fileURLToPath(new URL('../../node_modules/jiti/lib/jiti-cli.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('../support/market-worker.ts', import.meta.url));

type Member = { id: string; caller: Caller };
type Market = { communityId: string; buyers: Member[]; sellers: Member[]; everyone: Member[] };
type Plan = { memberId: string; input: { side: 'BUY' | 'SELL'; quantity: number; price: number } & Record<string, unknown> };

/** A small seeded generator (mulberry32), so a failing mix of orders can be replayed. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * `count` orders for one book: every member trades one side only (no self-trade question), bids at
 * 6–12 credits and asks at 8–14 in half-credit steps (so many cross, some rest on both sides), 1–12
 * units each (so fills are partial both ways), the same window for all (so all are mutually eligible).
 * Bids are kept within each buyer's grant, so none is refused for want of credits.
 */
function planOrders(seed: number, count: number, market: Market): Plan[] {
  const rand = seeded(seed);
  const pick = <T,>(list: T[]) => list[Math.floor(rand() * list.length)]!;
  const start = Date.now() + HOUR;
  const common = {
    communityId: market.communityId,
    category: CATEGORY,
    unit: UNIT,
    kind: 'STANDING',
    windowStart: new Date(start).toISOString(),
    windowEnd: new Date(start + 2 * HOUR).toISOString(),
  };
  const budget = new Map(market.buyers.map((m) => [m.id, GRANT]));
  const plans: Plan[] = [];
  while (plans.length < count) {
    let quantity = 1 + Math.floor(rand() * 12);
    if (rand() < 0.5) {
      const price = (12 + Math.floor(rand() * 13)) * (CREDIT / 2);
      const buyer = pick(market.buyers).id;
      while (quantity > 0 && holdFor(quantity, price, BPS) > budget.get(buyer)!) quantity--;
      if (quantity === 0) continue;
      budget.set(buyer, budget.get(buyer)! - holdFor(quantity, price, BPS));
      plans.push({ memberId: buyer, input: { ...common, side: 'BUY', quantity, price } });
    } else {
      const price = (16 + Math.floor(rand() * 13)) * (CREDIT / 2);
      plans.push({ memberId: pick(market.sellers).id, input: { ...common, side: 'SELL', quantity, price } });
    }
  }
  return plans;
}

/** A community with a coordinator and MEMBERS_PER_SIDE buyers and sellers, each granted GRANT. */
async function openMarket(db: Db, slug: string): Promise<Market> {
  const owner = await signUp(db, `${slug}-owner`);
  const { id: communityId } = await owner.caller.community.create({
    name: `Concurrency ${slug}`,
    slug,
    commissionBps: BPS,
    startingGrant: GRANT,
    inviteOnly: false,
  });
  const join = async (handle: string): Promise<Member> => {
    const m = await signUp(db, handle);
    await m.caller.community.join({ slug });
    return { id: m.member.id, caller: m.caller };
  };
  const buyers = await Promise.all(Array.from({ length: MEMBERS_PER_SIDE }, (_, i) => join(`${slug}-buyer-${i}`)));
  const sellers = await Promise.all(Array.from({ length: MEMBERS_PER_SIDE }, (_, i) => join(`${slug}-seller-${i}`)));
  return { communityId, buyers, sellers, everyone: [{ id: owner.member.id, caller: owner.caller }, ...buyers, ...sellers] };
}

/**
 * Reads the whole market back and returns every broken invariant as a sentence (empty when sound),
 * with a few figures showing that trading really happened.
 */
async function auditMarket(db: Db, communityId: string, members: string[]) {
  const problems: string[] = [];
  const [orders, contracts, accounts, postings] = await Promise.all([
    db.order.findMany({
      where: { communityId },
      select: { id: true, memberId: true, side: true, category: true, unit: true, status: true, quantity: true, remaining: true, locked: true, price: true, reserved: true, seq: true },
    }),
    db.contract.findMany({
      where: { communityId },
      select: { id: true, buyOrderId: true, sellOrderId: true, buyerId: true, sellerId: true, quantity: true, price: true, escrowed: true, state: true, buyerCommission: true },
    }),
    db.account.findMany({ where: { communityId }, select: { id: true, kind: true, memberId: true, balance: true } }),
    db.posting.findMany({ where: { account: { communityId } }, select: { accountId: true, transactionId: true, amount: true } }),
  ]);
  const byId = new Map(orders.map((o) => [o.id, o]));

  // contracts: between a bid and an ask of different members, at the resting (older) order's price
  const filled = new Map<string, number>();
  for (const c of contracts) {
    const buy = byId.get(c.buyOrderId ?? "");
    const sell = byId.get(c.sellOrderId ?? "");
    if (!buy || buy.side !== 'BUY' || !sell || sell.side !== 'SELL') {
      problems.push(`contract ${c.id} does not join a bid of this book to an ask of this book`);
      continue;
    }
    if (c.quantity <= 0) problems.push(`contract ${c.id} has quantity ${c.quantity}`);
    if (c.buyerId !== buy.memberId || c.sellerId !== sell.memberId) problems.push(`contract ${c.id} names the wrong parties`);
    if (c.buyerId === c.sellerId) problems.push(`contract ${c.id} is a self-trade`);
    const resting = buy.seq < sell.seq ? buy : sell;
    if (c.price !== resting.price) problems.push(`contract ${c.id} traded at ${c.price}, not at the resting order's price ${resting.price}`);
    if (c.price > buy.price || c.price < sell.price) problems.push(`contract ${c.id} at ${c.price} is outside bid ${buy.price} / ask ${sell.price}`);
    if (c.state !== 'MATCHED') problems.push(`contract ${c.id} is ${c.state}, expected MATCHED`);
    filled.set(buy.id, (filled.get(buy.id) ?? 0) + c.quantity);
    filled.set(sell.id, (filled.get(sell.id) ?? 0) + c.quantity);
  }

  // orders: contracts + remaining = quantity, never below zero, FILLED exactly when nothing remains
  for (const o of orders) {
    const f = filled.get(o.id) ?? 0;
    if (f + o.remaining !== o.quantity) problems.push(`order ${o.id} (seq ${o.seq}): filled ${f} + remaining ${o.remaining} != quantity ${o.quantity}`);
    if (o.remaining < 0) problems.push(`order ${o.id} (seq ${o.seq}) has remaining ${o.remaining}`);
    if ((o.status === 'FILLED') !== (o.remaining === 0)) problems.push(`order ${o.id} (seq ${o.seq}) is ${o.status} with remaining ${o.remaining}`);
    if (o.status !== 'FILLED' && o.status !== 'OPEN') problems.push(`order ${o.id} is ${o.status}`);
    if (o.locked !== 0) problems.push(`order ${o.id} has ${o.locked} locked with no negotiation`);
    if (o.side === 'BUY') {
      const expected = o.status === 'OPEN' ? BigInt(holdFor(o.remaining, Number(o.price), BPS)) : 0n;
      if (o.reserved !== expected) problems.push(`bid ${o.id} (seq ${o.seq}) reserves ${o.reserved}, expected ${expected} for ${o.remaining} left`);
    } else if (o.reserved !== 0n) problems.push(`ask ${o.id} reserves ${o.reserved}`);
  }

  // one book, arrival order 1..n with no gaps or duplicates
  const seqs = orders.map((o) => o.seq).sort((a, b) => a - b);
  if (seqs.some((s, i) => s !== i + 1)) problems.push(`book sequence is not 1..${orders.length}: ${seqs.join(',')}`);

  // the book is not left crossed (every open bid is eligible for every open ask here)
  const open = orders.filter((o) => o.status === 'OPEN' && o.remaining > 0);
  const bids = open.filter((o) => o.side === 'BUY').map((o) => o.price);
  const asks = open.filter((o) => o.side === 'SELL').map((o) => o.price);
  const bestBid = bids.length ? bids.reduce((a, b) => (a > b ? a : b)) : null;
  const bestAsk = asks.length ? asks.reduce((a, b) => (a < b ? a : b)) : null;
  if (bestBid !== null && bestAsk !== null && bestBid >= bestAsk) problems.push(`book left crossed: best bid ${bestBid} >= best ask ${bestAsk}`);

  // ledger: each account equals its postings, each entry and the whole ledger sum to zero
  const perAccount = new Map<string, bigint>();
  const perEntry = new Map<string, bigint>();
  for (const p of postings) {
    perAccount.set(p.accountId, (perAccount.get(p.accountId) ?? 0n) + p.amount);
    perEntry.set(p.transactionId, (perEntry.get(p.transactionId) ?? 0n) + p.amount);
  }
  for (const a of accounts) {
    if (a.balance !== (perAccount.get(a.id) ?? 0n)) problems.push(`${a.kind} account ${a.id} holds ${a.balance} but its postings sum to ${perAccount.get(a.id) ?? 0n}`);
  }
  for (const [id, sum] of perEntry) if (sum !== 0n) problems.push(`ledger entry ${id} sums to ${sum}`);
  const total = accounts.reduce((s, a) => s + a.balance, 0n);
  if (total !== 0n) problems.push(`account balances sum to ${total}`);

  // escrow = open holds + unsettled contracts; nothing settled yet, so available + escrow = grant
  for (const memberId of members) {
    const balance = (kind: string) => accounts.find((a) => a.memberId === memberId && a.kind === kind)?.balance ?? 0n;
    const holds = orders.filter((o) => o.memberId === memberId && o.side === 'BUY' && o.status === 'OPEN').reduce((s, o) => s + o.reserved, 0n);
    const held = contracts.filter((c) => c.buyerId === memberId && !['SETTLED', 'REFUNDED'].includes(c.state)).reduce((s, c) => s + c.escrowed, 0n);
    if (balance('ESCROW') !== holds + held) problems.push(`member ${memberId}: escrow ${balance('ESCROW')} != holds ${holds} + contracts ${held}`);
    if (balance('MEMBER') + balance('ESCROW') !== BigInt(GRANT)) problems.push(`member ${memberId}: available + escrow = ${balance('MEMBER') + balance('ESCROW')}, not the grant`);
    if (balance('MEMBER') < 0n || balance('ESCROW') < 0n) problems.push(`member ${memberId} has a negative balance`);
  }

  const partial = orders.filter((o) => o.status === 'OPEN' && o.remaining < o.quantity).length;
  const multiFill = [...filled.entries()].filter(([id]) => contracts.filter((c) => c.buyOrderId === id || c.sellOrderId === id).length > 1).length;
  return {
    problems,
    stats: {
      orders: orders.length,
      contracts: contracts.length,
      traded: contracts.reduce((s, c) => s + c.quantity, 0),
      partlyFilledOpen: partial,
      filledByManyContracts: multiFill,
      openBids: bids.length,
      openAsks: asks.length,
    },
  };
}

describe.each(databaseKinds)('market concurrency on %s: one process, many simultaneous orders', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  it('fills no order beyond its quantity, leaves no crossed book, and keeps the ledger exact', { timeout: 90_000 }, async () => {
    const market = await openMarket(t.db, 'conc-one');
    const callers = new Map(market.everyone.map((m) => [m.id, m.caller]));
    const plans = planOrders(20_261_122, 150, market);
    expect(new Set(plans.map((p) => p.input.side))).toEqual(new Set(['BUY', 'SELL']));
    const before = { ...placements };

    const settled = await Promise.allSettled(
      plans.map((p) => callers.get(p.memberId)!.market.placeOrder(p.input as Parameters<Caller['market']['placeOrder']>[0])),
    );
    const refused = settled.flatMap((s, i) => (s.status === 'rejected' ? [`order ${i}: ${String(s.reason)}`] : []));
    const { problems, stats } = await auditMarket(t.db, market.communityId, market.everyone.map((m) => m.id));
    // both at once, so that a failure shows what broke in the market as well as which calls failed
    expect({ refused, problems }).toEqual({ refused: [], problems: [] });

    // what each call reported about its own order agrees with its quantity
    for (const [i, s] of settled.entries()) {
      if (s.status !== 'fulfilled') continue;
      const own = s.value.fills.reduce((n, f) => n + f.quantity, 0);
      expect(own + s.value.order.remaining, `order ${i}`).toBe(plans[i]!.input.quantity);
      expect(s.value.order.status, `order ${i}`).toBe(s.value.order.remaining === 0 ? 'FILLED' : 'OPEN');
    }

    expect(stats.orders).toBe(plans.length);
    // the mix really traded, partially and across several counterparties
    expect(stats.contracts).toBeGreaterThanOrEqual(30);
    expect(stats.filledByManyContracts).toBeGreaterThan(0);
    expect(stats.openBids + stats.openAsks).toBeGreaterThan(0);

    // the book's writer grouped the orders into batches and placed them in memory, giving up none
    const batches = placements.batches - before.batches;
    expect(placements.inMemory - before.inMemory).toBe(plans.length);
    expect(batches).toBeLessThan(plans.length / 4);
    expect(placements.givenUp - before.givenUp).toBe(0);
    console.info(`[${kind}] one process:`, JSON.stringify({ ...stats, batches }));
  });
});

// ---------------------------------------------------------------------------------------------
// PostgreSQL, several coordinator processes

type WorkerDone = { done: true; pid: number; results: WorkerResult[] };
type Worker = { child: ChildProcessWithoutNullStreams; ready: Promise<void>; done: Promise<WorkerDone> };
const running = new Set<ChildProcessWithoutNullStreams>();

const alive = (child: ChildProcessWithoutNullStreams) => child.exitCode === null && child.signalCode === null;
function killAll() {
  for (const child of running) if (alive(child)) child.kill('SIGKILL');
}

/** Starts one coordinator process (market-worker.ts under jiti) and hands it its job. */
function startWorker(job: WorkerJob, onAcked?: (orderId: string) => void): Worker {
  const child = spawn(process.execPath, [JITI_CLI, WORKER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env } });
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let onReady!: () => void;
  let onDone!: (value: WorkerDone) => void;
  let onFail!: (error: Error) => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<WorkerDone>((resolve, reject) => {
    onDone = resolve;
    onFail = reject;
  });
  const failed = done.then(() => undefined);
  // a worker that dies before it is ready must fail the wait for readiness too
  const readyOrFail = Promise.race([ready, failed.then(() => Promise.reject(new Error(`worker ${child.pid} finished before it was ready`)))]);
  readyOrFail.catch(() => {});
  done.catch(() => {});
  createInterface({ input: child.stdout }).on('line', (line) => {
    let message: { ready?: boolean; done?: boolean; acked?: string };
    try {
      message = JSON.parse(line);
    } catch {
      return; // stray output
    }
    if (message.ready) onReady();
    if (message.acked) onAcked?.(message.acked);
    if (message.done) onDone(message as WorkerDone);
  });
  child.on('close', (code, signal) => {
    running.delete(child);
    onFail(new Error(`worker ${child.pid} exited (${signal ?? code}) without a result\n${stderr.slice(-4_000)}`));
  });
  child.on('error', (error) => onFail(error));
  child.stdin.on('error', () => {}); // EPIPE when it has died: the exit handler reports it
  child.stdin.write(`${JSON.stringify(job)}\n`);
  return { child, ready: readyOrFail, done };
}

/** Runs the jobs in parallel processes released at the same moment; kills them all after `limitMs`. */
async function runWorkers(jobs: WorkerJob[], limitMs: number): Promise<WorkerDone[]> {
  const workers = jobs.map((job) => startWorker(job));
  const timer = setTimeout(killAll, limitMs);
  try {
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.child.stdin.write('GO\n');
    return await Promise.all(workers.map((w) => w.done));
  } finally {
    clearTimeout(timer);
    for (const w of workers) if (alive(w.child)) w.child.kill('SIGKILL');
  }
}

describe.skipIf(!process.env.TEST_POSTGRES_URL)('market concurrency on postgres: several coordinator processes', () => {
  const PROCESSES = 4;
  const PER_PROCESS = 40;
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase('postgres');
  });
  afterEach(killAll);
  afterAll(async () => {
    killAll();
    await t?.drop();
  });

  it(`${PROCESSES} processes placing ${PER_PROCESS} orders each at once fill no order beyond its quantity`, { timeout: 120_000 }, async () => {
    const market = await openMarket(t.db, 'conc-many');
    const community = await t.db.community.findUniqueOrThrow({ where: { id: market.communityId }, select: { id: true, commissionBps: true, creditLimit: true } });
    const plans = planOrders(11_22_2026, PROCESSES * PER_PROCESS, market);
    // deal the orders round-robin, so every process has bids and asks of many members
    const jobs: WorkerJob[] = Array.from({ length: PROCESSES }, (_, p) => ({
      url: t.url,
      community: { id: community.id, commissionBps: community.commissionBps, creditLimit: Number(community.creditLimit) },
      orders: plans.filter((_, i) => i % PROCESSES === p),
      deadlineMs: 90_000,
      // in waves: a process's writer may place a whole wave in one batch, and the waves of the processes interleave
      waves: 4,
    }));

    const outputs = await runWorkers(jobs, 90_000);
    expect(new Set(outputs.map((o) => o.pid)).size).toBe(PROCESSES);
    const refused = outputs.flatMap((o) => o.results.flatMap((r, i) => (r.ok ? [] : [`pid ${o.pid} order ${i}: ${r.error}`])));
    const { problems, stats } = await auditMarket(t.db, market.communityId, market.everyone.map((m) => m.id));
    expect({ refused, problems }).toEqual({ refused: [], problems: [] });
    expect(stats.orders).toBe(PROCESSES * PER_PROCESS);
    expect(stats.contracts).toBeGreaterThanOrEqual(30);
    expect(stats.filledByManyContracts).toBeGreaterThan(0);

    // sanity: the processes really ran at the same time and their orders interleaved in the book
    const spans = outputs.map((o) => ({ from: Math.min(...o.results.map((r) => r.startedAt)), to: Math.max(...o.results.map((r) => r.endedAt)) }));
    for (const o of outputs) expect(o.results.filter((r) => r.ok).length).toBeGreaterThanOrEqual(30);
    expect(Math.max(...spans.map((s) => s.from))).toBeLessThan(Math.min(...spans.map((s) => s.to)));
    const processOf = new Map(outputs.flatMap((o, p) => o.results.flatMap((r) => (r.ok ? [[r.orderId, p] as const] : []))));
    const bySeq = await t.db.order.findMany({ where: { communityId: market.communityId }, orderBy: { seq: 'asc' }, select: { id: true } });
    const runs = bySeq.filter((o, i) => i === 0 || processOf.get(o.id) !== processOf.get(bySeq[i - 1]!.id)).length;
    expect(runs).toBeGreaterThan(PROCESSES);
    console.info(`[postgres] ${PROCESSES} processes:`, JSON.stringify({ ...stats, bookRunsByProcess: runs, spansMs: spans.map((s) => s.to - s.from) }));
  });
});

// ---------------------------------------------------------------------------------------------
// A coordinator killed while it places orders: what it acknowledged is there, and nothing half-written

describe.each(databaseKinds)('market on %s: a coordinator killed with SIGKILL mid-stream', (kind) => {
  // enough that the kill lands with orders in flight: a batch is acknowledged once its sync completes, while the next batches already run
  const ORDERS = 1_500;
  const KILL_AFTER = 60;
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterEach(killAll);
  afterAll(async () => {
    killAll();
    await t?.drop();
  });

  it('keeps every acknowledged order and leaves the book and the ledger whole', { timeout: 120_000 }, async () => {
    const market = await openMarket(t.db, 'conc-kill');
    const community = { id: market.communityId, commissionBps: BPS, creditLimit: 0 };
    const acked: string[] = [];
    let killed = false;
    const worker = startWorker({ url: t.url, community, orders: planOrders(20_261_206, ORDERS, market) }, (orderId) => {
      acked.push(orderId);
      if (acked.length >= KILL_AFTER && !killed) {
        killed = true;
        worker.child.kill('SIGKILL');
      }
    });
    await worker.ready;
    worker.child.stdin.write('GO\n');
    await expect(worker.done).rejects.toThrow(/SIGKILL/);
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);

    const stored = await t.db.order.findMany({ where: { id: { in: acked } }, select: { id: true } });
    expect(stored.length).toBe(new Set(acked).size);
    const { problems, stats } = await auditMarket(t.db, market.communityId, market.everyone.map((m) => m.id));
    expect(problems).toEqual([]);
    // it was killed with orders still in flight: fewer are stored than were sent
    expect(stats.orders).toBeLessThan(ORDERS);
    console.info(`[${kind}] killed after ${acked.length} acknowledged:`, JSON.stringify(stats));
  });
});
