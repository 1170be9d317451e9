import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const window = (from: number, to: number) => ({ windowStart: new Date(Date.now() + from * HOUR).toISOString(), windowEnd: new Date(Date.now() + to * HOUR).toISOString() });

describe.each(databaseKinds)('federated markets on %s', (kind) => {
  let t: TestDatabase;
  let north: string;
  let south: string;
  let seller: Caller;
  let buyer: Caller;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const n = await signUp(t.db, 'north-coordinator');
    const s = await signUp(t.db, 'south-coordinator');
    ({ id: north } = await n.caller.community.create({ name: 'North', slug: 'north', commissionBps: 400, startingGrant: 50 * CREDIT, inviteOnly: false }));
    ({ id: south } = await s.caller.community.create({ name: 'South', slug: 'south', commissionBps: 0, startingGrant: 50 * CREDIT, inviteOnly: false }));
    const link = await n.caller.admin.proposeLink({ communityId: north, toSlug: 'south', cap: 1_000 * CREDIT });
    await s.caller.admin.acceptLink({ communityId: south, linkId: link.id });
    seller = (await signUp(t.db, 'south-seller')).caller;
    await seller.community.join({ slug: 'south' });
    buyer = (await signUp(t.db, 'north-buyer')).caller;
    await buyer.community.join({ slug: 'north' });
  });
  afterAll(() => t?.drop());

  it("a member sees a linked community's book, trades with it, and the payment settles through both clearing accounts", async () => {
    await seller.market.placeOrder({ communityId: south, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 10, price: 2 * CREDIT, kind: 'STANDING', ...window(0.5, 5) });
    expect(await buyer.market.book({ communityId: north, category: 'FILE' })).toEqual({ bids: [], asks: [{ price: 2 * CREDIT, quantity: 10 }] });

    const bid = await buyer.market.placeOrder({ communityId: north, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 4, price: 2 * CREDIT, kind: 'STANDING', ...window(1, 2) });
    expect(bid.fills).toEqual([{ contractId: expect.any(String), quantity: 4, price: 2 * CREDIT }]);
    const contractId = bid.fills[0]!.contractId;
    await seller.contract.reportDelivered({ contractId });
    await buyer.contract.signOff({ contractId });

    const amounts = fillAmounts(4, 2 * CREDIT, 400); // the buyer's community sets the commission
    expect(await buyer.ledger.balance({ communityId: north })).toEqual({ available: 50 * CREDIT - amounts.buyerPays, escrow: 0 });
    expect(await seller.ledger.balance({ communityId: south })).toEqual({ available: 50 * CREDIT + amounts.sellerGets, escrow: 0 });
    const clearing = async (communityId: string, peer: string) => (await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'FEDERATION_CLEARING', peerCommunityId: peer } })).balance;
    expect(await clearing(north, south)).toBe(BigInt(amounts.sellerGets));
    expect(await clearing(south, north)).toBe(BigInt(-amounts.sellerGets));
    expect(await ledgerTotals(t.db, north)).toEqual({ balances: 0, postings: 0 });
    expect(await ledgerTotals(t.db, south)).toEqual({ balances: 0, postings: 0 });
  });

  it('an incoming ask from the linked community fills a resting bid, holding and charging in the buyer’s community', async () => {
    await buyer.market.placeOrder({ communityId: north, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity: 3, price: CREDIT, kind: 'STANDING', ...window(1, 2) });
    const ask = await seller.market.placeOrder({ communityId: south, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 3, price: CREDIT, kind: 'STANDING', ...window(0.5, 5) });
    expect(ask.fills).toHaveLength(1);
    const contract = await seller.contract.get({ contractId: ask.fills[0]!.contractId });
    expect(contract).toMatchObject({ communityId: north, commissionBps: 400 });
    await seller.contract.reportDelivered({ contractId: contract.id });
    await buyer.contract.signOff({ contractId: contract.id });
    expect(await ledgerTotals(t.db, north)).toEqual({ balances: 0, postings: 0 });
    expect(await ledgerTotals(t.db, south)).toEqual({ balances: 0, postings: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
