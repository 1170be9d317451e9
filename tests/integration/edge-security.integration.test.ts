import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as trpcGet, POST as trpcPost } from '@/app/api/trpc/[trpc]/route';
import { GET as shareGet, POST as sharePost } from '@/app/share-target/route';
import { SESSION_CACHE_MS } from '@/server/auth/session';
import { createContext } from '@/server/context';
import { createApiHandler, type ApiHandlerOptions } from '@/server/http/api-server';
import { MAX_GUESSES_PER_CODE, MAX_SIGNAL_BYTES, PAIR_PER_DEVICE, PAIR_PER_MEMBER } from '@/server/content/signaling';
import type { Db } from '@/server/db/client';
import { DomainError } from '@/server/errors';
import { RETENTION, sweepRetention } from '@/server/maintenance/retention';
import { createCaller } from '@/server/routers/_app';
import { SIGN_IN_PER_ADDRESS, SIGN_IN_PER_HANDLE, signInKeys } from '@/server/routers/auth';
import { rejects } from '../support/assertions';
import { signUp } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const PASSWORD = 'correct horse battery';

/** A node:http server on an ephemeral loopback port, as `npm start` runs the API (server/http/api-server.ts). */
async function listen(handler: RequestListener) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The API server of `npm start` on an ephemeral port. */
const apiServer = (options: ApiHandlerOptions) => listen(createApiHandler(options));

/** A tRPC answer without the stack traces tRPC adds outside production (they name the path taken). */
function withoutStacks(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (key, value) => (key === 'stack' ? undefined : value));
}

/** Reads server-sent events from `response` until `enough` says so, then stops reading. */
async function readEvents(response: Response, enough: (events: { id?: string; data: string }[]) => boolean, abort: AbortController) {
  const events: { id?: string; data: string }[] = [];
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const timer = setTimeout(() => abort.abort(), 15_000);
  try {
    while (!enough(events)) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]));
        if (fields.data !== undefined && !fields.event) events.push({ id: fields.id, data: fields.data });
      }
    }
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return events;
}

/** A signed-out caller whose requests come from `address`. */
async function from(db: Db, address: string) {
  return createCaller(await createContext({ db, headers: new Headers(), resHeaders: new Headers(), clientAddress: address }));
}

/** Settles every call and counts the outcomes by tRPC code ('ok' for successes). */
async function outcomes(calls: Promise<unknown>[]) {
  const counts: Record<string, number> = {};
  for (const result of await Promise.allSettled(calls)) {
    const code = result.status === 'fulfilled' ? 'ok' : result.reason instanceof TRPCError ? result.reason.code : `other: ${String(result.reason)}`;
    counts[code] = (counts[code] ?? 0) + 1;
  }
  return counts;
}

describe('HTTP edge: requests refused before any procedure runs', () => {
  const request = (path: string, init: RequestInit = {}) => new Request(`http://127.0.0.1:3000/api/trpc/${path}`, init);

  // the Next route (`next dev`) and the API server of `npm start`, through the same guards
  const servers: [string, () => Promise<{ send: (path: string, init?: RequestInit) => Promise<Response>; close: () => Promise<void> }>][] = [
    ['the Next route handler', async () => ({ send: async (path, init = {}) => (init.method === 'POST' ? trpcPost : trpcGet)(request(path, init)), close: async () => {} })],
    [
      'the API server (tRPC Node adapter)',
      async () => {
        const server = await apiServer({ trustProxy: 0 });
        return { send: (path, init) => fetch(`${server.base}/api/trpc/${path}`, init), close: server.close };
      },
    ],
  ];

  it.each(servers)('%s refuses a form posted from another site (415), a cross-site JSON POST (403) and an oversized batch (400), with clear messages', async (_, start) => {
    const server = await start();
    try {
      const form = new FormData();
      form.set('x', '1');
      const multipart = await server.send('auth.signOut', { method: 'POST', body: form });
      expect(multipart.status).toBe(415);
      expect((await multipart.json()).error.message).toMatch(/only takes JSON/);
      const text = await server.send('auth.signOut', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } });
      expect(text.status).toBe(415);

      const crossSite = await server.send('auth.signOut', {
        method: 'POST',
        body: '{}',
        headers: { 'content-type': 'application/json', host: '127.0.0.1:3000', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      });
      expect(crossSite.status).toBe(403);
      expect((await crossSite.json()).error).toMatchObject({ message: /other sites/, data: { code: 'FORBIDDEN', httpStatus: 403 } });

      const batch = await server.send(`${Array.from({ length: 17 }, () => 'auth.me').join(',')}?batch=1&input=%7B%7D`);
      expect(batch.status).toBe(400);
      expect((await batch.json()).error.message).toMatch(/at most 16 calls/);
      // 16 calls pass
      const sixteen = await server.send(`${Array.from({ length: 16 }, () => 'auth.me').join(',')}?batch=1&input=%7B%7D`);
      expect(sixteen.status).toBe(200);
      expect(await sixteen.json()).toHaveLength(16);
    } finally {
      await server.close();
    }
  });

  it('the share target sends the browser to a path of the address it used, never to a fixed host', async () => {
    for (const response of [sharePost(), shareGet()]) {
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toMatch(/^\/content\/publish(\?shared=0)?$/);
    }
  });
});

describe.each(databaseKinds)('edge security on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  describe('sign-in throttle', () => {
    it('blocks a handle after 5 wrong passwords, from any address, refuses even the right password, and says when to retry', async () => {
      await signUp(t.db, 'grace', PASSWORD);
      const guesser = await from(t.db, '203.0.113.10');
      for (let i = 0; i < SIGN_IN_PER_HANDLE.limit; i++) {
        await rejects(guesser.auth.signIn({ handle: 'grace', password: `wrong guess ${i}` }), 'UNAUTHORIZED', /Wrong handle or password/);
      }
      const error = await guesser.auth.signIn({ handle: 'grace', password: PASSWORD }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCError);
      expect((error as TRPCError).code).toBe('TOO_MANY_REQUESTS');
      expect((error as TRPCError).message).toBe('Too many attempts: try again in 15 minutes.');
      const retry = ((error as TRPCError).cause as DomainError).retryAfterSeconds!;
      expect(retry).toBeGreaterThan(14 * 60);
      expect(retry).toBeLessThanOrEqual(15 * 60);
      // the owner, from elsewhere, is refused too until the block ends
      await rejects((await from(t.db, '198.51.100.20')).auth.signIn({ handle: 'grace', password: PASSWORD }), 'TOO_MANY_REQUESTS', /Too many attempts/);

      // when the block and its window are over, the right password works again and clears the count
      const past = new Date(Date.now() - SIGN_IN_PER_HANDLE.windowMs - 1_000);
      await t.db.throttle.update({ where: { key: signInKeys('grace', 'x').handle }, data: { blockedUntil: past, windowStart: past } });
      await expect((await from(t.db, '198.51.100.20')).auth.signIn({ handle: 'grace', password: PASSWORD })).resolves.toMatchObject({ member: { handle: 'grace' } });
      expect(await t.db.throttle.count({ where: { key: signInKeys('grace', 'x').handle } })).toBe(0);
    });

    it('a successful sign-in forgives the handle’s earlier wrong passwords', async () => {
      await signUp(t.db, 'hopper', PASSWORD);
      const caller = await from(t.db, '203.0.113.11');
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < SIGN_IN_PER_HANDLE.limit - 1; i++) await rejects(caller.auth.signIn({ handle: 'hopper', password: 'not the password' }), 'UNAUTHORIZED');
        await expect(caller.auth.signIn({ handle: 'hopper', password: PASSWORD })).resolves.toMatchObject({ member: { handle: 'hopper' } });
      }
    });

    it('blocks an address after 20 wrong passwords over any handles; other addresses are not affected', async () => {
      await signUp(t.db, 'lovelace', PASSWORD);
      const address = '203.0.113.12';
      const key = signInKeys('x', address).address!;
      // 18 wrong passwords already counted for this address, on other handles
      await t.db.throttle.create({ data: { key, failures: SIGN_IN_PER_ADDRESS.limit - 2, windowStart: new Date() } });
      const caller = await from(t.db, address);
      await rejects(caller.auth.signIn({ handle: 'nobody-1', password: 'guess guess' }), 'UNAUTHORIZED');
      await rejects(caller.auth.signIn({ handle: 'nobody-2', password: 'guess guess' }), 'UNAUTHORIZED');
      await rejects(caller.auth.signIn({ handle: 'lovelace', password: PASSWORD }), 'TOO_MANY_REQUESTS', /Too many attempts: try again in 15 minutes/);
      await expect((await from(t.db, '203.0.113.13')).auth.signIn({ handle: 'lovelace', password: PASSWORD })).resolves.toMatchObject({ member: { handle: 'lovelace' } });
      // signing up is not a guess: it is not refused by the address's block
      await expect((await from(t.db, address)).auth.signUp({ handle: 'newcomer', password: PASSWORD })).resolves.toMatchObject({ member: { handle: 'newcomer' } });
    });

    it('20 guesses sent at once get at most 5 password checks; exactly 5 wrong passwords are checked before the block', async () => {
      await signUp(t.db, 'turing', PASSWORD);
      const callers = await Promise.all(Array.from({ length: 20 }, (_, i) => from(t.db, `198.51.100.${100 + i}`)));
      const counts = await outcomes(callers.map((c, i) => c.auth.signIn({ handle: 'turing', password: `wrong password ${i}` })));
      expect(Object.keys(counts).sort()).toEqual(['TOO_MANY_REQUESTS', 'UNAUTHORIZED']);
      expect(counts.UNAUTHORIZED).toBeLessThanOrEqual(SIGN_IN_PER_HANDLE.limit);
      expect(counts.UNAUTHORIZED! + counts.TOO_MANY_REQUESTS!).toBe(20);
      // guessing on, one at a time, until refused: the window had exactly 5 wrong passwords checked in all
      let checked = counts.UNAUTHORIZED!;
      for (;;) {
        const error = await callers[0]!.auth.signIn({ handle: 'turing', password: 'one more guess' }).catch((e: TRPCError) => e);
        if ((error as TRPCError).code !== 'UNAUTHORIZED') break;
        checked++;
      }
      expect(checked).toBe(SIGN_IN_PER_HANDLE.limit);
      await rejects((await from(t.db, '198.51.100.99')).auth.signIn({ handle: 'turing', password: PASSWORD }), 'TOO_MANY_REQUESTS');
    });

    it('the right password sent many times at once is never locked out: the excess waits a few seconds, then works', async () => {
      await signUp(t.db, 'knuth', PASSWORD);
      const callers = await Promise.all(Array.from({ length: 20 }, (_, i) => from(t.db, `198.51.100.${150 + i}`)));
      const counts = await outcomes(callers.map((c) => c.auth.signIn({ handle: 'knuth', password: PASSWORD })));
      expect(counts.ok).toBeGreaterThanOrEqual(1);
      expect(counts.ok! + (counts.TOO_MANY_REQUESTS ?? 0)).toBe(20);
      const key = signInKeys('knuth', 'x').handle;
      expect(await t.db.throttle.count({ where: { key, blockedUntil: { not: null } } })).toBe(0);
      await expect(callers[0]!.auth.signIn({ handle: 'knuth', password: PASSWORD })).resolves.toMatchObject({ member: { handle: 'knuth' } });
    });

    it('the seconds to wait reach the HTTP client in error.data.retryAfterSeconds (429)', async () => {
      await signUp(t.db, 'hamilton', PASSWORD);
      await t.db.throttle.create({ data: { key: signInKeys('hamilton', 'x').handle, failures: 5, windowStart: new Date(), blockedUntil: new Date(Date.now() + 600_000) } });
      const req = new Request('http://127.0.0.1:3000/api/trpc/auth.signIn', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ handle: 'hamilton', password: PASSWORD }),
      });
      const response = await fetchRequestHandler({
        endpoint: '/api/trpc',
        req,
        router: (await import('@/server/routers/_app')).appRouter,
        createContext: ({ resHeaders }) => createContext({ db: t.db, headers: req.headers, resHeaders, clientAddress: '203.0.113.14' }),
      });
      expect(response.status).toBe(429);
      const body = await response.json();
      expect(body.error.message).toBe('Too many attempts: try again in 10 minutes.');
      expect(body.error.data).toMatchObject({ code: 'TOO_MANY_REQUESTS', httpStatus: 429 });
      expect(body.error.data.retryAfterSeconds).toBeGreaterThan(590);
      expect(body.error.data.retryAfterSeconds).toBeLessThanOrEqual(600);
    });
  });

  describe('pairing codes', () => {
    let seq = 0;
    async function device(member?: Awaited<ReturnType<typeof signUp>>) {
      const m = member ?? (await signUp(t.db, `pairer-${kind}-${++seq}`, PASSWORD));
      const { device } = await m.caller.device.register({ name: `phone ${++seq}`, profile: phoneProfile });
      return { ...m, deviceId: device.id };
    }
    const otherThan = (code: string, i: number) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0');

    it('stops a device after 10 wrong codes, even for the right one, and counts every wrong guess against live codes', async () => {
      const owner = await device();
      const { code } = await owner.caller.signal.pairCode({ deviceId: owner.deviceId });
      const guesser = await device();
      for (let i = 0; i < PAIR_PER_DEVICE.limit; i++) {
        await rejects(guesser.caller.signal.pair({ deviceId: guesser.deviceId, code: otherThan(code, i) }), 'NOT_FOUND', /not valid or has expired/);
      }
      await rejects(guesser.caller.signal.pair({ deviceId: guesser.deviceId, code }), 'TOO_MANY_REQUESTS', /Too many attempts: try again in 10 minutes/);
      const pairing = await t.db.devicePairing.findFirstOrThrow({ where: { code, deviceId: owner.deviceId } });
      expect(pairing.attempts).toBeGreaterThanOrEqual(PAIR_PER_DEVICE.limit);
      expect(pairing.pairedId).toBeNull();
      // someone the owner gives the code to still pairs
      const friend = await device();
      await expect(friend.caller.signal.pair({ deviceId: friend.deviceId, code })).resolves.toMatchObject({ pairedWith: { deviceId: owner.deviceId } });
    });

    it('stops a member guessing from many devices', async () => {
      const guesser = await device();
      await t.db.throttle.create({ data: { key: `pair:member:${guesser.member.id}`, failures: PAIR_PER_MEMBER.limit - 1, windowStart: new Date() } });
      await rejects(guesser.caller.signal.pair({ deviceId: guesser.deviceId, code: '000001' }), 'NOT_FOUND');
      const another = await device(guesser);
      await rejects(another.caller.signal.pair({ deviceId: another.deviceId, code: '000002' }), 'TOO_MANY_REQUESTS');
    });

    it(`a code exposed to ${MAX_GUESSES_PER_CODE} wrong guesses stops working`, async () => {
      const owner = await device();
      const { code } = await owner.caller.signal.pairCode({ deviceId: owner.deviceId });
      await t.db.devicePairing.updateMany({ where: { code, deviceId: owner.deviceId }, data: { attempts: MAX_GUESSES_PER_CODE - 1 } });
      const guesser = await device();
      await rejects(guesser.caller.signal.pair({ deviceId: guesser.deviceId, code: otherThan(code, 0) }), 'NOT_FOUND');
      const friend = await device();
      await rejects(friend.caller.signal.pair({ deviceId: friend.deviceId, code }), 'NOT_FOUND', /ask for a new one/);
    });

    it('20 guesses at once from one device get at most 10 answers', async () => {
      const guesser = await device();
      const counts = await outcomes(Array.from({ length: 20 }, (_, i) => guesser.caller.signal.pair({ deviceId: guesser.deviceId, code: String(900_000 + i) })));
      expect(Object.keys(counts).sort()).toEqual(['NOT_FOUND', 'TOO_MANY_REQUESTS']);
      expect(counts.NOT_FOUND).toBeLessThanOrEqual(PAIR_PER_DEVICE.limit);
    });
  });

  describe('signaling caps', () => {
    it(`refuses a message over ${MAX_SIGNAL_BYTES / 1024} kB (TOO_LARGE) and a burst past the device's rate (RATE_LIMITED), storing only what it accepted`, async () => {
      const a = await signUp(t.db, `sig-a-${kind}`, PASSWORD);
      const { device: from } = await a.caller.device.register({ name: 'a phone', profile: phoneProfile });
      const { device: to } = await a.caller.device.register({ name: 'a tablet', profile: phoneProfile });
      const send = (sdp: string) => a.caller.signal.send({ fromDeviceId: from.id, toDeviceId: to.id, message: { type: 'offer', sdp } });
      const before = await t.db.signalEvent.count();
      await rejects(send('a'.repeat(MAX_SIGNAL_BYTES)), 'PAYLOAD_TOO_LARGE', /at most 64 kB/);
      expect(await t.db.signalEvent.count()).toBe(before);
      await expect(send('a'.repeat(MAX_SIGNAL_BYTES - 100))).resolves.toEqual({ ok: true });

      const counts = await outcomes(Array.from({ length: 120 }, () => send('v=0\r\n')));
      expect(Object.keys(counts).sort()).toEqual(['TOO_MANY_REQUESTS', 'ok']);
      expect(await t.db.signalEvent.count()).toBe(before + 1 + counts.ok!);
    });
  });

  it('an inbox resumed from an id past any row id starts from now, without a database error', async () => {
    const m = await signUp(t.db, `resumer-${kind}`, PASSWORD);
    const { device: from } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    const { device: to } = await m.caller.device.register({ name: 'tablet', profile: phoneProfile });
    await m.caller.signal.send({ fromDeviceId: from.id, toDeviceId: to.id, message: { type: 'hello', transferId: 'before' } });
    const controller = new AbortController();
    const { callerWith } = await import('../support/callers');
    const { caller } = await callerWith(t.db, m.token, controller.signal);
    const inbox = (await caller.signal.inbox({ deviceId: to.id, lastEventId: '9007199254740993' }))[Symbol.asyncIterator]();
    const first = inbox.next();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await m.caller.signal.send({ fromDeviceId: from.id, toDeviceId: to.id, message: { type: 'hello', transferId: 'after' } });
    // a tracked item reaches an in-process caller as its envelope, [id, data]
    const value: unknown = (await first).value;
    const data = (Array.isArray(value) ? value[1] : (value as { data: unknown }).data) as { message: unknown };
    expect(data.message).toEqual({ type: 'hello', transferId: 'after' });
    controller.abort();
  });

  describe('retention sweep', () => {
    it('deletes old signals and live events, expired sessions, unused expired pairings and stale throttles, and keeps the rest', async () => {
      const m = await signUp(t.db, `keeper-${kind}`, PASSWORD);
      const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
      const now = new Date();
      const ago = (ms: number) => new Date(now.getTime() - ms);
      await t.db.signalEvent.deleteMany();
      await t.db.liveEvent.deleteMany();
      await t.db.throttle.deleteMany();
      const signal = { toDeviceId: device.id, fromDeviceId: device.id, fromMemberId: m.member.id, payload: { type: 'hello' } };
      await t.db.signalEvent.createMany({ data: [{ ...signal, createdAt: ago(RETENTION.signalMs + 60_000) }, { ...signal, createdAt: ago(60_000) }] });
      const live = { memberId: m.member.id, type: 'test', payload: {} };
      await t.db.liveEvent.createMany({ data: [{ ...live, createdAt: ago(RETENTION.liveEventMs + 60_000) }, { ...live, createdAt: ago(3_600_000) }] });
      await t.db.session.create({ data: { id: `expired-${kind}`, memberId: m.member.id, expiresAt: ago(1_000) } });
      const sessionsLeft = (await t.db.session.count()) - 1;
      const pairing = { deviceId: device.id, memberId: m.member.id };
      await t.db.devicePairing.deleteMany();
      await t.db.devicePairing.createMany({
        data: [
          { ...pairing, code: '111111', expiresAt: ago(1_000) },
          { ...pairing, code: '222222', expiresAt: ago(1_000), pairedId: device.id },
          { ...pairing, code: '333333', expiresAt: new Date(now.getTime() + 60_000) },
        ],
      });
      await t.db.throttle.createMany({
        data: [
          { key: 'stale', failures: 3, windowStart: ago(RETENTION.throttleMs + 60_000) },
          { key: 'stale but blocking', failures: 9, windowStart: ago(RETENTION.throttleMs + 60_000), blockedUntil: new Date(now.getTime() + 60_000) },
          { key: 'recent', failures: 1, windowStart: ago(60_000) },
        ],
      });

      expect(await sweepRetention(t.db, now)).toEqual({ signalEvents: 1, liveEvents: 1, sessions: 1, pairings: 1, throttles: 1 });
      expect(await t.db.signalEvent.count()).toBe(1);
      expect(await t.db.liveEvent.count()).toBe(1);
      expect(await t.db.session.count()).toBe(sessionsLeft);
      expect((await t.db.devicePairing.findMany({ orderBy: { code: 'asc' } })).map((p) => p.code)).toEqual(['222222', '333333']);
      expect((await t.db.throttle.findMany({ orderBy: { key: 'asc' } })).map((r) => r.key)).toEqual(['recent', 'stale but blocking']);
      // a second sweep finds nothing more
      expect(await sweepRetention(t.db, now)).toEqual({ signalEvents: 0, liveEvents: 0, sessions: 0, pairings: 0, throttles: 0 });
      // the member's live session still works
      await expect(m.caller.auth.me()).resolves.toMatchObject({ handle: `keeper-${kind}` });
    });
  });
});

describe.each(databaseKinds)('the API server of `npm start` (tRPC Node adapter) on %s', (kind) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await freshDatabase(kind);
  });
  afterAll(() => t?.drop());

  const post = (base: string, path: string, input: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/trpc/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) });
  const cookieOf = (response: Response) => response.headers.getSetCookie().find((c) => c.startsWith('swapmesh_session='));

  it('signs up, in and out with httpOnly session cookies; a signed-out session is refused at once despite the cache', async () => {
    const server = await apiServer({ db: t.db, trustProxy: 0 });
    try {
      const signUp = await post(server.base, 'auth.signUp', { handle: `http-${kind}`, password: PASSWORD });
      expect(signUp.status).toBe(200);
      const setCookie = cookieOf(signUp)!;
      expect(setCookie).toMatch(/^swapmesh_session=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Expires=/);
      expect(setCookie).not.toMatch(/Secure/);
      const cookie = setCookie.split(';')[0]!;
      const me = await fetch(`${server.base}/api/trpc/auth.me?input=%7B%7D`, { headers: { cookie } });
      expect(me.headers.get('content-type')).toBe('application/json');
      expect(await me.json()).toEqual({ result: { data: { id: expect.any(String), handle: `http-${kind}` } } });
      // batched GET, as httpBatchLink sends it
      const batch = await fetch(`${server.base}/api/trpc/auth.me,auth.me?batch=1&input=${encodeURIComponent('{"0":{},"1":{}}')}`, { headers: { cookie } });
      expect((await batch.json()).map((r: { result: { data: { handle: string } } }) => r.result.data.handle)).toEqual([`http-${kind}`, `http-${kind}`]);

      const signOut = await post(server.base, 'auth.signOut', {}, { cookie });
      expect(cookieOf(signOut)).toMatch(/^swapmesh_session=; Path=\/; HttpOnly; SameSite=Lax; Max-Age=0/);
      // well within SESSION_CACHE_MS of the last lookup: the cache was dropped on sign-out
      expect(SESSION_CACHE_MS).toBeGreaterThan(1_000);
      expect(await (await fetch(`${server.base}/api/trpc/auth.me?input=%7B%7D`, { headers: { cookie } })).json()).toEqual({ result: { data: null } });
    } finally {
      await server.close();
    }
  });

  it('marks cookies Secure behind HTTPS only when TRUST_PROXY says a proxy is there', async () => {
    const direct = await apiServer({ db: t.db, trustProxy: 0 });
    const proxied = await apiServer({ db: t.db, trustProxy: 1 });
    try {
      const spoofed = await post(direct.base, 'auth.signUp', { handle: `plain-${kind}`, password: PASSWORD }, { 'x-forwarded-proto': 'https' });
      expect(cookieOf(spoofed)).not.toMatch(/Secure/);
      const behindTls = await post(proxied.base, 'auth.signUp', { handle: `tls-${kind}`, password: PASSWORD }, { 'x-forwarded-proto': 'https' });
      expect(cookieOf(behindTls)).toMatch(/; Secure$/);
    } finally {
      await direct.close();
      await proxied.close();
    }
  });

  it('takes the client address from the socket, or TRUST_PROXY hops back along X-Forwarded-For', async () => {
    await signUp(t.db, `addr-${kind}`, PASSWORD);
    const addressKeys = async () => (await t.db.throttle.findMany({ where: { key: { startsWith: 'signin:address:' } }, select: { key: true } })).map((r) => r.key).sort();
    await t.db.throttle.deleteMany();
    const direct = await apiServer({ db: t.db, trustProxy: 0 });
    const proxied = await apiServer({ db: t.db, trustProxy: 1 });
    try {
      // a client's own X-Forwarded-For is ignored without TRUST_PROXY: the socket's address counts
      const wrong = { handle: `addr-${kind}`, password: 'not the password' };
      expect((await post(direct.base, 'auth.signIn', wrong, { 'x-forwarded-for': '198.51.100.66' })).status).toBe(401);
      expect(await addressKeys()).toEqual(['signin:address:127.0.0.1']);
      // one proxy: the address it appended (the last entry), not what the client prepended
      expect((await post(proxied.base, 'auth.signIn', wrong, { 'x-forwarded-for': '198.51.100.66, 203.0.113.77' })).status).toBe(401);
      expect(await addressKeys()).toEqual(['signin:address:127.0.0.1', 'signin:address:203.0.113.77']);
    } finally {
      await direct.close();
      await proxied.close();
      await t.db.throttle.deleteMany();
    }
  });

  it('answers GET queries on its short way exactly as tRPC’s own resolveResponse does', async () => {
    const m = await signUp(t.db, `same-${kind}`, PASSWORD);
    const cookie = `swapmesh_session=${m.token}`;
    const fast = await apiServer({ db: t.db, trustProxy: 0 });
    const full = await apiServer({ db: t.db, trustProxy: 0, fastCalls: false });
    const json = (input: unknown) => encodeURIComponent(JSON.stringify(input));
    const cases: [string, Record<string, string>][] = [
      [`auth.me?input=${json({})}`, { cookie }],
      ['auth.me', { cookie }],
      [`auth.me?input=${json({})}`, {}],
      [`auth.me,auth.me?batch=1&input=${json({ 0: {}, 1: {} })}`, { cookie }],
      // signed out: UNAUTHORIZED; bad input: BAD_REQUEST with the zod error; a mix in one batch: 207
      [`device.list?input=${json({})}`, {}],
      [`community.get?input=${json({ slug: '' })}`, { cookie }],
      [`community.get?input=${json({ slug: 'nowhere-at-all' })}`, { cookie }],
      [`auth.me,device.list,community.get?batch=1&input=${json({ 0: {}, 2: { slug: 'x' } })}`, {}],
      // left to the full path on both: unknown procedure, a mutation by GET, undecodable input
      [`auth.nothing?input=${json({})}`, { cookie }],
      [`auth.signOut?input=${json({})}`, { cookie }],
      ['auth.me?input=%7Bnot-json', { cookie }],
    ];
    try {
      for (const [path, headers] of cases) {
        const [a, b] = await Promise.all([fetch(`${fast.base}/api/trpc/${path}`, { headers }), fetch(`${full.base}/api/trpc/${path}`, { headers })]);
        expect({ path, status: a.status, type: a.headers.get('content-type'), vary: a.headers.get('vary') }).toEqual({
          path,
          status: b.status,
          type: b.headers.get('content-type'),
          vary: b.headers.get('vary'),
        });
        expect(withoutStacks(await a.json())).toEqual(withoutStacks(await b.json()));
      }
    } finally {
      await fast.close();
      await full.close();
    }
  });

  it('answers POST mutations on its short way exactly as tRPC’s own resolveResponse does', async () => {
    const m = await signUp(t.db, `same-post-${kind}`, PASSWORD);
    const cookie = `swapmesh_session=${m.token}`;
    const fast = await apiServer({ db: t.db, trustProxy: 0 });
    const full = await apiServer({ db: t.db, trustProxy: 0, fastCalls: false });
    const json = { 'content-type': 'application/json' };
    const cases: [string, Record<string, string>, string][] = [
      // signed out: UNAUTHORIZED; bad input: BAD_REQUEST with the zod error; no such community: NOT_FOUND
      ['market.cancelOrder', json, JSON.stringify({ orderId: 'x' })],
      ['device.register', { ...json, cookie }, JSON.stringify({ name: '' })],
      ['community.join', { ...json, cookie }, JSON.stringify({ slug: 'nowhere-at-all' })],
      ['market.cancelOrder', { ...json, cookie }, JSON.stringify({ orderId: 'no-such-order' })],
      // a batch mixing them answers 207 with one result per call; a call without input
      ['device.register,community.join?batch=1', { ...json, cookie }, JSON.stringify({ 0: { name: '' }, 1: { slug: 'nowhere-at-all' } })],
      ['auth.signOut', json, ''],
      // left to the full path on both: a body that does not parse, a batch body that is not an object, a query by
      // POST, an unknown procedure, another content type
      ['community.join', { ...json, cookie }, '{not json'],
      ['community.join?batch=1', { ...json, cookie }, '[1]'],
      ['auth.me', { ...json, cookie }, '{}'],
      ['auth.nothing', { ...json, cookie }, '{}'],
      ['community.join', { 'content-type': 'text/plain', cookie }, JSON.stringify({ slug: 'nowhere-at-all' })],
    ];
    try {
      for (const [path, headers, body] of cases) {
        const send = (base: string) => fetch(`${base}/api/trpc/${path}`, { method: 'POST', headers, body });
        const [a, b] = await Promise.all([send(fast.base), send(full.base)]);
        expect({ path, status: a.status, type: a.headers.get('content-type') }).toEqual({ path, status: b.status, type: b.headers.get('content-type') });
        expect(withoutStacks(await a.json())).toEqual(withoutStacks(await b.json()));
      }
    } finally {
      await fast.close();
      await full.close();
    }
  });

  it('streams a subscription as server-sent events with tracked ids, and resumes after lastEventId', async () => {
    const m = await signUp(t.db, `sse-${kind}`, PASSWORD);
    const { device: from } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    const { device: to } = await m.caller.device.register({ name: 'tablet', profile: phoneProfile });
    const send = (transferId: string) => m.caller.signal.send({ fromDeviceId: from.id, toDeviceId: to.id, message: { type: 'hello', transferId } });
    await send('before');
    const server = await apiServer({ db: t.db, trustProxy: 0 });
    const cookie = `swapmesh_session=${m.token}`;
    const subscribe = (input: unknown, abort: AbortController) =>
      fetch(`${server.base}/api/trpc/signal.inbox?input=${encodeURIComponent(JSON.stringify(input))}`, { headers: { cookie, accept: 'text/event-stream' }, signal: abort.signal });
    try {
      const first = new AbortController();
      const live = await subscribe({ deviceId: to.id }, first);
      expect(live.status).toBe(200);
      expect(live.headers.get('content-type')).toBe('text/event-stream');
      setTimeout(() => void send('during'), 200);
      const [event] = await readEvents(live, (events) => events.length >= 1, first);
      expect(event!.id).toMatch(/^\d+$/);
      expect(JSON.parse(event!.data).message).toEqual({ type: 'hello', transferId: 'during' });

      await send('while away');
      const again = new AbortController();
      const resumed = await subscribe({ deviceId: to.id, lastEventId: event!.id }, again);
      const [next] = await readEvents(resumed, (events) => events.length >= 1, again);
      expect(Number(next!.id)).toBeGreaterThan(Number(event!.id));
      expect(JSON.parse(next!.data).message).toEqual({ type: 'hello', transferId: 'while away' });
    } finally {
      await server.close();
    }
  });
});
