/**
 * Exactly-once operations not covered elsewhere (issue 9, "How it must be shown"): a request of a priced
 * content item, an order cancel, a negotiation accept — each called 20+ times at once on each database,
 * checking it happened once and that balances, escrow and locks are exact afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { holdFor } from '@/server/market/reservation';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const GRANT = 100 * CREDIT;
const BPS = 200;
const N = 20;

type Settled<T> = PromiseSettledResult<T>[];
const succeeded = <T,>(results: Settled<T>) => results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
const refusalCodes = <T,>(results: Settled<T>) => [...new Set(results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof TRPCError ? r.reason.code : String(r.reason)] : [])))];
/** Each refusal as "CODE: message", once each, for a failure to show what callers were told. */
const refusals = <T,>(results: Settled<T>) => [...new Set(results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof TRPCError ? `${r.reason.code}: ${r.reason.message}` : String(r.reason)] : [])))];

describe.each(databaseKinds)('exactly once on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  const member = async () => {
    const m = await signUp(t.db, `once-${++seq}`);
    await m.caller.community.join({ slug: 'once' });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    return { caller: m.caller, id: m.member.id, deviceId: device.id };
  };
  const balance = (c: Caller) => c.ledger.balance({ communityId });
  const window = { windowStart: new Date(Date.now() + HOUR).toISOString(), windowEnd: new Date(Date.now() + 2 * HOUR).toISOString() };
  const order = (side: 'BUY' | 'SELL', price: number, quantity: number, negotiation: { mode: 'NONE' | 'MANUAL' | 'AUTO'; limit: number | null } = { mode: 'NONE', limit: null }) =>
    ({ communityId, side, category: 'STORAGE', unit: 'MB_HOUR', quantity, price, kind: 'STANDING', ...window, negotiation }) as Parameters<Caller['market']['placeOrder']>[0];
  const entries = (reference: string, kind: string) => t.db.ledgerTransaction.count({ where: { reference, kind } });

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, 'once-owner');
    ({ id: communityId } = await owner.caller.community.create({ name: 'Once', slug: 'once', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it(`${N} concurrent cancels of one bid: cancelled once, its hold released once, escrow exact`, async () => {
    const buyer = await member();
    const bid = await buyer.caller.market.placeOrder(order('BUY', 3 * CREDIT, 5));
    expect(await balance(buyer.caller)).toEqual({ available: GRANT - holdFor(5, 3 * CREDIT, BPS), escrow: holdFor(5, 3 * CREDIT, BPS) });

    const results = await Promise.allSettled(Array.from({ length: N }, () => buyer.caller.market.cancelOrder({ orderId: bid.order.id })));
    expect(succeeded(results)).toHaveLength(1);
    expect(refusalCodes(results)).toEqual(['CONFLICT']);
    expect(succeeded(results)[0]).toMatchObject({ status: 'CANCELLED', remaining: 5 });
    expect(await balance(buyer.caller)).toEqual({ available: GRANT, escrow: 0 });
    expect(await entries(`order:${bid.order.id}`, 'HOLD_RELEASE')).toBe(1);
    expect(await t.db.order.findUniqueOrThrow({ where: { id: bid.order.id }, select: { reserved: true, locked: true } })).toEqual({ reserved: 0n, locked: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`${N} concurrent cancels of a bid in a negotiation: the negotiation ends once and the ask gets its quantity back once`, async () => {
    const [buyer, seller] = [await member(), await member()];
    const ask = await seller.caller.market.placeOrder(order('SELL', 5 * CREDIT, 6, { mode: 'MANUAL', limit: null }));
    const bid = await buyer.caller.market.placeOrder(order('BUY', 4 * CREDIT, 4, { mode: 'MANUAL', limit: null }));
    expect(bid.negotiationId).toEqual(expect.any(String));
    expect((await t.db.order.findUniqueOrThrow({ where: { id: ask.order.id } })).locked).toBe(4);

    const results = await Promise.allSettled(Array.from({ length: N }, () => buyer.caller.market.cancelOrder({ orderId: bid.order.id })));
    expect(succeeded(results)).toHaveLength(1);
    expect(refusalCodes(results)).toEqual(['CONFLICT']);
    expect(await t.db.order.findUniqueOrThrow({ where: { id: ask.order.id }, select: { status: true, remaining: true, locked: true } })).toEqual({ status: 'OPEN', remaining: 6, locked: 0 });
    expect((await t.db.negotiation.findUniqueOrThrow({ where: { id: bid.negotiationId! } })).status).toBe('REJECTED');
    expect(await balance(buyer.caller)).toEqual({ available: GRANT, escrow: 0 });
    expect(await entries(`order:${bid.order.id}`, 'HOLD_RELEASE')).toBe(1);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
    // the ask would otherwise be the oldest at its price for the next tests' bids
    await seller.caller.market.cancelOrder({ orderId: ask.order.id });
  });

  it(`${N} concurrent accepts of one negotiation, by both sides: one fill, one contract, escrow exact`, async () => {
    const [buyer, seller] = [await member(), await member()];
    const ask = await seller.caller.market.placeOrder(order('SELL', 5 * CREDIT, 3, { mode: 'MANUAL', limit: null }));
    const bid = await buyer.caller.market.placeOrder(order('BUY', 4 * CREDIT, 3, { mode: 'MANUAL', limit: null }));
    const negotiationId = bid.negotiationId!;

    const results = await Promise.allSettled(
      Array.from({ length: N }, (_, i) => (i % 2 ? buyer : seller).caller.negotiation.accept({ negotiationId })),
    );
    const wins = succeeded(results);
    expect(wins).toHaveLength(1);
    expect(refusalCodes(results), refusals(results).join('\n')).toEqual(['CONFLICT']);
    const contractId = wins[0]!.fill!.contractId;
    // the buyer accepting takes the seller's price, the seller accepting takes the buyer's
    const price = wins[0]!.negotiation.buyerPrice;
    expect([4 * CREDIT, 5 * CREDIT]).toContain(price);

    const contracts = await t.db.contract.findMany({ where: { OR: [{ buyOrderId: bid.order.id }, { sellOrderId: ask.order.id }] } });
    expect(contracts.map((c) => c.id)).toEqual([contractId]);
    expect(await t.db.negotiation.findUniqueOrThrow({ where: { id: negotiationId }, select: { status: true, contractId: true } })).toEqual({ status: 'AGREED', contractId });
    for (const id of [bid.order.id, ask.order.id]) {
      expect(await t.db.order.findUniqueOrThrow({ where: { id }, select: { status: true, remaining: true, locked: true, reserved: true } })).toEqual({ status: 'FILLED', remaining: 0, locked: 0, reserved: 0n });
    }
    const paid = fillAmounts(3, price, BPS).buyerPays;
    expect(await balance(buyer.caller)).toEqual({ available: GRANT - paid, escrow: paid });
    expect(contracts[0]!.escrowed).toBe(BigInt(paid));
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`accepts, rejects and counters of one negotiation at once (${N + 4} calls): at most one deal, and locks released exactly once`, async () => {
    const [buyer, seller] = [await member(), await member()];
    const ask = await seller.caller.market.placeOrder(order('SELL', 5 * CREDIT, 4, { mode: 'MANUAL', limit: null }));
    const bid = await buyer.caller.market.placeOrder(order('BUY', 4 * CREDIT, 2, { mode: 'MANUAL', limit: null }));
    const negotiationId = bid.negotiationId!;
    const calls = [
      ...Array.from({ length: 8 }, (_, i) => () => (i % 2 ? buyer : seller).caller.negotiation.accept({ negotiationId })),
      ...Array.from({ length: 8 }, (_, i) => () => (i % 2 ? buyer : seller).caller.negotiation.reject({ negotiationId })),
      ...Array.from({ length: 8 }, (_, i) => () => (i % 2 ? buyer.caller.negotiation.counter({ negotiationId, price: 5 * CREDIT }) : seller.caller.negotiation.counter({ negotiationId, price: 4 * CREDIT }))),
    ];
    const results = await Promise.allSettled(calls.map((call) => call()));
    expect(refusalCodes(results).filter((c) => c !== 'CONFLICT'), refusals(results).join('\n')).toEqual([]);
    const negotiation = await t.db.negotiation.findUniqueOrThrow({ where: { id: negotiationId } });
    const contracts = await t.db.contract.findMany({ where: { buyOrderId: bid.order.id } });
    expect(negotiation.status === 'AGREED' ? [negotiation.contractId] : []).toEqual(contracts.map((c) => c.id));
    expect(negotiation.status).not.toBe('OPEN');
    const [b, s] = await Promise.all([bid.order.id, ask.order.id].map((id) => t.db.order.findUniqueOrThrow({ where: { id } })));
    expect([b!.locked, s!.locked]).toEqual([0, 0]);
    expect([b!.remaining, s!.remaining]).toEqual(negotiation.status === 'AGREED' ? [0, 2] : [2, 4]);
    const { escrow } = await balance(buyer.caller);
    expect(BigInt(escrow)).toBe(b!.reserved + contracts.reduce((sum, c) => sum + c.escrowed, 0n));
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`${N} concurrent requests of one priced item by one buyer buy it once`, async () => {
    const [seller, buyer] = [await member(), await member()];
    const item = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Once song', 100_000), pricing: { mode: 'CREDITS', price: 2 * CREDIT } });
    const results = await Promise.allSettled(Array.from({ length: N }, () => buyer.caller.content.request({ itemId: item.id, deviceId: buyer.deviceId })));
    const bought = succeeded(results).filter((r) => r.contractId);
    const contracts = await t.db.contract.findMany({ where: { buyerId: buyer.id } });
    const transfers = await t.db.transfer.count({ where: { itemId: item.id, receiverId: buyer.id } });
    const paid = fillAmounts(1, 2 * CREDIT, BPS).buyerPays;
    expect({ bought: bought.length, contracts: contracts.length, transfers, refusals: refusalCodes(results), balance: await balance(buyer.caller) })
      .toEqual({ bought: 1, contracts: 1, transfers: 1, refusals: ['CONFLICT'], balance: { available: GRANT - paid, escrow: paid } });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`${N} concurrent requests from two devices of one buyer buy it once; after it arrives, ${N} more give each device one free copy`, async () => {
    const [seller, buyer] = [await member(), await member()];
    const { device: tablet } = await buyer.caller.device.register({ name: 'tablet', profile: phoneProfile });
    const devices = [buyer.deviceId, tablet.id];
    const item = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Twice song', 100_000), pricing: { mode: 'CREDITS', price: 2 * CREDIT } });
    const burst = () => Promise.allSettled(Array.from({ length: N }, (_, i) => buyer.caller.content.request({ itemId: item.id, deviceId: devices[i % 2]! })));
    const paid = fillAmounts(1, 2 * CREDIT, BPS).buyerPays;

    const first = await burst();
    const bought = succeeded(first);
    expect({ bought: bought.filter((r) => r.contractId).length, succeeded: bought.length, refusals: refusalCodes(first) }, refusals(first).join('\n'))
      .toEqual({ bought: 1, succeeded: 1, refusals: ['CONFLICT'] });
    expect(await balance(buyer.caller)).toEqual({ available: GRANT - paid, escrow: paid });
    const [purchase] = bought;
    await buyer.caller.content.updateTransfer({ transferId: purchase!.transfer.id, deviceId: purchase!.transfer.receiverDeviceId, verifiedChunks: 2, status: 'COMPLETED' });
    const sellerAfterSale = await balance(seller.caller);

    const second = await burst();
    const copies = succeeded(second);
    expect({ copies: copies.map((r) => [r.contractId, r.alreadyBought]), devices: new Set(copies.map((r) => r.transfer.receiverDeviceId)).size, refusals: refusalCodes(second) }, refusals(second).join('\n'))
      .toEqual({ copies: [[null, true], [null, true]], devices: 2, refusals: ['CONFLICT'] });
    expect(await t.db.contract.count({ where: { buyerId: buyer.id } })).toBe(1);
    expect(await t.db.transfer.count({ where: { itemId: item.id, receiverId: buyer.id } })).toBe(3);
    expect(await balance(buyer.caller)).toEqual({ available: GRANT - paid, escrow: 0 });
    expect(await balance(seller.caller)).toEqual(sellerAfterSale);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`${N} different buyers requesting one priced item at once each buy one copy, charged once`, { timeout: 180_000 }, async () => {
    const seller = await member();
    const buyers = [];
    for (let i = 0; i < N; i += 4) buyers.push(...(await Promise.all(Array.from({ length: Math.min(4, N - i) }, () => member()))));
    const item = await seller.caller.content.publish({ communityId, deviceId: seller.deviceId, header: header('Popular song', 100_000), pricing: { mode: 'CREDITS', price: 2 * CREDIT } });
    const sell = await t.db.order.findFirstOrThrow({ where: { contentItemId: item.id, side: 'SELL' } });
    const results = await Promise.allSettled(buyers.map((b) => b.caller.content.request({ itemId: item.id, deviceId: b.deviceId })));
    expect(refusalCodes(results)).toEqual([]);
    const paid = fillAmounts(1, 2 * CREDIT, BPS).buyerPays;
    for (const b of buyers) {
      expect(await balance(b.caller)).toEqual({ available: GRANT - paid, escrow: paid });
      expect(await t.db.contract.count({ where: { buyerId: b.id, sellOrderId: sell.id } })).toBe(1);
    }
    expect((await t.db.order.findUniqueOrThrow({ where: { id: sell.id } })).remaining).toBe(sell.remaining - N);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});

/** A header for a file of `size` bytes (the server never sees the bytes, only their hashes). */
function header(title: string, size: number) {
  const chunk = 65_536;
  const hash = (i: number) => (title.length.toString(16) + i.toString(16)).padStart(64, 'a');
  return {
    title, description: '', audience: '', purpose: '', environment: '', mediaType: 'audio/ogg', sizeBytes: size,
    sha256: hash(999), chunkSize: chunk, chunkHashes: Array.from({ length: Math.ceil(size / chunk) }, (_, i) => hash(i)),
  };
}
