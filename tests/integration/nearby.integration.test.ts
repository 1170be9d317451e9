/**
 * Nearby swapping (issue 11, parts 1, 2 and 5): pairing by code between devices that share no community,
 * private gifts that only their sender and recipient ever see, and nearness taken from the address the
 * coordinator saw (the socket's, or TRUST_PROXY hops back along X-Forwarded-For), never a client's claim.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAIRED_ONLY } from '@/server/content/signaling';
import { createContext } from '@/server/context';
import type { Db } from '@/server/db/client';
import { createApiHandler } from '@/server/http/api-server';
import { createCaller } from '@/server/routers/_app';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';
import { openSse } from '../support/sse-client';

const CHUNK = 64 * 1024;
const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

function header(title: string, size: number, fill = 3) {
  const bytes = Buffer.alloc(size, fill);
  const chunkHashes: string[] = [];
  for (let at = 0; at < size; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title, description: '', audience: '', purpose: '', environment: '', mediaType: 'application/zip', sizeBytes: size, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}

/** A caller whose requests the coordinator saw come from `address`. */
async function callerFrom(db: Db, token: string, address: string, signal?: AbortSignal): Promise<Caller> {
  return createCaller(await createContext({ db, headers: new Headers({ cookie: `swapmesh_session=${token}` }), resHeaders: new Headers(), clientAddress: address }), { signal });
}

/** The first list a presence feed yields (it also marks the device online from the caller's address). */
async function presenceOnce(db: Db, token: string, deviceId: string, communityId: string, address = '192.0.2.10') {
  const controller = new AbortController();
  const caller = await callerFrom(db, token, address, controller.signal);
  const iterator = ((await caller.signal.presence({ deviceId, communityId })) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const first = (await iterator.next()).value as { deviceId: string; nearby: boolean; paired: boolean }[];
  controller.abort();
  return first;
}

describe.each(databaseKinds)('nearby swapping on %s', (kind) => {
  let t: TestDatabase;
  let seq = 0;
  type Peer = { caller: Caller; token: string; memberId: string; handle: string; deviceId: string };

  async function peer(community?: string): Promise<Peer> {
    const m = await signUp(t.db, `near-${kind.slice(0, 2)}-${++seq}`);
    if (community) await m.caller.community.join({ slug: community });
    const { device } = await m.caller.device.register({ name: `phone ${seq}`, profile: phoneProfile });
    return { caller: m.caller, token: m.token, memberId: m.member.id, handle: m.member.handle, deviceId: device.id };
  }

  /** Pairs `b` with the code `a` shows. */
  async function pair(a: Peer, b: Peer) {
    const { code } = await a.caller.signal.pairCode({ deviceId: a.deviceId });
    return b.caller.signal.pair({ deviceId: b.deviceId, code });
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, `near-owner-${kind}`);
    await owner.caller.community.create({ name: 'Near test', slug: 'near-test', commissionBps: 0, startingGrant: 0, inviteOnly: false });
  });
  afterAll(() => t?.drop());

  it('two devices in no community pair by code, see each other on both sides, swap gifts both ways, and stay paired until either removes it', async () => {
    const [a, b] = [await peer(), await peer()];
    expect(await a.caller.community.list({ mine: true, limit: 10 })).toMatchObject({ items: [] });
    // before pairing: no reach at all
    await rejects(a.caller.content.give({ deviceId: a.deviceId, toDeviceId: b.deviceId, header: header('Before', 70_000) }), 'NOT_FOUND', /pair with it first/);
    await rejects(a.caller.signal.send({ fromDeviceId: a.deviceId, toDeviceId: b.deviceId, message: { type: 'hello' } }), 'FORBIDDEN');

    expect(await pair(a, b)).toMatchObject({ pairedWith: { deviceId: a.deviceId, handle: a.handle } });
    // both sides see the pairing, the side that showed the code included, and again on a later request (a reload)
    expect((await a.caller.signal.pairings({ deviceId: a.deviceId })).map((p) => p.deviceId)).toEqual([b.deviceId]);
    expect((await b.caller.signal.pairings({ deviceId: b.deviceId })).map((p) => p.deviceId)).toEqual([a.deviceId]);
    // a member in no community keeps the device online for its paired devices ("paired" presence)
    await presenceOnce(t.db, b.token, b.deviceId, PAIRED_ONLY);
    const seenByA = await presenceOnce(t.db, a.token, a.deviceId, PAIRED_ONLY);
    expect(seenByA).toEqual([expect.objectContaining({ deviceId: b.deviceId, paired: true, nearby: true })]);
    expect((await a.caller.signal.pairings({ deviceId: a.deviceId }))[0]).toMatchObject({ deviceId: b.deviceId, online: true, handle: b.handle });
    await rejects(presenceOnce(t.db, a.token, a.deviceId, 'some-community-id'), 'FORBIDDEN');

    // a gift each way, with no community anywhere
    for (const [from, to, title] of [[a, b, 'Holiday photos'], [b, a, 'Reply video']] as const) {
      const gift = await from.caller.content.give({ deviceId: from.deviceId, toDeviceId: to.deviceId, header: header(title, 200_000) });
      expect(gift).toMatchObject({ communityId: null, privateGift: true, recipientId: to.memberId, recipientDeviceId: to.deviceId, pricing: 'GIFT' });
      expect((await to.caller.content.gifts({ deviceId: to.deviceId })).map((g) => g.id)).toEqual([gift.id]);
      const { transfer, contractId } = await to.caller.content.request({ itemId: gift.id, deviceId: to.deviceId });
      expect(contractId).toBeNull();
      expect(transfer).toMatchObject({ communityId: null, senderDeviceId: from.deviceId, receiverDeviceId: to.deviceId });
      expect(await to.caller.content.gifts({ deviceId: to.deviceId })).toEqual([]);
      // the sender's device lists it to send; the receiver completes it
      expect((await from.caller.content.transfers({ deviceId: from.deviceId })).map((x) => x.id)).toContain(transfer.id);
      const done = await to.caller.content.updateTransfer({ transferId: transfer.id, deviceId: to.deviceId, verifiedChunks: 4, status: 'COMPLETED' });
      expect(done.status).toBe('COMPLETED');
    }
    expect(await a.caller.signal.send({ fromDeviceId: a.deviceId, toDeviceId: b.deviceId, message: { type: 'hello' } })).toEqual({ ok: true });

    // pairing again keeps one pairing
    await pair(b, a);
    expect(await t.db.devicePairing.count({ where: { OR: [{ deviceId: a.deviceId }, { deviceId: b.deviceId }], pairedId: { not: null } } })).toBe(1);

    // removed by the side that entered the code: gone for both, signaling and gifts refused
    await b.caller.signal.unpair({ deviceId: b.deviceId, pairedDeviceId: a.deviceId });
    expect(await a.caller.signal.pairings({ deviceId: a.deviceId })).toEqual([]);
    expect(await b.caller.signal.pairings({ deviceId: b.deviceId })).toEqual([]);
    expect(await presenceOnce(t.db, a.token, a.deviceId, PAIRED_ONLY)).toEqual([]);
    await rejects(a.caller.signal.send({ fromDeviceId: a.deviceId, toDeviceId: b.deviceId, message: { type: 'hello' } }), 'FORBIDDEN');
    await rejects(a.caller.content.give({ deviceId: a.deviceId, toDeviceId: b.deviceId, header: header('After', 70_000) }), 'NOT_FOUND');
    await rejects(b.caller.signal.unpair({ deviceId: b.deviceId, pairedDeviceId: a.deviceId }), 'NOT_FOUND');
    // nor may anyone remove a pairing for a device that is not theirs
    await pair(a, b);
    await rejects(b.caller.signal.unpair({ deviceId: a.deviceId, pairedDeviceId: b.deviceId }), 'NOT_FOUND');
    // removed by the side that showed the code
    await a.caller.signal.unpair({ deviceId: a.deviceId, pairedDeviceId: b.deviceId });
    expect(await b.caller.signal.pairings({ deviceId: b.deviceId })).toEqual([]);
  });

  it('the device that showed the code hears of the pairing at once on its presence feed', async () => {
    const [a, b] = [await peer(), await peer()];
    await presenceOnce(t.db, b.token, b.deviceId, PAIRED_ONLY);
    const controller = new AbortController();
    const caller = await callerFrom(t.db, a.token, '192.0.2.10', controller.signal);
    const iterator = ((await caller.signal.presence({ deviceId: a.deviceId, communityId: PAIRED_ONLY })) as AsyncIterable<{ deviceId: string }[]>)[Symbol.asyncIterator]();
    try {
      expect((await iterator.next()).value).toEqual([]);
      const next = iterator.next();
      await pair(a, b);
      // woken by the pairing, not by the 5 s re-read: the test's own timeout would otherwise still pass, so bound it
      const list = await Promise.race([next.then((r) => r.value), new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 4_000))]);
      expect(list).toEqual([expect.objectContaining({ deviceId: b.deviceId, paired: true })]);
    } finally {
      controller.abort();
    }
  });

  it('24 devices redeem one code at once: exactly one pairs', async () => {
    const shower = await peer();
    const guests = await Promise.all(Array.from({ length: 24 }, () => peer()));
    const { code } = await shower.caller.signal.pairCode({ deviceId: shower.deviceId });
    const results = await Promise.allSettled(guests.map((g) => g.caller.signal.pair({ deviceId: g.deviceId, code })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect((r.reason as { code: string }).code).toMatch(/^(CONFLICT|NOT_FOUND)$/);
    }
    const rows = await t.db.devicePairing.findMany({ where: { code, deviceId: shower.deviceId } });
    expect(rows).toHaveLength(1);
    const winner = guests.find((g) => g.deviceId === rows[0]!.pairedId)!;
    expect(winner).toBeDefined();
    expect((await shower.caller.signal.pairings({ deviceId: shower.deviceId })).map((p) => p.deviceId)).toEqual([winner.deviceId]);
    for (const g of guests) expect((await g.caller.signal.pairings({ deviceId: g.deviceId })).length).toBe(g === winner ? 1 : 0);
  });

  it('a private gift is seen by its sender and recipient only: a third member gets NOT_FOUND on every path', async () => {
    const [sender, recipient, third] = [await peer('near-test'), await peer('near-test'), await peer('near-test')];
    const { id: communityId } = (await third.caller.community.get({ slug: 'near-test' }));
    const title = `Private gift ${kind}`;
    const gift = await sender.caller.content.give({ deviceId: sender.deviceId, toDeviceId: recipient.deviceId, header: header(title, 150_000) });
    // a public item of the sender, to show the catalog still works
    await sender.caller.content.publish({ communityId, deviceId: sender.deviceId, header: header(`Public ${kind}`, 70_000, 9) });
    for (const p of [sender, recipient, third]) await presenceOnce(t.db, p.token, p.deviceId, communityId);

    for (const viewer of [sender, recipient, third]) {
      const titles = (await viewer.caller.content.search({ communityId })).map((i) => i.title);
      expect(titles).toContain(`Public ${kind}`);
      expect(titles).not.toContain(title);
      expect((await viewer.caller.content.search({ communityId, text: 'private gift' })).length).toBe(0);
      expect((await viewer.caller.content.searchPage({ communityId, limit: 100 })).items.map((i) => i.title)).not.toContain(title);
      expect((await viewer.caller.content.searchPage({ communityId, limit: 100, nearbyOnly: true, deviceId: viewer.deviceId })).items.map((i) => i.title)).not.toContain(title);
    }
    // the third member: "not found", as for an id that does not exist
    await rejects(third.caller.content.get({ itemId: gift.id }), 'NOT_FOUND', /No such item/);
    await rejects(third.caller.content.get({ itemId: 'no-such-item-id' }), 'NOT_FOUND', /No such item/);
    await rejects(third.caller.content.request({ itemId: gift.id, deviceId: third.deviceId }), 'NOT_FOUND', /No such item/);
    await rejects(third.caller.content.declineGift({ itemId: gift.id }), 'NOT_FOUND');
    await rejects(third.caller.content.withdraw({ itemId: gift.id }), 'NOT_FOUND');
    expect(await third.caller.content.gifts({ deviceId: third.deviceId })).toEqual([]);
    await rejects(third.caller.content.gifts({ deviceId: recipient.deviceId }), 'NOT_FOUND');
    // the sender and the recipient see it
    expect(await sender.caller.content.get({ itemId: gift.id })).toMatchObject({ title, privateGift: true, chunkHashes: expect.any(Array) });
    expect(await recipient.caller.content.get({ itemId: gift.id })).toMatchObject({ title, privateGift: true });
    await rejects(sender.caller.content.request({ itemId: gift.id, deviceId: sender.deviceId }), 'BAD_REQUEST', /own item/);
    const { transfer } = await recipient.caller.content.request({ itemId: gift.id, deviceId: recipient.deviceId });
    await rejects(recipient.caller.content.request({ itemId: gift.id, deviceId: recipient.deviceId }), 'CONFLICT');
    // the transfer is the two devices' alone
    expect(await third.caller.content.transfers({ deviceId: third.deviceId })).toEqual([]);
    await rejects(third.caller.content.updateTransfer({ transferId: transfer.id, deviceId: third.deviceId, verifiedChunks: 0, status: 'CANCELLED' }), 'NOT_FOUND');
    await rejects(third.caller.content.transfers({ deviceId: recipient.deviceId }), 'NOT_FOUND');
    // withdrawn by its sender: offered no more
    const second = await sender.caller.content.give({ deviceId: sender.deviceId, toDeviceId: recipient.deviceId, header: header('Second', 70_000, 5) });
    await sender.caller.content.withdraw({ itemId: second.id });
    await rejects(recipient.caller.content.request({ itemId: second.id, deviceId: recipient.deviceId }), 'NOT_FOUND', /no longer offered/);
    // declined by its recipient: offered no more
    const third_ = await sender.caller.content.give({ deviceId: sender.deviceId, toDeviceId: recipient.deviceId, header: header('Third', 70_000, 6) });
    expect((await recipient.caller.content.gifts({ deviceId: recipient.deviceId })).map((g) => g.id)).toEqual([third_.id]);
    await recipient.caller.content.declineGift({ itemId: third_.id });
    expect(await recipient.caller.content.gifts({ deviceId: recipient.deviceId })).toEqual([]);
    await rejects(recipient.caller.content.declineGift({ itemId: third_.id }), 'CONFLICT');
    // nothing private ever reached the community's catalog table rows
    expect(await t.db.contentItem.count({ where: { recipientId: { not: null }, communityId: { not: null } } })).toBe(0);
  });

  it('20 concurrent requests of one private gift from one device start one transfer', async () => {
    const [a, b] = [await peer(), await peer()];
    await pair(a, b);
    const gift = await a.caller.content.give({ deviceId: a.deviceId, toDeviceId: b.deviceId, header: header('Once', 70_000, 8) });
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => b.caller.content.request({ itemId: gift.id, deviceId: b.deviceId })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as { code: string }).code).toBe('CONFLICT');
    expect(await t.db.transfer.count({ where: { itemId: gift.id } })).toBe(1);
  });

  it('nearness comes from the address the coordinator saw: the socket, not a client’s X-Forwarded-For, unless TRUST_PROXY', async () => {
    const [a, b] = [await peer(), await peer()];
    await pair(a, b);
    const listen = async (trustProxy: number) => {
      const server = createServer(createApiHandler({ db: t.db, trustProxy }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => { server.closeAllConnections(); return new Promise<void>((r) => server.close(() => r())); } };
    };
    const seenFrom = async (base: string, p: Peer, forwardedFor: string) => {
      const stream = openSse(base, 'signal.presence', { deviceId: p.deviceId, communityId: PAIRED_ONLY }, { cookie: `swapmesh_session=${p.token}`, 'x-forwarded-for': forwardedFor });
      try {
        expect(await stream.status).toBe(200);
        await stream.until((e) => e.event === 'message');
      } finally {
        stream.close();
      }
      return (await t.db.presence.findUniqueOrThrow({ where: { deviceId: p.deviceId } })).publicAddress;
    };
    const direct = await listen(0);
    const proxied = await listen(1);
    try {
      // without TRUST_PROXY both claim 203.0.113.5; the coordinator records the socket's address
      expect(await seenFrom(direct.base, a, '203.0.113.5')).toBe('127.0.0.1');
      expect(await seenFrom(direct.base, b, '198.51.100.1')).toBe('127.0.0.1');
      // behind one proxy: the entry it appended (the last), whatever the client put before it
      expect(await seenFrom(proxied.base, a, '127.0.0.1, 203.0.113.5')).toBe('203.0.113.5');
      expect(await seenFrom(proxied.base, b, '203.0.113.5, 198.51.100.1')).toBe('198.51.100.1');
      // a and b are now behind different public addresses: not nearby, whatever a claims
      const pairings = await (await callerFrom(t.db, a.token, '203.0.113.5')).signal.pairings({ deviceId: a.deviceId });
      expect(pairings).toEqual([expect.objectContaining({ deviceId: b.deviceId, online: true, nearby: false })]);
      await seenFrom(proxied.base, b, '198.51.100.9, 203.0.113.5');
      const again = await (await callerFrom(t.db, a.token, '203.0.113.5')).signal.pairings({ deviceId: a.deviceId });
      expect(again).toEqual([expect.objectContaining({ deviceId: b.deviceId, nearby: true })]);
      // the browser's one stream keeps a device in no community online for its paired devices ("paired")
      const stream = openSse(proxied.base, 'signal.stream', { devices: [{ deviceId: a.deviceId, presenceCommunityId: PAIRED_ONLY }] }, { cookie: `swapmesh_session=${a.token}`, 'x-forwarded-for': '203.0.113.5' });
      try {
        expect(await stream.status).toBe(200);
        const events = await stream.until((e) => (e.json as { feed?: string } | null)?.feed === 'presence');
        const feeds = events.map((e) => e.json as { feed?: string; devices?: unknown[] } | null);
        expect(feeds.some((f) => f?.feed === 'refused')).toBe(false);
        expect(feeds.find((f) => f?.feed === 'presence')).toMatchObject({ communityId: PAIRED_ONLY, devices: [expect.objectContaining({ deviceId: b.deviceId, nearby: true, paired: true })] });
      } finally {
        stream.close();
      }
    } finally {
      await direct.close();
      await proxied.close();
    }
  });
});
