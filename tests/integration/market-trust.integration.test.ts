import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { sweepMarket } from '@/server/market/lifecycle';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const GRANT = 100 * CREDIT;

const window = (fromHours: number, toHours: number) => ({
  windowStart: new Date(Date.now() + fromHours * HOUR).toISOString(),
  windowEnd: new Date(Date.now() + toHours * HOUR).toISOString(),
});

describe.each(databaseKinds)('market: released quantity re-matches, MONEY refused, negotiation bounds on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  type Member = { id: string; caller: Caller };
  const member = async (): Promise<Member> => {
    const m = await signUp(t.db, `mt-${++seq}`);
    await m.caller.community.join({ slug: 'trust-market' });
    return { id: m.member.id, caller: m.caller };
  };
  const order = (m: Member, category: 'PERIPHERAL' | 'NETWORK' | 'COMPUTE', fields: Record<string, unknown>) =>
    m.caller.market.placeOrder({
      communityId,
      category,
      unit: { PERIPHERAL: 'DEVICE_HOUR', NETWORK: 'MB', COMPUTE: 'GFLOP' }[category],
      kind: 'STANDING',
      ...fields,
    } as Parameters<Caller['market']['placeOrder']>[0]);
  const book = (m: Member, category: 'PERIPHERAL' | 'NETWORK' | 'COMPUTE') => m.caller.market.book({ communityId, category });
  const crossed = (depth: { bids: { price: number }[]; asks: { price: number }[] }) =>
    depth.bids.length > 0 && depth.asks.length > 0 && depth.bids[0]!.price >= depth.asks[0]!.price;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, 'mt-owner');
    ({ id: communityId } = await owner.caller.community.create({ name: 'Trust market', slug: 'trust-market', commissionBps: 0, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('a bid at 6 and an ask at 5 do not stay crossed when the negotiation that locked the ask expires', async () => {
    const [seller, haggler, buyer] = [await member(), await member(), await member()];
    const ask = await order(seller, 'PERIPHERAL', { side: 'SELL', quantity: 1, price: 5 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0, 10) });
    const low = await order(haggler, 'PERIPHERAL', { side: 'BUY', quantity: 1, price: 4 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0.1, 1) });
    expect(low.negotiationId).toBeDefined();
    // the ask's whole quantity is locked in the negotiation: the bid at 6 cannot take it and rests
    const high = await order(buyer, 'PERIPHERAL', { side: 'BUY', quantity: 1, price: 6 * CREDIT, ...window(2, 5) });
    expect(high.fills).toEqual([]);

    const counts = await sweepMarket(t.db, new Date(Date.now() + 1.5 * HOUR));
    expect(counts.negotiationsExpired + counts.ordersExpired).toBeGreaterThanOrEqual(1);
    expect(crossed(await book(buyer, 'PERIPHERAL'))).toBe(false);
    const [contract] = (await buyer.caller.contract.list({ communityId })).items;
    expect(contract).toMatchObject({ sellOrderId: ask.order.id, buyOrderId: high.order.id, quantity: 1, price: 5 * CREDIT });
    // the ask was older, so its price holds; the rest of the bid's hold is released
    expect(await buyer.caller.ledger.balance({ communityId })).toEqual({ available: GRANT - 5 * CREDIT, escrow: 5 * CREDIT });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a rejected negotiation, and a cancelled order, release their lock into a re-match', async () => {
    const [seller, haggler, buyer] = [await member(), await member(), await member()];
    await order(seller, 'NETWORK', { side: 'SELL', quantity: 2, price: 5 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0, 10) });
    const low = await order(haggler, 'NETWORK', { side: 'BUY', quantity: 2, price: 4 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0.1, 1) });
    const high = await order(buyer, 'NETWORK', { side: 'BUY', quantity: 1, price: 6 * CREDIT, ...window(0.5, 1) });
    expect(high.fills).toEqual([]);
    await seller.caller.negotiation.reject({ negotiationId: low.negotiationId! });
    expect(crossed(await book(buyer, 'NETWORK'))).toBe(false);
    expect((await buyer.caller.market.myOrders({ communityId })).items.find((o) => o.id === high.order.id)).toMatchObject({ status: 'FILLED', remaining: 0 });

    // the same when the haggler cancels the order that holds the negotiation
    const [seller2, haggler2, buyer2] = [await member(), await member(), await member()];
    await order(seller2, 'COMPUTE', { side: 'SELL', quantity: 3, price: 5 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0, 10) });
    const low2 = await order(haggler2, 'COMPUTE', { side: 'BUY', quantity: 3, price: 4 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0.1, 1) });
    const high2 = await order(buyer2, 'COMPUTE', { side: 'BUY', quantity: 3, price: 6 * CREDIT, ...window(0.5, 1) });
    expect(high2.fills).toEqual([]);
    await haggler2.caller.market.cancelOrder({ orderId: low2.order.id });
    expect(crossed(await book(buyer2, 'COMPUTE'))).toBe(false);
    expect((await buyer2.caller.market.myOrders({ communityId })).items.find((o) => o.id === high2.order.id)).toMatchObject({ status: 'FILLED' });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses MONEY orders: credits are the price, not the good', async () => {
    const m = await member();
    const before = await t.db.order.count();
    for (const side of ['BUY', 'SELL'] as const) {
      await rejects(
        m.caller.market.placeOrder({ communityId, side, category: 'MONEY', unit: 'CREDIT', kind: 'STANDING', quantity: 5, price: CREDIT, ...window(0, 1) } as Parameters<Caller['market']['placeOrder']>[0]),
        'BAD_REQUEST',
        /Credits are the price/,
      );
    }
    expect(await t.db.order.count()).toBe(before);
    expect(await m.caller.ledger.balance({ communityId })).toEqual({ available: GRANT, escrow: 0 });
  });

  it('a counter-offer at 1e15 is refused with a clear message, and accepting cannot overflow', async () => {
    const [seller, buyer] = [await member(), await member()];
    await order(seller, 'PERIPHERAL', { side: 'SELL', quantity: 10, price: 5 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0, 10) });
    const bid = await order(buyer, 'PERIPHERAL', { side: 'BUY', quantity: 10, price: 4 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0.1, 1) });
    const negotiationId = bid.negotiationId!;
    await rejects(seller.caller.negotiation.counter({ negotiationId, price: 1e15 }), 'BAD_REQUEST', /offer a lower price/);
    await rejects(buyer.caller.negotiation.counter({ negotiationId, price: 1e15 }), 'BAD_REQUEST', /offer a lower price/);
    const negotiation = await buyer.caller.negotiation.get({ negotiationId });
    expect(negotiation).toMatchObject({ status: 'OPEN', buyerPrice: 4 * CREDIT, sellerPrice: 5 * CREDIT, offers: [] });
    // a sane counter and an accept still work
    await seller.caller.negotiation.counter({ negotiationId, price: 4_500_000 });
    const accepted = await buyer.caller.negotiation.accept({ negotiationId });
    expect(accepted.fill).toMatchObject({ quantity: 10, price: 4_500_000 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
