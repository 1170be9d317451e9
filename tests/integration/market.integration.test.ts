import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { sweepMarket } from '@/server/market/lifecycle';
import { fillAmounts } from '@/server/market/commission';
import { holdFor } from '@/server/market/reservation';
import { rejects } from '../support/assertions';
import { callerWith, signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const BPS = 200; // 2% commission


/** A window from `fromHours` to `toHours` from now. */
const window = (fromHours: number, toHours: number) => ({
  windowStart: new Date(Date.now() + fromHours * HOUR).toISOString(),
  windowEnd: new Date(Date.now() + toHours * HOUR).toISOString(),
});

describe.each(databaseKinds)('market on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  type Member = { id: string; token: string; caller: Caller };

  async function member(prefix: string): Promise<Member> {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'market-test' });
    await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    return { id: m.member.id, token: m.token, caller: m.caller };
  }
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const order = (m: Member, fields: Record<string, unknown>) =>
    m.caller.market.placeOrder({
      communityId,
      category: 'COMPUTE',
      unit: 'CPU_SECOND',
      kind: 'STANDING',
      ...window(1, 3),
      ...fields,
    } as Parameters<Caller['market']['placeOrder']>[0]);

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const owner = await signUp(t.db, 'market-owner');
    ({ id: communityId } = await owner.caller.community.create({
      name: 'Market test',
      slug: 'market-test',
      commissionBps: BPS,
      startingGrant: 100 * CREDIT,
      inviteOnly: false,
    }));
  });
  afterAll(() => t?.drop());

  it('a bid takes the cheapest ask at the ask price, holds price plus commission in escrow, and settles on sign-off', async () => {
    const seller = await member('seller');
    const buyer = await member('buyer');
    // files sold as items: a good the seller delivers by hand (compute, storage, rentals and relays pay only from proofs)
    const net = { category: 'FILE', unit: 'ITEM' };
    const ask = await order(seller, { side: 'SELL', quantity: 10, price: 2 * CREDIT, ...net, ...window(0.5, 4) });
    expect(ask).toMatchObject({ order: { status: 'OPEN', remaining: 10 }, fills: [] });

    const bid = await order(buyer, { side: 'BUY', quantity: 6, price: 3 * CREDIT, ...net });
    expect(bid.order).toMatchObject({ status: 'FILLED', remaining: 0 });
    expect(bid.fills).toEqual([{ contractId: expect.any(String), quantity: 6, price: 2 * CREDIT }]);
    const amounts = fillAmounts(6, 2 * CREDIT, BPS);
    expect(await balance(buyer)).toEqual({ available: 100 * CREDIT - amounts.buyerPays, escrow: amounts.buyerPays });
    expect((await seller.caller.market.myOrders({ communityId, open: true })).items[0]).toMatchObject({ remaining: 4 });
    expect(await seller.caller.market.book({ communityId, category: 'FILE' })).toEqual({ bids: [], asks: [{ price: 2 * CREDIT, quantity: 4 }] });

    const contractId = bid.fills[0]!.contractId;
    await rejects(buyer.caller.contract.signOff({ contractId }), 'CONFLICT', /Only a delivered contract/);
    await rejects(buyer.caller.contract.reportDelivered({ contractId }), 'CONFLICT', /Only the seller/);
    await seller.caller.contract.reportDelivered({ contractId });
    const settled = await buyer.caller.contract.signOff({ contractId });
    expect(settled.state).toBe('SETTLED');
    expect(settled.events.map((e) => e.toState)).toEqual(['MATCHED', 'DELIVERED', 'SETTLED']);
    expect(await balance(buyer)).toEqual({ available: 100 * CREDIT - amounts.buyerPays, escrow: 0 });
    expect(await balance(seller)).toEqual({ available: 100 * CREDIT + amounts.sellerGets, escrow: 0 });
    const commission = await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION' } });
    expect(Number(commission.balance)).toBe(amounts.total);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
    await rejects(buyer.caller.contract.signOff({ contractId }), 'CONFLICT', /already settled/);
    // the rest of the ask leaves the book, which later tests trade in
    await seller.caller.market.cancelOrder({ orderId: ask.order.id });
  });

  it('an incoming ask fills bids highest first, oldest first at equal price, partially', async () => {
    const [b1, b2, b3, s] = [await member('b'), await member('b'), await member('b'), await member('s')];
    const w = window(2, 3);
    const low = await order(b1, { side: 'BUY', quantity: 5, price: 1 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR', ...w });
    const oldHigh = await order(b2, { side: 'BUY', quantity: 5, price: 2 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR', ...w });
    const newHigh = await order(b3, { side: 'BUY', quantity: 5, price: 2 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR', ...w });
    const ask = await order(s, { side: 'SELL', quantity: 7, price: 1.5 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR', ...window(1, 4) });
    expect(ask.fills.map((f) => [f.quantity, f.price])).toEqual([[5, 2 * CREDIT], [2, 2 * CREDIT]]);
    expect(ask.order.status).toBe('FILLED');
    const contracts = (await s.caller.contract.list({ communityId })).items;
    expect(new Set(contracts.map((c) => c.buyOrderId))).toEqual(new Set([oldHigh.order.id, newHigh.order.id]));
    expect(low.fills).toEqual([]);
    // the partly filled bid keeps holding exactly what its remainder could cost
    const [remainingBid] = (await b3.caller.market.myOrders({ communityId, open: true })).items;
    expect(remainingBid).toMatchObject({ remaining: 3, reserved: holdFor(3, 2 * CREDIT, BPS) });
    expect((await balance(b3)).escrow).toBe(holdFor(3, 2 * CREDIT, BPS) + fillAmounts(2, 2 * CREDIT, BPS).buyerPays);
  });

  it("a seller's window must cover the buyer's whole window, and constraints must hold", async () => {
    const [s, b] = [await member('s'), await member('b')];
    await order(s, { side: 'SELL', quantity: 5, price: CREDIT, category: 'MEMORY', unit: 'MB_HOUR', ...window(2, 4) });
    const early = await order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'MEMORY', unit: 'MB_HOUR', ...window(1, 3) });
    expect(early.fills).toEqual([]);
    const tooFast = await order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'MEMORY', unit: 'MB_HOUR', ...window(2, 3), constraints: { minMips: 1e5 } });
    expect(tooFast.fills).toEqual([]);
    const wrongOs = await order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'MEMORY', unit: 'MB_HOUR', ...window(2, 3), constraints: { os: ['ios'] } });
    expect(wrongOs.fills).toEqual([]);
    const fits = await order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'MEMORY', unit: 'MB_HOUR', ...window(2, 3), constraints: { os: ['android'], networks: ['wifi'], minMips: 1_000 } });
    expect(fits.fills).toHaveLength(1);
    await rejects(order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'MEMORY', unit: 'MB_HOUR', constraints: { preferredMembers: ['nobody-here'] } }), 'BAD_REQUEST', /@nobody-here/);
  });

  it('the capacity-marketplace example: a bid below the ask opens a negotiation; raising the bid to the ask matches', async () => {
    const [seller, buyer] = [await member('sat-seller'), await member('sat-buyer')];
    // "every Saturday 00:00–24:00": the next Saturday at least a day ahead
    const saturday = new Date();
    saturday.setUTCHours(0, 0, 0, 0);
    saturday.setUTCDate(saturday.getUTCDate() + 1 + ((6 - saturday.getUTCDay() + 7) % 7 || 7));
    const day = (h: number) => new Date(saturday.getTime() + h * HOUR).toISOString();
    const ask = await order(seller, { side: 'SELL', category: 'COMPUTE', unit: 'GFLOP', quantity: 100, price: 0.5 * CREDIT, windowStart: day(0), windowEnd: day(24), negotiation: { mode: 'MANUAL', limit: null } });
    const bid = await order(buyer, { side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', quantity: 100, price: 0.4 * CREDIT, windowStart: day(12), windowEnd: day(18), negotiation: { mode: 'MANUAL', limit: null } });
    expect(bid.fills).toEqual([]);
    expect(bid.negotiationId).toEqual(expect.any(String));
    const negotiation = await seller.caller.negotiation.get({ negotiationId: bid.negotiationId! });
    expect(negotiation).toMatchObject({ status: 'OPEN', quantity: 100, buyerPrice: 0.4 * CREDIT, sellerPrice: 0.5 * CREDIT });
    // the negotiated quantity is locked out of other matches
    expect(await seller.caller.market.book({ communityId, category: 'COMPUTE', unit: 'GFLOP' })).toEqual({ bids: [], asks: [] });

    // the buyer walks away; then bids at the ask, which matches in full at the ask
    await buyer.caller.negotiation.reject({ negotiationId: bid.negotiationId! });
    await buyer.caller.market.cancelOrder({ orderId: bid.order.id });
    const raised = await order(buyer, { side: 'BUY', category: 'COMPUTE', unit: 'GFLOP', quantity: 100, price: 0.5 * CREDIT, windowStart: day(12), windowEnd: day(18) });
    expect(raised.fills).toEqual([{ contractId: expect.any(String), quantity: 100, price: 0.5 * CREDIT }]);
    expect((await seller.caller.market.myOrders({ communityId })).items.find((o) => o.id === ask.order.id)).toMatchObject({ status: 'FILLED', locked: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('by hand: counters go back and forth; a crossing counter closes at the crossing price', async () => {
    const [seller, buyer] = [await member('hand-s'), await member('hand-b')];
    await order(seller, { side: 'SELL', category: 'NETWORK', unit: 'MB', quantity: 10, price: 10 * CREDIT, negotiation: { mode: 'MANUAL', limit: null }, ...window(0.5, 5) });
    const bid = await order(buyer, { side: 'BUY', category: 'NETWORK', unit: 'MB', quantity: 4, price: 6 * CREDIT, negotiation: { mode: 'MANUAL', limit: null } });
    const negotiationId = bid.negotiationId!;
    await rejects(buyer.caller.negotiation.counter({ negotiationId, price: 0 }), 'BAD_REQUEST');
    const stranger = await member('nosy');
    await rejects(stranger.caller.negotiation.accept({ negotiationId }), 'NOT_FOUND');

    expect((await seller.caller.negotiation.counter({ negotiationId, price: 9 * CREDIT })).fill).toBeNull();
    expect((await buyer.caller.negotiation.counter({ negotiationId, price: 7 * CREDIT })).fill).toBeNull();
    const closed = await seller.caller.negotiation.counter({ negotiationId, price: 6.5 * CREDIT });
    // the seller's counter crossed the buyer's standing 7: the deal is at 7
    expect(closed.negotiation).toMatchObject({ status: 'AGREED', buyerPrice: 7 * CREDIT });
    expect(closed.fill).toMatchObject({ quantity: 4, price: 7 * CREDIT });
    expect(closed.negotiation.offers.map((o) => o.price)).toEqual([9 * CREDIT, 7 * CREDIT, 6.5 * CREDIT]);
    // the agreed price is above the bid: the difference was topped up into escrow
    expect(await balance(buyer)).toEqual({ available: 100 * CREDIT - fillAmounts(4, 7 * CREDIT, BPS).buyerPays, escrow: fillAmounts(4, 7 * CREDIT, BPS).buyerPays });
    await rejects(buyer.caller.negotiation.accept({ negotiationId }), 'CONFLICT', /already agreed/);
  });

  it('automatically: overlapping ranges trade at the midpoint of the overlap, rounded down', async () => {
    const [seller, buyer] = [await member('auto-s'), await member('auto-b')];
    // seller [floor 3, ask 7], buyer [bid 2, ceiling 6] -> overlap [3, 6] -> 4.5 credits
    await order(seller, { side: 'SELL', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 2, price: 7 * CREDIT + 1, negotiation: { mode: 'AUTO', limit: 3 * CREDIT }, ...window(0.5, 5) });
    const bid = await order(buyer, { side: 'BUY', category: 'PERIPHERAL', unit: 'DEVICE_HOUR', quantity: 2, price: 2 * CREDIT, negotiation: { mode: 'AUTO', limit: 6 * CREDIT } });
    expect(bid.fills).toEqual([{ contractId: expect.any(String), quantity: 2, price: Math.floor((3 * CREDIT + 6 * CREDIT) / 2) }]);
    const contract = await buyer.caller.contract.get({ contractId: bid.fills[0]!.contractId });
    expect(contract.pricing).toBe('AUTO_NEGOTIATED');
  });

  it('refuses bad orders with clear errors and changes nothing', async () => {
    const [b, s] = [await member('bad'), await member('bad')];
    const before = { balance: await balance(b), orders: await t.db.order.count() };
    const base = { side: 'BUY', quantity: 1, price: CREDIT };
    await rejects(order(b, { ...base, quantity: 0 }), 'BAD_REQUEST');
    await rejects(order(b, { ...base, quantity: 2.5 }), 'BAD_REQUEST');
    await rejects(order(b, { ...base, price: -1 }), 'BAD_REQUEST');
    await rejects(order(b, { ...base, unit: 'MB_HOUR' }), 'BAD_REQUEST', /COMPUTE is traded in/);
    await rejects(order(b, { ...base, ...window(3, 1) }), 'BAD_REQUEST', /end after it starts/);
    await rejects(order(b, { ...base, ...window(-3, -1) }), 'BAD_REQUEST', /already ended/);
    await rejects(order(b, { ...base, negotiation: { mode: 'AUTO', limit: null } }), 'BAD_REQUEST', /ceiling/);
    await rejects(order(b, { ...base, quantity: 1_000, price: 10 * CREDIT }), 'CONFLICT', /needs .* credits held in escrow/);
    await rejects(order(b, { ...base, deviceId: 'not-mine' }), 'NOT_FOUND');
    const outsider = await signUp(t.db, `outsider-${++seq}`);
    await rejects(outsider.caller.market.placeOrder({ communityId, side: 'BUY', category: 'COMPUTE', unit: 'CPU_SECOND', quantity: 1, price: 1, kind: 'STANDING', ...window(1, 2) }), 'FORBIDDEN');
    expect(await balance(b)).toEqual(before.balance);
    expect(await t.db.order.count()).toBe(before.orders);

    const mine = await order(s, { side: 'SELL', quantity: 1, price: 50 * CREDIT });
    await rejects(b.caller.market.cancelOrder({ orderId: mine.order.id }), 'NOT_FOUND');
    expect((await s.caller.market.cancelOrder({ orderId: mine.order.id })).status).toBe('CANCELLED');
    await rejects(s.caller.market.cancelOrder({ orderId: mine.order.id }), 'CONFLICT', /already cancelled/);
  });

  it('time: SPOT orders, negotiations and undelivered contracts expire and refund', async () => {
    const [s, b] = [await member('time-s'), await member('time-b')];
    const spot = await order(b, { side: 'BUY', kind: 'SPOT', quantity: 3, price: CREDIT, category: 'FILE', unit: 'MB', ...window(0, 1) });
    expect((await balance(b)).escrow).toBe(holdFor(3, CREDIT, BPS));
    await order(s, { side: 'SELL', quantity: 2, price: 3 * CREDIT, category: 'FILE', unit: 'ITEM', negotiation: { mode: 'MANUAL', limit: null }, ...window(0, 5) });
    const haggle = await order(b, { side: 'BUY', quantity: 2, price: CREDIT, category: 'FILE', unit: 'ITEM', negotiation: { mode: 'MANUAL', limit: null }, ...window(0.1, 2) });
    await order(s, { side: 'SELL', quantity: 1, price: CREDIT, category: 'NETWORK', unit: 'PAGE_VIEW', ...window(0, 1) });
    const deal = await order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'NETWORK', unit: 'PAGE_VIEW', ...window(0, 0.5) });
    expect(deal.fills).toHaveLength(1);

    const counts = await sweepMarket(t.db, new Date(Date.now() + 0.75 * HOUR));
    expect(counts.ordersExpired).toBeGreaterThanOrEqual(1);
    expect((await b.caller.market.myOrders({ communityId })).items).toEqual(expect.arrayContaining([expect.objectContaining({ id: spot.order.id, status: 'EXPIRED', reserved: 0 })]));
    expect((await b.caller.contract.get({ contractId: deal.fills[0]!.contractId })).state).toBe('REFUNDED');

    await sweepMarket(t.db, new Date(Date.now() + 3 * HOUR));
    expect((await b.caller.negotiation.get({ negotiationId: haggle.negotiationId! })).status).toBe('EXPIRED');
    expect(await balance(b)).toEqual({ available: 100 * CREDIT, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a dispute holds the escrow for the coordinator to decide; only parties can act on a contract', async () => {
    const [s, b, other] = [await member('d-s'), await member('d-b'), await member('d-x')];
    await order(s, { side: 'SELL', quantity: 1, price: 4 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR', ...window(0.5, 5) });
    const { fills } = await order(b, { side: 'BUY', quantity: 1, price: 4 * CREDIT, category: 'STORAGE', unit: 'MB_HOUR' });
    const contractId = fills[0]!.contractId;
    await rejects(other.caller.contract.get({ contractId }), 'NOT_FOUND');
    await rejects(other.caller.contract.dispute({ contractId }), 'NOT_FOUND');
    await rejects(s.caller.contract.dispute({ contractId }), 'CONFLICT', /Only the buyer/);
    await rejects(b.caller.contract.dispute({ contractId }), 'BAD_REQUEST', /Say what went wrong/);
    const disputed = await b.caller.contract.dispute({ contractId, note: 'never showed up' });
    expect(disputed.events.map((e) => e.toState)).toEqual(['MATCHED', 'DISPUTED']);
    expect(disputed.statements).toEqual({ buyer: ['never showed up'], seller: [] });
    const held = fillAmounts(1, 4 * CREDIT, BPS).buyerPays;
    expect(await balance(b)).toEqual({ available: 100 * CREDIT - held, escrow: held });
  });

  it('both parties receive the fill live, and a reconnect resumes after the last event seen', async () => {
    const [s, b] = [await member('live-s'), await member('live-b')];
    const controller = new AbortController();
    const subscriber = (await callerWith(t.db, s.token, controller.signal)).caller;
    const feed = (await subscriber.market.events({})) as AsyncIterable<unknown>;
    const iterator = feed[Symbol.asyncIterator]();
    const firstEvent = iterator.next();
    await order(s, { side: 'SELL', quantity: 1, price: CREDIT, category: 'FILE', unit: 'ITEM', ...window(0.5, 5) });
    const { fills } = await order(b, { side: 'BUY', quantity: 1, price: CREDIT, category: 'FILE', unit: 'ITEM', ...window(1, 2) });
    const received: { type: string; contractId?: string }[] = [];
    let lastId = '';
    for (let next = await firstEvent; !next.done; next = await iterator.next()) {
      const [id, data] = next.value as [string, { type: string; contractId?: string }];
      lastId = id;
      received.push(data);
      if (data.type === 'contract') break;
    }
    controller.abort();
    expect(received.map((e) => e.type)).toEqual(['fill', 'order', 'contract']);
    expect(received[0]!.contractId).toBe(fills[0]!.contractId);

    // a new subscription from the last id sees the delivery that happened while it was away
    await s.caller.contract.reportDelivered({ contractId: fills[0]!.contractId });
    const resubscriber = (await callerWith(t.db, s.token, AbortSignal.timeout(5_000))).caller;
    const resumed = ((await resubscriber.market.events({ lastEventId: lastId })) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    const [, event] = (await resumed.next()).value as [string, { type: string; state: string }];
    expect(event).toMatchObject({ type: 'contract', state: 'DELIVERED' });
  });
});
