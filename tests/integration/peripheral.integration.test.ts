import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { sweepMarket } from '@/server/market/lifecycle';
import { endRental, startRental, submitReceipt, sweepRentals } from '@/server/peripheral/rentals';
import { receiptBytes, type ReceiptBody } from '@/server/peripheral/receipt-format';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = 6 * CREDIT;
const RENTAL_MS = 120_000;

type Member = { id: string; handle: string; caller: Caller; deviceId: string; key: KeyObject };

describe.each(databaseKinds)('peripheral rentals on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;

  const member = async (prefix: string, withKey = true): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'stream-town' });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    if (withKey) await m.caller.device.setKey({ deviceId: device.id, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), algorithm: 'ECDSA-P256' });
    return { id: m.member.id, handle: m.member.handle, caller: m.caller, deviceId: device.id, key: privateKey };
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const signed = (key: KeyObject, body: ReceiptBody) => sign('sha256', receiptBytes(body), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');

  /** A 2-minute camera rental (1 device hour over a 2-minute window), started by the seller at `t0`. */
  async function rental() {
    const [seller, buyer] = [await member('seller'), await member('buyer')];
    const t0 = new Date();
    const window = { windowStart: t0.toISOString(), windowEnd: new Date(t0.getTime() + RENTAL_MS).toISOString() };
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
    const contractId = bid.fills[0]!.contractId;
    const started = await startRental(t.db, seller.id, { contractId, deviceId: seller.deviceId, kind: 'CAMERA' }, t0);
    await buyer.caller.peripheral.join({ contractId, deviceId: buyer.deviceId });
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const body = (n: number, over: Partial<ReceiptBody> = {}): ReceiptBody => ({ version: 1, rentalId: started.id, deviceId: buyer.deviceId, seq: n, mediaMs: 5_000, frames: 100, width: 640, height: 480, ...over });
    /** receipt n, for the 5 s ending at n × 5 s */
    const send = (n: number, over: Partial<ReceiptBody> = {}, key = buyer.key) => submitReceipt(t.db, buyer.id, body(n, over), signed(key, body(n, over)), at(n * 5_000));
    return { seller, buyer, contractId, rentalId: started.id, t0, at, body, send, amounts: fillAmounts(1, PRICE, BPS) };
  }
  const paidFor = (amounts: ReturnType<typeof fillAmounts>, provenMs: number) => proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, provenMs, RENTAL_MS);

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const coordinator = (await signUp(t.db, 'stream-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Stream town', slug: 'stream-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('streams for 60 s of a 2-minute rental, the seller stops, and the seller is paid for the 60 s proven; the ledger sums to zero', async () => {
    const { seller, buyer, contractId, at, send, amounts } = await rental();
    for (let n = 1; n <= 12; n++) expect(await send(n)).toMatchObject({ seq: n, acceptedMs: 5_000, provenMs: n * 5_000, wholeMs: RENTAL_MS });
    const seen = await seller.caller.peripheral.get({ contractId });
    expect(seen.rental).toMatchObject({ role: 'SELLER', state: 'LIVE', provenMs: 60_000, kind: 'CAMERA' });
    expect(seen).toMatchObject({ role: 'SELLER', seller: seller.handle, buyer: buyer.handle });

    const ended = await endRental(t.db, contractId, 'SELLER', at(61_000));
    expect(ended).toMatchObject({ state: 'ENDED', endedBy: 'SELLER', provenMs: 60_000 });
    const paid = paidFor(amounts, 60_000);
    expect(paid.sellerGets).toBeGreaterThan(0);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN', note: expect.stringMatching(/seller stopped.*60 s of 120 s/) });
    // after the end nothing more counts
    await rejects(buyer.caller.peripheral.receipt({ body: { version: 1, rentalId: ended.id, deviceId: buyer.deviceId, seq: 13, mediaMs: 0, frames: 0, width: 0, height: 0 }, signature: signed(buyer.key, { version: 1, rentalId: ended.id, deviceId: buyer.deviceId, seq: 13, mediaMs: 0, frames: 0, width: 0, height: 0 }) }), 'PRECONDITION_FAILED', /ended/);
    await rejects(seller.caller.peripheral.stop({ contractId }), 'CONFLICT', /already ended/);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses receipts from a device not party to the rental, inflated seconds, bad signatures and replays, and pays nothing for them', async () => {
    const { seller, buyer, contractId, rentalId, at, body, send, amounts } = await rental();
    const other = await rental();
    const stranger = await member('stranger');

    // a stranger's own device, and the caller not the buyer
    await rejects(stranger.caller.peripheral.receipt({ body: body(1, { deviceId: stranger.deviceId }), signature: signed(stranger.key, body(1, { deviceId: stranger.deviceId })) }), 'NOT_FOUND');
    await rejects(seller.caller.peripheral.receipt({ body: body(1, { deviceId: seller.deviceId }), signature: signed(seller.key, body(1, { deviceId: seller.deviceId })) }), 'FORBIDDEN', /Only the buyer/);
    // the buyer of another rental signs a receipt for this one with its own (valid) key: not this rental's device
    await expect(submitReceipt(t.db, other.buyer.id, body(1, { deviceId: other.buyer.deviceId }), signed(other.buyer.key, body(1, { deviceId: other.buyer.deviceId })), at(5_000))).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    // this buyer's receipt naming this rental but signed by another key, or altered after signing
    await expect(send(1, {}, other.buyer.key)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/signature does not verify/) });
    await expect(submitReceipt(t.db, buyer.id, body(1, { mediaMs: 4_000 }), signed(buyer.key, body(1)), at(5_000))).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/signature/) });
    // inflated: more than the wall clock since the start, more than the window
    await expect(send(1, { mediaMs: 9_000, frames: 200 })).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/more media than time/) });
    await expect(submitReceipt(t.db, buyer.id, body(1, { mediaMs: 200_000, frames: 4_000 }), signed(buyer.key, body(1, { mediaMs: 200_000, frames: 4_000 })), at(300_000))).rejects.toMatchObject({ kind: 'BAD_INPUT' });
    // below the agreed quality
    await expect(send(1, { width: 160, height: 120 })).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/320×240/) });
    expect(await t.db.peripheralRental.findUniqueOrThrow({ where: { id: rentalId }, select: { provenMs: true, lastSeq: true } })).toEqual({ provenMs: 0, lastSeq: 0 });

    // an honest receipt, then its replay (as sent, and re-signed with a higher claim) is refused
    await send(1);
    await expect(send(1)).rejects.toMatchObject({ kind: 'CONFLICT', message: expect.stringMatching(/already counted/) });
    await expect(submitReceipt(t.db, buyer.id, body(1), signed(buyer.key, body(1)), at(10_000))).rejects.toMatchObject({ kind: 'CONFLICT' });
    // the slack cannot be collected receipt after receipt: 11 s counted by 10 s uses it up, so 6 s more by 15 s is too much in total
    await send(2, { mediaMs: 6_000, frames: 120 });
    await expect(submitReceipt(t.db, buyer.id, body(3, { mediaMs: 6_000, frames: 120 }), signed(buyer.key, body(3, { mediaMs: 6_000, frames: 120 })), at(15_000))).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/has been streaming/) });
    expect(await t.db.peripheralReceipt.count({ where: { rentalId } })).toBe(2);

    // the buyer ends it: 11 s of 120 s paid
    const ended = await buyer.caller.peripheral.stop({ contractId });
    expect(ended).toMatchObject({ state: 'ENDED', endedBy: 'BUYER', provenMs: 11_000, role: 'BUYER' });
    const paid = paidFor(amounts, 11_000);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('starts only for the seller, on a peripheral contract, and the buyer joins only with a device key; the seller’s word is refused', async () => {
    const seller = await member('seller');
    const buyer = await member('buyer', false);
    const t0 = new Date();
    const window = { windowStart: t0.toISOString(), windowEnd: new Date(t0.getTime() + RENTAL_MS).toISOString() };
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
    const contractId = bid.fills[0]!.contractId;
    await rejects(seller.caller.contract.reportDelivered({ contractId }), 'PRECONDITION_FAILED', /pays from measured delivery/);
    await rejects(buyer.caller.peripheral.start({ contractId, deviceId: buyer.deviceId, kind: 'CAMERA' }), 'FORBIDDEN', /Only the seller/);
    await rejects(seller.caller.peripheral.start({ contractId, deviceId: buyer.deviceId, kind: 'CAMERA' }), 'NOT_FOUND', /no device/);
    await rejects(buyer.caller.peripheral.join({ contractId, deviceId: buyer.deviceId }), 'NOT_FOUND', /seller starts it/);
    expect((await buyer.caller.peripheral.get({ contractId })).rental).toBeNull();

    const starts = await Promise.all(Array.from({ length: 20 }, () => seller.caller.peripheral.start({ contractId, deviceId: seller.deviceId, kind: 'CAMERA', minFps: 10 })));
    const started = starts[0]!;
    expect(new Set(starts.map((s) => s.id)).size).toBe(1);
    expect(await t.db.peripheralRental.count({ where: { contractId } })).toBe(1);
    expect(started).toMatchObject({ state: 'LIVE', wholeMs: RENTAL_MS, quality: { minWidth: 320, minHeight: 240, minFps: 10 } });
    // starting again (a reload) carries the same rental on; another kind is refused
    expect((await seller.caller.peripheral.start({ contractId, deviceId: seller.deviceId, kind: 'CAMERA' })).id).toBe(started.id);
    await rejects(seller.caller.peripheral.start({ contractId, deviceId: seller.deviceId, kind: 'SCREEN' }), 'CONFLICT', /camera/);
    await rejects(buyer.caller.peripheral.join({ contractId, deviceId: buyer.deviceId }), 'PRECONDITION_FAILED', /register its key/);
    await rejects(seller.caller.peripheral.join({ contractId, deviceId: seller.deviceId }), 'FORBIDDEN', /Only the buyer/);
    const list = await seller.caller.peripheral.list();
    expect(list.find((r) => r.contractId === contractId)).toMatchObject({ role: 'SELLER', wholeMs: RENTAL_MS, rental: { state: 'LIVE' } });

    // a non-peripheral contract cannot be rented out
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 10, price: CREDIT, ...window });
    const net = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity: 10, price: CREDIT, ...window });
    await rejects(seller.caller.peripheral.start({ contractId: net.fills[0]!.contractId, deviceId: seller.deviceId, kind: 'CAMERA' }), 'BAD_REQUEST', /peripheral contract/);
  });

  it('relays the media connection between the rental’s devices as media signals', async () => {
    const { seller, buyer, rentalId } = await rental();
    const message = { type: 'media' as const, rentalId, signal: { type: 'offer' as const, sdp: 'v=0\r\n' } };
    expect(await seller.caller.signal.send({ fromDeviceId: seller.deviceId, toDeviceId: buyer.deviceId, message })).toEqual({ ok: true });
    const stored = await t.db.signalEvent.findFirstOrThrow({ where: { toDeviceId: buyer.deviceId }, orderBy: { id: 'desc' } });
    expect(stored.payload).toEqual(message);
    await rejects(seller.caller.signal.send({ fromDeviceId: seller.deviceId, toDeviceId: buyer.deviceId, message: { type: 'media', rentalId, signal: { type: 'media', rentalId, signal: { type: 'hello' } } } as never }), 'BAD_REQUEST');
  });

  it('of 20 concurrent copies of one receipt exactly one counts', async () => {
    const { rentalId, send } = await rental();
    await send(1);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => send(2)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ kind: 'CONFLICT' });
    expect(await t.db.peripheralRental.findUniqueOrThrow({ where: { id: rentalId }, select: { provenMs: true, lastSeq: true } })).toEqual({ provenMs: 10_000, lastSeq: 2 });
    expect(await t.db.peripheralReceipt.count({ where: { rentalId } })).toBe(2);
  });

  it('of 20 concurrent stops (seller and buyer) with receipts racing them, one settles, paying exactly what the rental recorded', async () => {
    const { seller, buyer, contractId, rentalId, at, send, amounts } = await rental();
    for (let n = 1; n <= 6; n++) await send(n);
    const stops = Array.from({ length: 20 }, (_, i) => (i % 2 ? endRental(t.db, contractId, 'SELLER', at(35_000)) : endRental(t.db, contractId, 'BUYER', at(35_000))));
    const receipts = Array.from({ length: 5 }, () => send(7));
    const [results] = await Promise.all([Promise.allSettled(stops), Promise.allSettled(receipts)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ kind: 'CONFLICT' });
    const row = await t.db.peripheralRental.findUniqueOrThrow({ where: { id: rentalId }, select: { provenMs: true, state: true } });
    expect(row.state).toBe('ENDED');
    expect([30_000, 35_000]).toContain(row.provenMs);
    const paid = paidFor(amounts, row.provenMs);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('settles at the close of the window from the receipts; the market sweep then leaves it alone', async () => {
    const { seller, buyer, contractId, at, send, amounts } = await rental();
    for (let n = 1; n <= 24; n++) await send(n);
    expect(await sweepRentals(t.db, at(60_000))).toEqual({ ended: 0 });
    const swept = await Promise.all(Array.from({ length: 20 }, () => sweepRentals(t.db, at(RENTAL_MS))));
    expect(swept.reduce((sum, s) => sum + s.ended, 0)).toBeGreaterThanOrEqual(1);
    await sweepMarket(t.db, at(RENTAL_MS + 1_000));
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    const paid = paidFor(amounts, RENTAL_MS);
    expect(paid.paid).toBe(amounts.buyerPays);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
