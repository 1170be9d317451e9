import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { rejects } from '../support/assertions';
import { callerWith, signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const CHUNK = 64 * 1024;
const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** A header for `size` deterministic bytes, as a device would publish it. */
function header(title: string, size: number) {
  const bytes = Buffer.alloc(size, 7);
  const chunkHashes: string[] = [];
  for (let at = 0; at < size; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title, description: 'Field recordings', audience: 'everyone', purpose: 'listening', environment: 'any audio player', mediaType: 'audio/ogg', sizeBytes: size, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}


describe.each(databaseKinds)('content and signaling on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  type Peer = { caller: Caller; token: string; memberId: string; deviceId: string };
  let seq = 0;

  async function peer(join = true): Promise<Peer> {
    const m = await signUp(t.db, `peer-${++seq}`);
    if (join) await m.caller.community.join({ slug: 'swap-test' });
    const { device } = await m.caller.device.register({ name: `phone ${seq}`, profile: phoneProfile });
    return { caller: m.caller, token: m.token, memberId: m.member.id, deviceId: device.id };
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, 'swap-owner');
    ({ id: communityId } = await owner.caller.community.create({ name: 'Swap test', slug: 'swap-test', commissionBps: 500, startingGrant: 100 * CREDIT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('publishes a header, finds it, sells a copy through escrow and pays the seller when the receiver verifies it', async () => {
    const [seller, buyer] = [await peer(), await peer()];
    const published = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Dawn chorus', 300_000), pricing: { mode: 'CREDITS', price: 2 * CREDIT } });
    expect(published.valuation.credits).toBeGreaterThan(0);
    const found = await buyer.caller.content.search({ communityId, text: 'DAWN' });
    expect(found.map((i) => i.title)).toEqual(['Dawn chorus']);
    expect(found[0]).toMatchObject({ pricing: 'CREDITS', price: 2 * CREDIT, chunkCount: 5, owner: { id: seller.memberId } });

    const { transfer, contractId } = await buyer.caller.content.request({ itemId: published.id, deviceId: buyer.deviceId });
    expect(contractId).toEqual(expect.any(String));
    const amounts = fillAmounts(1, 2 * CREDIT, 500);
    expect(await buyer.caller.ledger.balance({ communityId })).toEqual({ available: 100 * CREDIT - amounts.buyerPays, escrow: amounts.buyerPays });
    expect(transfer).toMatchObject({ status: 'REQUESTED', senderDeviceId: seller.deviceId, receiverDeviceId: buyer.deviceId, item: { chunkHashes: expect.any(Array) } });
    expect((await seller.caller.content.transfers({ deviceId: seller.deviceId }))[0]!.receiver.handle).toMatch(/^peer-/);

    // progress, then completion by the receiver only, with every chunk verified
    await buyer.caller.content.updateTransfer({ transferId: transfer.id, deviceId: buyer.deviceId, verifiedChunks: 2 });
    await rejects(seller.caller.content.updateTransfer({ transferId: transfer.id, deviceId: seller.deviceId, verifiedChunks: 5, status: 'COMPLETED' }), 'FORBIDDEN');
    await rejects(buyer.caller.content.updateTransfer({ transferId: transfer.id, deviceId: buyer.deviceId, verifiedChunks: 4, status: 'COMPLETED' }), 'BAD_REQUEST', /all 5 chunks/);
    await rejects(buyer.caller.content.updateTransfer({ transferId: transfer.id, deviceId: buyer.deviceId, verifiedChunks: 9 }), 'BAD_REQUEST');
    const done = await buyer.caller.content.updateTransfer({ transferId: transfer.id, deviceId: buyer.deviceId, verifiedChunks: 5, status: 'COMPLETED' });
    expect(done.status).toBe('COMPLETED');
    expect((await buyer.caller.contract.get({ contractId: contractId! })).state).toBe('SETTLED');
    expect(await buyer.caller.ledger.balance({ communityId })).toEqual({ available: 100 * CREDIT - amounts.buyerPays, escrow: 0 });
    expect((await seller.caller.ledger.balance({ communityId })).available).toBe(100 * CREDIT + amounts.sellerGets);
    await rejects(buyer.caller.content.updateTransfer({ transferId: transfer.id, deviceId: buyer.deviceId, verifiedChunks: 5, status: 'CANCELLED' }), 'CONFLICT');
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a cancelled sale is refunded; gifts need no credits; withdrawn items cannot be requested', async () => {
    const [seller, buyer] = [await peer(), await peer()];
    const priced = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Map tiles', 100_000), pricing: { mode: 'CREDITS', price: CREDIT } });
    const { transfer } = await buyer.caller.content.request({ itemId: priced.id, deviceId: buyer.deviceId });
    await seller.caller.content.updateTransfer({ transferId: transfer.id, deviceId: seller.deviceId, verifiedChunks: 0, status: 'CANCELLED' });
    expect(await buyer.caller.ledger.balance({ communityId })).toEqual({ available: 100 * CREDIT, escrow: 0 });

    const gift = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Recipes', 70_000) });
    const given = await buyer.caller.content.request({ itemId: gift.id, deviceId: buyer.deviceId });
    expect(given.contractId).toBeNull();
    await rejects(seller.caller.content.request({ itemId: gift.id, deviceId: seller.deviceId }), 'BAD_REQUEST', /your own item/);

    await seller.caller.content.withdraw({ itemId: priced.id });
    await rejects(buyer.caller.content.request({ itemId: priced.id, deviceId: buyer.deviceId }), 'NOT_FOUND', /withdrawn/);
    expect((await buyer.caller.content.search({ communityId, text: 'map tiles' }))).toHaveLength(0);
    await rejects(buyer.caller.content.withdraw({ itemId: gift.id }), 'NOT_FOUND');
  });

  it('a second request while a purchase is unfinished is refused; a bought copy is fetched again free; a refunded purchase can be bought again', async () => {
    const [seller, buyer] = [await peer(), await peer()];
    const { device: tablet } = await buyer.caller.device.register({ name: 'tablet', profile: phoneProfile });
    const item = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Night rain', 100_000), pricing: { mode: 'CREDITS', price: 3 * CREDIT } });
    const paid = fillAmounts(1, 3 * CREDIT, 500).buyerPays;
    const balance = () => buyer.caller.ledger.balance({ communityId });
    const contracts = () => t.db.contract.count({ where: { buyerId: buyer.memberId } });

    // a purchase refunded (cancelled) leaves nothing open: the member may buy again
    const first = await buyer.caller.content.request({ itemId: item.id, deviceId: buyer.deviceId });
    await buyer.caller.content.updateTransfer({ transferId: first.transfer.id, deviceId: buyer.deviceId, verifiedChunks: 0, status: 'CANCELLED' });
    expect(await balance()).toEqual({ available: 100 * CREDIT, escrow: 0 });

    const bought = await buyer.caller.content.request({ itemId: item.id, deviceId: buyer.deviceId });
    expect(bought).toMatchObject({ contractId: expect.any(String), alreadyBought: false });
    expect(await balance()).toEqual({ available: 100 * CREDIT - paid, escrow: paid });
    // unfinished: the same device, or another of the member's devices, cannot buy it a second time
    await rejects(buyer.caller.content.request({ itemId: item.id, deviceId: buyer.deviceId }), 'CONFLICT', /already getting this file on this device: see Transfers/);
    await rejects(buyer.caller.content.request({ itemId: item.id, deviceId: tablet.id }), 'CONFLICT', /already buying this file .*see Transfers/);
    expect(await contracts()).toBe(2);
    expect(await balance()).toEqual({ available: 100 * CREDIT - paid, escrow: paid });
    expect((await buyer.caller.content.get({ itemId: item.id })).haveCopy).toBe(false);

    await buyer.caller.content.updateTransfer({ transferId: bought.transfer.id, deviceId: buyer.deviceId, verifiedChunks: 2, status: 'COMPLETED' });
    expect(await balance()).toEqual({ available: 100 * CREDIT - paid, escrow: 0 });
    expect((await buyer.caller.content.get({ itemId: item.id })).haveCopy).toBe(true);
    const sellerAfterSale = await seller.caller.ledger.balance({ communityId });

    // bought: a copy onto another device (or the same one again) is free: no contract, no charge, no ticket
    const again = await buyer.caller.content.request({ itemId: item.id, deviceId: tablet.id });
    expect(again).toMatchObject({ contractId: null, alreadyBought: true, transfer: { status: 'REQUESTED', receiverDeviceId: tablet.id, contractId: null } });
    await rejects(buyer.caller.content.request({ itemId: item.id, deviceId: tablet.id }), 'CONFLICT', /already getting this file on this device/);
    const redownload = await buyer.caller.content.request({ itemId: item.id, deviceId: buyer.deviceId });
    expect(redownload.contractId).toBeNull();
    await buyer.caller.content.updateTransfer({ transferId: again.transfer.id, deviceId: tablet.id, verifiedChunks: 2, status: 'COMPLETED' });
    expect(await contracts()).toBe(2);
    expect(await balance()).toEqual({ available: 100 * CREDIT - paid, escrow: 0 });
    expect(await seller.caller.ledger.balance({ communityId })).toEqual(sellerAfterSale);
    expect(await t.db.sweepstakesTicket.count({ where: { reference: { in: [again.transfer.id, redownload.transfer.id] } } })).toBe(0);

    // a gift: one open copy per device at a time
    const gift = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Free map', 70_000) });
    await buyer.caller.content.request({ itemId: gift.id, deviceId: buyer.deviceId });
    await rejects(buyer.caller.content.request({ itemId: gift.id, deviceId: buyer.deviceId }), 'CONFLICT', /already getting this file on this device/);
    expect((await buyer.caller.content.request({ itemId: gift.id, deviceId: tablet.id })).contractId).toBeNull();
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses malformed headers, changing nothing', async () => {
    const p = await peer();
    const before = await t.db.contentItem.count();
    const good = header('Good', 200_000);
    const publish = (h: object) => p.caller.content.publish({ communityId, deviceId: p.deviceId, header: h as typeof good });
    await rejects(publish({ ...good, sha256: 'not-a-hash' }), 'BAD_REQUEST', /64 lower-case hex/);
    await rejects(publish({ ...good, sizeBytes: 10_000_000 }), 'BAD_REQUEST', /manifest lists 4 chunks/);
    await rejects(publish({ ...good, chunkHashes: [...good.chunkHashes.slice(0, 3), 'zz'] }), 'BAD_REQUEST');
    await rejects(publish({ ...good, mediaType: 'audio' }), 'BAD_REQUEST', /media type/);
    await rejects(publish({ ...good, sizeBytes: 0 }), 'BAD_REQUEST');
    await rejects(p.caller.content.publish({ communityId, deviceId: 'not-mine', header: good }), 'NOT_FOUND');
    expect(await t.db.contentItem.count()).toBe(before);
  });

  it('relays signaling within a community or between paired devices only, stamping the sender', async () => {
    const [a, b] = [await peer(), await peer()];
    const stranger = await peer(false);
    await rejects(stranger.caller.signal.send({ fromDeviceId: stranger.deviceId, toDeviceId: a.deviceId, message: { type: 'offer', sdp: 'v=0' } }), 'FORBIDDEN');
    await rejects(a.caller.signal.send({ fromDeviceId: b.deviceId, toDeviceId: a.deviceId, message: { type: 'offer', sdp: 'v=0' } }), 'NOT_FOUND');
    await rejects(a.caller.signal.send({ fromDeviceId: a.deviceId, toDeviceId: b.deviceId, message: { type: 'offer', sdp: 'x'.repeat(200_000) } }), 'BAD_REQUEST');
    await rejects(a.caller.signal.send({ fromDeviceId: a.deviceId, toDeviceId: b.deviceId, message: { type: 'bogus' } as never }), 'BAD_REQUEST');

    const controller = new AbortController();
    const inbox = (await (await callerWith(t.db, b.token, controller.signal)).caller.signal.inbox({ deviceId: b.deviceId })) as AsyncIterable<[string, { fromDeviceId: string; fromHandle: string; message: { type: string } }]>;
    const next = inbox[Symbol.asyncIterator]().next();
    await a.caller.signal.send({ fromDeviceId: a.deviceId, toDeviceId: b.deviceId, message: { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0', sdpMLineIndex: 0 } } });
    const [, received] = (await next).value!;
    controller.abort();
    expect(received).toMatchObject({ fromDeviceId: a.deviceId, message: { type: 'candidate' } });

    // pairing by code lets two strangers signal each other
    const { code } = await stranger.caller.signal.pairCode({ deviceId: stranger.deviceId });
    expect(code).toMatch(/^\d{6}$/);
    await rejects(stranger.caller.signal.pair({ deviceId: stranger.deviceId, code }), 'BAD_REQUEST', /own code/);
    await rejects(a.caller.signal.pair({ deviceId: a.deviceId, code: '12345' }), 'BAD_REQUEST');
    expect(await a.caller.signal.pair({ deviceId: a.deviceId, code })).toMatchObject({ pairedWith: { deviceId: stranger.deviceId } });
    await rejects(b.caller.signal.pair({ deviceId: b.deviceId, code }), 'NOT_FOUND');
    expect(await stranger.caller.signal.send({ fromDeviceId: stranger.deviceId, toDeviceId: a.deviceId, message: { type: 'hello' } })).toEqual({ ok: true });
  });

  it('lists online devices of the community, those behind the same public address first', async () => {
    const me = await peer();
    const sameRouter = await peer();
    const elsewhere = await peer();
    const feed = async (p: Peer, address: string) => {
      const controller = new AbortController();
      const headers = new Headers({ cookie: `swapmesh_session=${p.token}`, 'x-forwarded-for': address });
      const { createContext } = await import('@/server/context');
      const { createCaller } = await import('@/server/routers/_app');
      const caller = createCaller(await createContext({ db: t.db, headers, resHeaders: new Headers() }), { signal: controller.signal });
      const iterator = ((await caller.signal.presence({ deviceId: p.deviceId, communityId })) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      const first = (await iterator.next()).value as { deviceId: string; nearby: boolean }[];
      controller.abort();
      return first;
    };
    await feed(elsewhere, '198.51.100.7');
    await feed(sameRouter, '203.0.113.9');
    const seen = await feed(me, '203.0.113.9');
    const ids = seen.map((d) => d.deviceId);
    expect(ids.indexOf(sameRouter.deviceId)).toBeLessThan(ids.indexOf(elsewhere.deviceId));
    expect(seen.find((d) => d.deviceId === sameRouter.deviceId)?.nearby).toBe(true);
    expect(seen.find((d) => d.deviceId === elsewhere.deviceId)?.nearby).toBe(false);
  });
});
