import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DomainError } from '@/server/errors';
import { settleFromProof } from '@/server/delivery/proof';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const BPS = 200;
const GRANT = 100 * CREDIT;

const window = (fromHours: number, toHours: number) => ({
  windowStart: new Date(Date.now() + fromHours * HOUR).toISOString(),
  windowEnd: new Date(Date.now() + toHours * HOUR).toISOString(),
});

describe.each(databaseKinds)('settlement from proof of delivery on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  type Member = { id: string; caller: Caller };

  const member = async (prefix: string): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'proof-town' });
    return { id: m.member.id, caller: m.caller };
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });

  async function contract(quantity: number, price: number) {
    const [seller, buyer] = [await member('seller'), await member('buyer')];
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'STORAGE', unit: 'MB_HOUR', kind: 'STANDING', quantity, price, ...window(0.5, 6) });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'STORAGE', unit: 'MB_HOUR', kind: 'STANDING', quantity, price, ...window(1, 3) });
    return { seller, buyer, contractId: bid.fills[0]!.contractId, amounts: fillAmounts(quantity, price, BPS) };
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const coordinator = (await signUp(t.db, 'proof-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Proof town', slug: 'proof-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('pays the proven share once under 20 concurrent settlements, refunds the rest, and every posting balances', async () => {
    const { seller, buyer, contractId, amounts } = await contract(4, 3 * CREDIT);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => settleFromProof(t.db, contractId, { part: 3, whole: 4 }, '3 of 4 periods proven')));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ kind: 'CONFLICT' });
    }
    const paid = proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, 3, 4);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    const settled = await buyer.caller.contract.get({ contractId });
    expect(settled.state).toBe('SETTLED');
    expect(settled.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN', toState: 'SETTLED', note: '3 of 4 periods proven' });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('nothing proven refunds the buyer in full; a settled contract cannot settle again', async () => {
    const { seller, buyer, contractId, amounts } = await contract(2, CREDIT);
    await settleFromProof(t.db, contractId, { part: 0, whole: 2 }, 'no proof passed');
    expect(await balance(seller)).toEqual({ available: GRANT, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT, escrow: 0 });
    const again = await settleFromProof(t.db, contractId, { part: 2, whole: 2 }, 'late').catch((e: unknown) => e);
    expect(again).toBeInstanceOf(DomainError);
    expect(again).toMatchObject({ kind: 'CONFLICT', message: expect.stringMatching(/already settled/) });
    expect(amounts.buyerPays).toBeGreaterThan(0);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
