/**
 * One stream per browser (`signal.stream`) and the API server's way of writing live streams
 * (server/http/live-fast-path.ts), over HTTP on both databases: the same scenario runs against the API
 * server with its live path and with tRPC's own SSE path (`fastLive: false`), so the wire format is shown
 * to be the same; the safety-net poll is ten minutes (tests/support/live-env.ts), so every event was woken.
 */
import '../support/live-env';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler, type ApiHandlerOptions } from '@/server/http/api-server';
import { bookWantKey, parseCursor } from '@/server/live/tab-protocol';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';
import { openSse, type SseEvent } from '../support/sse-client';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JITI_CLI = fileURLToPath(new URL('../../node_modules/jiti/lib/jiti-cli.mjs', import.meta.url));
const API_WORKER = fileURLToPath(new URL('../support/api-worker.ts', import.meta.url));
const CREDIT = 1_000_000;
const HOUR = 3_600_000;
/** Asks cover 0.5–5 h from now, bids 1–2 h: every ask's window covers every bid's. */
const window = (side: 'BUY' | 'SELL') =>
  side === 'SELL'
    ? { windowStart: new Date(Date.now() + HOUR / 2).toISOString(), windowEnd: new Date(Date.now() + 5 * HOUR).toISOString() }
    : { windowStart: new Date(Date.now() + HOUR).toISOString(), windowEnd: new Date(Date.now() + 2 * HOUR).toISOString() };

async function apiServer(options: ApiHandlerOptions) {
  const server = createServer(createApiHandler(options));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

type Json = Record<string, unknown> & { feed?: string };
const json = (e: SseEvent) => e.json as Json;

describe.each(databaseKinds)('live streams over HTTP on %s', (kind) => {
  let t: TestDatabase;
  const servers: Record<'fast' | 'full', { base: string; close: () => Promise<void> }> = {} as never;
  let communityId: string;
  let otherCommunityId: string;
  let n = 0;
  type Member = { id: string; token: string; caller: Caller; deviceId: string; cookie: string };

  async function member(prefix: string, slug = `stream-${kind}`): Promise<Member> {
    const m = await signUp(t.db, `${prefix}-${kind}-${++n}`);
    await m.caller.community.join({ slug });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    return { id: m.member.id, token: m.token, caller: m.caller, deviceId: device.id, cookie: `swapmesh_session=${m.token}` };
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    servers.fast = await apiServer({ db: t.db, trustProxy: 0 });
    servers.full = await apiServer({ db: t.db, trustProxy: 0, fastLive: false });
    const owner = await signUp(t.db, `stream-owner-${kind}`);
    ({ id: communityId } = await owner.caller.community.create({ name: 'Stream', slug: `stream-${kind}`, commissionBps: 0, startingGrant: 100 * CREDIT, inviteOnly: false }));
    ({ id: otherCommunityId } = await owner.caller.community.create({ name: 'Elsewhere', slug: `elsewhere-${kind}`, commissionBps: 0, startingGrant: 0, inviteOnly: false }));
  });
  afterAll(async () => {
    await servers.fast?.close();
    await servers.full?.close();
    await t?.drop();
  });

  it.each(['fast', 'full'] as const)(
    '%s: one stream carries the member’s events, the book, the device’s signals and presence, refuses what is not theirs, and resumes after its last id',
    async (path) => {
      const base = servers[path].base;
      // a community of its own, so that its book starts empty
      const owner = await signUp(t.db, `owner-${path}-${kind}`);
      const { id: communityId } = await owner.caller.community.create({ name: `Stream ${path}`, slug: `stream-${path}-${kind}`, commissionBps: 0, startingGrant: 100 * CREDIT, inviteOnly: false });
      const [me, other] = [await member('me', `stream-${path}-${kind}`), await member('other', `stream-${path}-${kind}`)];
      const book = { communityId, category: 'COMPUTE' as const, unit: 'CPU_SECOND', tradeLimit: 10 };
      const input = {
        books: [book, { ...book, communityId: otherCommunityId }],
        devices: [{ deviceId: me.deviceId, presenceCommunityId: communityId }, { deviceId: other.deviceId }],
      };
      const stream = openSse(base, 'signal.stream', input, { cookie: me.cookie });
      expect(await stream.status).toBe(200);
      const key = bookWantKey(book);
      await stream.until((e) => json(e)?.feed === 'book');
      await stream.until((e) => json(e)?.feed === 'presence');
      expect(stream.events[0]!.event).toBe('connected');
      const refused = stream.data().filter((e) => json(e).feed === 'refused').map((e) => json(e));
      expect(refused).toEqual([
        expect.objectContaining({ key: bookWantKey({ ...book, communityId: otherCommunityId }), code: 'FORBIDDEN' }),
        expect.objectContaining({ deviceId: other.deviceId, code: 'NOT_FOUND' }),
      ]);
      expect(stream.data().find((e) => json(e).feed === 'book')!.json).toMatchObject({ key, levels: { bids: [], asks: [] }, trades: [] });

      // another member's ask reaches the book part; my crossing bid reaches my events (tracked) and the book
      await other.caller.market.placeOrder({ communityId, side: 'SELL', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 3, price: 2 * CREDIT, ...window('SELL') });
      await stream.until((e) => json(e)?.feed === 'book' && (json(e).levels as { asks: unknown[] }).asks.length > 0);
      const { fills } = await me.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 1, price: 2 * CREDIT, ...window('BUY') });
      expect(fills).toHaveLength(1);
      await stream.until((e) => json(e)?.feed === 'event' && json(e).type === 'fill');
      await stream.until((e) => json(e)?.feed === 'book' && (json(e).trades as unknown[]).length > 0);
      await other.caller.signal.send({ fromDeviceId: other.deviceId, toDeviceId: me.deviceId, message: { type: 'hello', transferId: 'first' } });
      await stream.until((e) => json(e)?.feed === 'signal');
      const tracked = stream.data().filter((e) => e.id);
      expect(tracked.every((e) => /^\d+\.\d+$/.test(e.id!))).toBe(true);
      // an untracked event after a tracked one clears the id and restores it (tRPC's format)
      const lastId = tracked.at(-1)!.id!;
      stream.close();

      // while away: another signal and another fill; the resumed stream sends exactly those tracked events
      await other.caller.signal.send({ fromDeviceId: other.deviceId, toDeviceId: me.deviceId, message: { type: 'hello', transferId: 'second' } });
      await me.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 1, price: 2 * CREDIT, ...window('BUY') });
      const resumed = openSse(base, 'signal.stream', input, { cookie: me.cookie, 'last-event-id': lastId });
      await resumed.until((e) => json(e)?.feed === 'signal');
      await resumed.until((e) => json(e)?.feed === 'event' && json(e).type === 'fill');
      await resumed.until((e) => json(e)?.feed === 'book' && (json(e).trades as unknown[]).length === 2);
      const signals = resumed.data().filter((e) => json(e).feed === 'signal');
      expect(signals.map((e) => (json(e).message as { transferId: string }).transferId)).toEqual(['second']);
      const before = parseCursor(lastId)!;
      for (const e of resumed.data().filter((x) => x.id)) {
        const c = parseCursor(e.id)!;
        expect(c.events >= before.events && c.signals >= before.signals && (c.events > before.events || c.signals > before.signals)).toBe(true);
      }
      // untracked events on a resumed stream: id cleared, then restored
      const bookIndex = resumed.events.findIndex((e) => json(e)?.feed === 'book');
      expect(resumed.events[bookIndex]!.id).toBe('');
      expect(resumed.events[bookIndex + 1]).toMatchObject({ event: 'restore-id' });
      resumed.close();
    },
  );

  it('market.bookEvents: both ways send the same events; the live way hands every stream the same bytes', async () => {
    const [seller, ...watchers] = [await member('seller'), await member('w1'), await member('w2')];
    const input = { communityId, category: 'STORAGE', unit: 'MB_HOUR' };
    const streams = watchers.flatMap((w) => [openSse(servers.fast.base, 'market.bookEvents', input, { cookie: w.cookie }), openSse(servers.full.base, 'market.bookEvents', input, { cookie: w.cookie })]);
    await Promise.all(streams.map((s) => s.until((e) => e.event === 'message')));
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'STORAGE', unit: 'MB_HOUR', kind: 'STANDING', quantity: 5, price: 3 * CREDIT, ...window('SELL') });
    await Promise.all(streams.map((s) => s.until((e) => e.event === 'message' && (json(e).levels as { asks: unknown[] }).asks.length > 0)));
    const shape = (events: SseEvent[]) => events.map((e) => ({ event: e.event, tracked: e.id !== undefined, json: e.json && { ...(e.json as object), seq: 0 } }));
    const [fast1, full1, fast2, full2] = streams;
    expect(shape(fast1!.events)).toEqual(shape(full1!.events));
    expect(shape(fast2!.events)).toEqual(shape(full2!.events));
    // the live way: one read and one encoding per change, so two watchers of the book get identical events, ids included
    expect(fast1!.data().map((e) => [e.id, e.data])).toEqual(fast2!.data().map((e) => [e.id, e.data]));
    for (const s of streams) s.close();
  });

  it('signed out or with bad input: tRPC’s serialized error on both ways', async () => {
    for (const path of ['fast', 'full'] as const) {
      const anonymous = openSse(servers[path].base, 'signal.stream', { books: [] });
      const error = (await anonymous.until((e) => e.event === 'serialized-error')).find((e) => e.event === 'serialized-error');
      expect(JSON.parse(error!.data)).toMatchObject({ code: -32001, data: { code: 'UNAUTHORIZED' } });
      const m = await member(`bad-${path}`);
      const bad = openSse(servers[path].base, 'signal.stream', { books: Array.from({ length: 9 }, () => ({ communityId, category: 'COMPUTE' })) }, { cookie: m.cookie });
      const refused = (await bad.until((e) => e.event === 'serialized-error')).find((e) => e.event === 'serialized-error');
      expect(JSON.parse(refused!.data)).toMatchObject({ data: { code: 'BAD_REQUEST' } });
      const outsider = openSse(servers[path].base, 'market.bookEvents', { communityId: otherCommunityId, category: 'COMPUTE' }, { cookie: m.cookie });
      const forbidden = (await outsider.until((e) => e.event === 'serialized-error')).find((e) => e.event === 'serialized-error');
      expect(JSON.parse(forbidden!.data)).toMatchObject({ data: { code: 'FORBIDDEN' } });
    }
  });
});

describe.runIf(databaseKinds.includes('postgres'))('three coordinator processes on postgres', () => {
  let t: TestDatabase;
  const children = new Set<ChildProcessWithoutNullStreams>();

  /** An API server in a process of its own (tests/support/api-worker.ts), serving the test database. */
  function coordinator(): Promise<string> {
    const child = spawn(process.execPath, [JITI_CLI, API_WORKER], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: t.url, SWAPMESH_LIVE_POLL_MS: '600000' } });
    children.add(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        try {
          resolve(`http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
        } catch {
          // stray output
        }
      });
      child.once('exit', (code) => reject(new Error(`coordinator exited (${code})\n${stderr.slice(-4_000)}`)));
    });
  }

  beforeAll(async () => {
    t = await freshDatabase('postgres');
  });
  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await t?.drop();
  });

  it('an order placed through one is seen live by watchers connected to the two others', { timeout: 180_000 }, async () => {
    const [a, b, c] = await Promise.all([coordinator(), coordinator(), coordinator()]);
    const owner = await signUp(t.db, 'procs3-owner');
    const { id: communityId } = await owner.caller.community.create({ name: 'Three', slug: 'three', commissionBps: 0, startingGrant: 100 * CREDIT, inviteOnly: false });
    const [seller, watcher] = await Promise.all(['procs3-seller', 'procs3-watcher'].map(async (handle) => {
      const m = await signUp(t.db, handle);
      await m.caller.community.join({ slug: 'three' });
      return { ...m, cookie: `swapmesh_session=${m.token}` };
    }));
    const book = { communityId, category: 'COMPUTE' as const, unit: 'CPU_SECOND', tradeLimit: 10 };
    // the seller's own stream on B (its events), a watcher's book stream on C
    const sellerStream = openSse(b, 'signal.stream', { books: [book] }, { cookie: seller!.cookie });
    const watcherStream = openSse(c, 'market.bookEvents', book, { cookie: watcher!.cookie });
    await sellerStream.until((e) => json(e)?.feed === 'book');
    await watcherStream.until((e) => e.event === 'message');
    // each process LISTENs once its first subscriber came; give the LISTENs a moment to be in place
    await new Promise((resolve) => setTimeout(resolve, 500));

    const placed = await fetch(`${a}/api/trpc/market.placeOrder`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: seller!.cookie },
      body: JSON.stringify({ communityId, side: 'SELL', category: 'COMPUTE', unit: 'CPU_SECOND', kind: 'STANDING', quantity: 4, price: 3 * CREDIT, ...window('SELL') }),
    });
    expect(placed.status).toBe(200);
    const hasAsk = (e: SseEvent) => (json(e)?.levels as { asks?: { price: number }[] } | undefined)?.asks?.some((l) => l.price === 3 * CREDIT) ?? false;
    await watcherStream.until((e) => e.event === 'message' && hasAsk(e));
    await sellerStream.until((e) => json(e)?.feed === 'book' && hasAsk(e));
    sellerStream.close();
    watcherStream.close();
  });
});
