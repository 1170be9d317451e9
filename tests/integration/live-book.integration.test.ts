/**
 * Live to every watcher: a member who is no party to a fill, watching a book through `market.bookEvents`,
 * receives its new levels and trades once another member's order changes it (both databases); and on
 * PostgreSQL a subscriber in this process hears, through LISTEN/NOTIFY, an order placed by another
 * coordinator process. The safety-net poll is set to ten minutes here (tests/support/live-env.ts), so
 * every event that arrives was woken, not polled.
 */
import '../support/live-env';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POLL_INTERVAL_MS } from '@/server/live/bus';
import { closeRemote, isListening, reopenRemote } from '@/server/live/remote';
import { rejects } from '../support/assertions';
import { callerWith, signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';
import type { LiveWorkerJob } from '../support/live-worker';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JITI_CLI = fileURLToPath(new URL('../../node_modules/jiti/lib/jiti-cli.mjs', import.meta.url));
const WORKER = fileURLToPath(new URL('../support/live-worker.ts', import.meta.url));

const window = (fromHours: number, toHours: number) => ({
  windowStart: new Date(Date.now() + fromHours * HOUR).toISOString(),
  windowEnd: new Date(Date.now() + toHours * HOUR).toISOString(),
});

type Level = { price: number; quantity: number };
type BookEvent = { seq: number; communityId: string; category: string; levels: { bids: Level[]; asks: Level[] }; trades: { id: string; quantity: number; price: number }[] };
type MemberEvent = { type: string; orderId?: string };

/** Reads a subscription (without closing it) until `until` accepts an event. */
async function readUntil<T>(feed: AsyncIterator<unknown>, until: (event: T) => boolean): Promise<T[]> {
  const seen: T[] = [];
  for (let next = await feed.next(); !next.done; next = await feed.next()) {
    const [, data] = next.value as [string, T];
    seen.push(data);
    if (until(data)) return seen;
  }
  throw new Error(`the feed ended after ${seen.length} events without the one awaited`);
}

it('the safety-net poll is far beyond this test (the events below were woken, not polled)', () => {
  expect(POLL_INTERVAL_MS).toBe(600_000);
});

describe.each(databaseKinds)('live book on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  type Member = { id: string; token: string; caller: Caller };

  async function member(prefix: string): Promise<Member> {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'live-book' });
    await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    return { id: m.member.id, token: m.token, caller: m.caller };
  }
  const order = (m: Member, fields: Record<string, unknown>) =>
    m.caller.market.placeOrder({ communityId, category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', ...window(1, 3), ...fields } as Parameters<Caller['market']['placeOrder']>[0]);

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, 'live-owner');
    ({ id: communityId } = await owner.caller.community.create({ name: 'Live book', slug: 'live-book', commissionBps: 200, startingGrant: 100 * CREDIT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('a watcher who is no party receives the new levels and the trade after another member places a crossing order', async () => {
    const [seller, buyer, watcher] = [await member('seller'), await member('buyer'), await member('watcher')];
    const controller = new AbortController();
    try {
      const caller = (await callerWith(t.db, watcher.token, controller.signal)).caller;
      const feed = (await caller.market.bookEvents({ communityId, category: 'COMPUTE', unit: 'CPU_SECOND' })) as AsyncIterable<unknown>;
      const iterator = feed[Symbol.asyncIterator]();
      const first = ((await iterator.next()).value as [string, BookEvent])[1];
      expect(first).toMatchObject({ communityId, category: 'COMPUTE', levels: { bids: [], asks: [] }, trades: [] });
      const rest = iterator;

      await order(seller, { side: 'SELL', quantity: 3, price: 2 * CREDIT, ...window(0.5, 5) });
      const rested = await readUntil<BookEvent>(rest, (e) => e.levels.asks.length > 0);
      expect(rested.at(-1)!.levels).toEqual({ bids: [], asks: [{ price: 2 * CREDIT, quantity: 3 }] });

      const { fills } = await order(buyer, { side: 'BUY', quantity: 2, price: 2 * CREDIT, ...window(1, 2) });
      expect(fills).toHaveLength(1);
      const filled = await readUntil<BookEvent>(rest, (e) => e.trades.length > 0);
      const last = filled.at(-1)!;
      expect(last.levels).toEqual({ bids: [], asks: [{ price: 2 * CREDIT, quantity: 1 }] });
      expect(last.trades).toEqual([expect.objectContaining({ id: fills[0]!.contractId, quantity: 2, price: 2 * CREDIT })]);
      // the levels and trades are what `market.book` and `market.trades` answer
      expect(last.levels).toEqual(await watcher.caller.market.book({ communityId, category: 'COMPUTE', unit: 'CPU_SECOND' }));
      expect(last.trades).toEqual(await watcher.caller.market.trades({ communityId, category: 'COMPUTE', limit: 10 }));
      expect(last.seq).toBeGreaterThan(first.seq);

      // a cancel reaches the watcher too
      const [open] = (await seller.caller.market.myOrders({ communityId, open: true })).items;
      await seller.caller.market.cancelOrder({ orderId: open!.id });
      const cancelled = await readUntil<BookEvent>(rest, (e) => e.levels.asks.length === 0);
      expect(cancelled.at(-1)!.levels).toEqual({ bids: [], asks: [] });
    } finally {
      controller.abort();
    }
  });

  it('many watchers of one book each receive the change', async () => {
    const [seller, ...watchers] = await Promise.all(Array.from({ length: 21 }, (_, i) => member(`many-${i}`)));
    const controller = new AbortController();
    try {
      const iterators = await Promise.all(
        watchers.map(async (w) => {
          const caller = (await callerWith(t.db, w.token, controller.signal)).caller;
          const iterator = ((await caller.market.bookEvents({ communityId, category: 'STORAGE', unit: 'MB_HOUR' })) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
          await iterator.next(); // the current state
          return iterator;
        }),
      );
      await order(seller!, { side: 'SELL', quantity: 5, price: 3 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR' });
      const received = await Promise.all(iterators.map((it) => readUntil<BookEvent>(it, (e) => e.levels.asks.length > 0)));
      for (const events of received) expect(events.at(-1)!.levels.asks).toEqual([{ price: 3 * CREDIT, quantity: 5 }]);
    } finally {
      controller.abort();
    }
  });

  it('refuses a watcher who is not a member, and bad input', async () => {
    const outsider = await signUp(t.db, `outsider-${++seq}`);
    const signal = AbortSignal.timeout(5_000);
    const caller = (await callerWith(t.db, outsider.token, signal)).caller;
    await rejects(caller.market.bookEvents({ communityId, category: 'COMPUTE' }), 'FORBIDDEN');
    const m = await member('bad');
    const mine = (await callerWith(t.db, m.token, signal)).caller;
    await rejects(mine.market.bookEvents({ communityId, category: 'NOPE' as 'COMPUTE' }), 'BAD_REQUEST');
    await rejects(mine.market.bookEvents({ communityId, category: 'COMPUTE', tradeLimit: 0 }), 'BAD_REQUEST');
  });
});

describe.runIf(databaseKinds.includes('postgres'))('live across coordinator processes on postgres', () => {
  let t: TestDatabase;
  let communityId: string;
  let commissionBps = 0;
  const running = new Set<ChildProcessWithoutNullStreams>();
  const previousUrl = process.env.DATABASE_URL;

  beforeAll(async () => {
    t = await freshDatabase('postgres');
    // this process serves subscribers of that database: its live connection listens there
    await closeRemote();
    reopenRemote();
    process.env.DATABASE_URL = t.url;
    const owner = await signUp(t.db, 'procs-owner');
    const community = await owner.caller.community.create({ name: 'Procs', slug: 'procs', commissionBps: 200, startingGrant: 100 * CREDIT, inviteOnly: false });
    communityId = community.id;
    commissionBps = 200;
  });
  afterAll(async () => {
    for (const child of running) child.kill('SIGKILL');
    await closeRemote();
    reopenRemote();
    if (previousUrl === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = previousUrl;
    await t?.drop();
  });

  function startWorker(job: LiveWorkerJob) {
    const child = spawn(process.execPath, [JITI_CLI, WORKER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env } });
    running.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const messages: ((m: Record<string, unknown>) => void)[] = [];
    const next = () => new Promise<Record<string, unknown>>((resolve, reject) => {
      messages.push(resolve);
      child.once('close', (code) => reject(new Error(`live worker exited (${code})\n${stderr.slice(-4_000)}`)));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const message = JSON.parse(line) as Record<string, unknown>;
        messages.shift()?.(message);
      } catch {
        // stray output
      }
    });
    child.on('close', () => running.delete(child));
    child.stdin.on('error', () => {});
    const ready = next();
    child.stdin.write(`${JSON.stringify(job)}\n`);
    return { ready, go: () => { const done = next(); child.stdin.write('GO\n'); return done; } };
  }

  it('a subscriber here sees, at once, the member event and the book change of an order placed through another process', async () => {
    const [seller, buyer, watcher] = await Promise.all(['p-seller', 'p-buyer', 'p-watcher'].map(async (handle) => {
      const m = await signUp(t.db, handle);
      await m.caller.community.join({ slug: 'procs' });
      await m.caller.device.register({ name: 'phone', profile: phoneProfile });
      return m;
    }));
    const resting = await seller!.caller.market.placeOrder({ communityId, side: 'SELL', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 4, price: 2 * CREDIT, ...window(1, 3) });
    const worker = startWorker({
      url: t.url,
      community: { id: communityId, commissionBps, creditLimit: 0 },
      orders: [{ memberId: buyer!.member.id, input: { communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 1, price: 2 * CREDIT, ...window(1, 2) } }],
    });
    await worker.ready;

    const controller = new AbortController();
    try {
      // the seller (a party) hears the fill; the watcher (no party) hears the book
      const sellerFeed = (await (await callerWith(t.db, seller!.token, controller.signal)).caller.market.events({})) as AsyncIterable<unknown>;
      const sellerIterator = sellerFeed[Symbol.asyncIterator]();
      const firstSellerEvent = sellerIterator.next();
      const bookFeed = ((await (await callerWith(t.db, watcher!.token, controller.signal)).caller.market.bookEvents({ communityId, category: 'COMPUTE', unit: 'CPU_SECOND' })) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      const current = ((await bookFeed.next()).value as [string, BookEvent])[1];
      expect(current.levels.asks).toEqual([{ price: 2 * CREDIT, quantity: 4 }]);
      // let this process's LISTEN settle before the other process commits (a connection being
      // established wakes every waiter anyway, which would hide a missing NOTIFY)
      for (let i = 0; i < 200 && !isListening(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(isListening()).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100));

      const done = (await worker.go()) as { done: boolean; results: { fills: number }[] };
      expect(done.results).toEqual([expect.objectContaining({ fills: 1 })]);

      const bookEvents = await readUntil<BookEvent>(bookFeed, (e) => e.trades.length > 0);
      expect(bookEvents.at(-1)!.levels.asks).toEqual([{ price: 2 * CREDIT, quantity: 3 }]);
      const first = (await firstSellerEvent).value as [string, MemberEvent];
      const sellerEvents = [first[1], ...(await readUntil<MemberEvent>(sellerIterator, (e) => e.type === 'contract'))];
      expect(sellerEvents.map((e) => e.type)).toEqual(['fill', 'order', 'contract']);
      expect(sellerEvents[0]).toMatchObject({ orderId: resting.order.id });

      // the listening connection dies: it comes back by itself, and the next order from the other process is heard
      const admin = new pg.Client({ connectionString: t.url });
      await admin.connect();
      try {
        await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'swapmesh-live' AND datname = current_database() AND pid <> pg_backend_pid()");
      } finally {
        await admin.end();
      }
      for (let i = 0; i < 100 && isListening(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(isListening()).toBe(false);
      for (let i = 0; i < 400 && !isListening(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
      expect(isListening()).toBe(true);
      // a reconnection wakes every waiter once (nothing changed: no event); let that pass first
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = startWorker({
        url: t.url,
        community: { id: communityId, commissionBps, creditLimit: 0 },
        orders: [{ memberId: buyer!.member.id, input: { communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 2, price: 2 * CREDIT, ...window(1, 2) } }],
      });
      await second.ready;
      await second.go();
      const after = await readUntil<BookEvent>(bookFeed, (e) => e.levels.asks[0]?.quantity === 1);
      expect(after.at(-1)!.trades).toHaveLength(2);
    } finally {
      controller.abort();
    }
  });
});
