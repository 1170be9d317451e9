import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GET as trpcGet, POST as trpcPost } from '@/app/api/trpc/[trpc]/route';
import { GET as shareGet, POST as sharePost } from '@/app/share-target/route';
import { createContext } from '@/server/context';
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

  it('refuses a form posted from another site (415), a cross-site JSON POST (403) and an oversized batch (400), with clear messages', async () => {
    const form = new FormData();
    form.set('x', '1');
    const multipart = await trpcPost(request('auth.signOut', { method: 'POST', body: form }));
    expect(multipart.status).toBe(415);
    expect((await multipart.json()).error.message).toMatch(/only takes JSON/);
    const text = await trpcPost(request('auth.signOut', { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } }));
    expect(text.status).toBe(415);

    const crossSite = await trpcPost(
      request('auth.signOut', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', host: '127.0.0.1:3000', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } }),
    );
    expect(crossSite.status).toBe(403);
    expect((await crossSite.json()).error).toMatchObject({ message: /other sites/, data: { code: 'FORBIDDEN', httpStatus: 403 } });

    const batch = await trpcGet(request(`${Array.from({ length: 17 }, () => 'auth.me').join(',')}?batch=1&input=%7B%7D`));
    expect(batch.status).toBe(400);
    expect((await batch.json()).error.message).toMatch(/at most 16 calls/);
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
