import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { splitAmounts } from '@/server/market/contract-state';
import { sweepMarket } from '@/server/market/lifecycle';
import { rejects } from '../support/assertions';
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

describe.each(databaseKinds)('contracts: review period and disputes on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let coordinator: Caller;
  let seq = 0;
  type Member = { id: string; caller: Caller };

  const member = async (prefix: string): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug: 'review-town' });
    return { id: m.member.id, caller: m.caller };
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const accountBalance = async (k: 'COMMISSION' | 'SWEEPSTAKES') => Number((await t.db.account.findFirstOrThrow({ where: { communityId, kind: k, memberId: null } })).balance);

  /** A fresh seller and buyer with one matched contract of `quantity` units at `price`. */
  async function contract(quantity = 1, price = 5 * CREDIT) {
    const [seller, buyer] = [await member('seller'), await member('buyer')];
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity, price, ...window(0.5, 6) });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity, price, ...window(1, 3) });
    return { seller, buyer, contractId: bid.fills[0]!.contractId, amounts: fillAmounts(quantity, price, BPS) };
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'review-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Review town', slug: 'review-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
    await t.db.community.update({ where: { id: communityId }, data: { reviewPeriodHours: 24 } });
  });
  afterAll(() => t?.drop());

  it('a delivered contract records its review period and settles by itself when it ends, paying the seller', async () => {
    const { seller, buyer, contractId, amounts } = await contract();
    const before = Date.now();
    const delivered = await seller.caller.contract.reportDelivered({ contractId });
    expect(delivered.state).toBe('DELIVERED');
    const deliveredAt = Date.parse(delivered.deliveredAt!);
    expect(deliveredAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(Date.parse(delivered.reviewEndsAt!) - deliveredAt).toBe(24 * HOUR);

    // before the end of the review period nothing happens
    await sweepMarket(t.db, new Date(deliveredAt + 23 * HOUR));
    expect((await buyer.caller.contract.get({ contractId })).state).toBe('DELIVERED');
    const counts = await sweepMarket(t.db, new Date(deliveredAt + 24 * HOUR + 1));
    expect(counts.contractsSettled).toBeGreaterThanOrEqual(1);
    const settled = await buyer.caller.contract.get({ contractId });
    expect(settled.state).toBe('SETTLED');
    expect(settled.events.at(-1)).toMatchObject({ action: 'AUTO_SETTLE', fromState: 'DELIVERED', toState: 'SETTLED' });
    expect(await balance(seller)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a dispute waits for the coordinator, who sees both statements and decides with a reason', async () => {
    const { seller, buyer, contractId, amounts } = await contract();
    await seller.caller.contract.reportDelivered({ contractId });
    const disputed = await buyer.caller.contract.dispute({ contractId, note: 'The relay was never reachable.' });
    expect(disputed.state).toBe('DISPUTED');
    expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: amounts.buyerPays });
    // a disputed contract does not settle by itself, and neither party can decide it
    await sweepMarket(t.db, new Date(Date.now() + 1_000 * HOUR));
    expect((await buyer.caller.contract.get({ contractId })).state).toBe('DISPUTED');
    await rejects(buyer.caller.contract.signOff({ contractId }), 'CONFLICT');
    await rejects(buyer.caller.contract.respond({ contractId, note: 'me too' }), 'CONFLICT', /Only the seller/);
    await rejects(seller.caller.contract.resolveDispute({ contractId, decision: 'PAY_SELLER', reason: 'mine' }), 'FORBIDDEN', /coordinator/);
    const stranger = await member('stranger');
    await rejects(stranger.caller.contract.resolveDispute({ contractId, decision: 'PAY_SELLER', reason: 'x' }), 'NOT_FOUND');
    await rejects(stranger.caller.contract.disputes({ communityId }), 'FORBIDDEN');

    await seller.caller.contract.respond({ contractId, note: 'It was up all week; here are the relay logs.' });
    const open = (await coordinator.contract.disputes({ communityId })).items;
    const mine = open.find((d) => d.id === contractId)!;
    expect(mine.statements).toEqual({ buyer: ['The relay was never reachable.'], seller: ['It was up all week; here are the relay logs.'] });
    expect(mine.events.map((e) => e.action)).toEqual(['MATCH', 'REPORT_DELIVERED', 'DISPUTE', 'RESPOND']);
    expect((await coordinator.contract.get({ contractId })).viewer).toEqual({ coordinator: true });

    await rejects(coordinator.contract.resolveDispute({ contractId, decision: 'SPLIT', reason: 'half' }), 'BAD_REQUEST', /seller's share/);
    await rejects(coordinator.contract.resolveDispute({ contractId, decision: 'SPLIT', sellerShareBps: 10_001, reason: 'half' }), 'BAD_REQUEST');
    const commissionBefore = await accountBalance('COMMISSION');
    const decided = await coordinator.contract.resolveDispute({ contractId, decision: 'SPLIT', sellerShareBps: 2_500, reason: 'Reachable two days of eight.' });
    expect(decided.state).toBe('SETTLED');
    expect(decided.events.at(-1)).toMatchObject({ action: 'RESOLVE_SPLIT', toState: 'SETTLED', note: expect.stringMatching(/split, 25\.00% to the seller\. Reachable two days of eight\./) });
    const split = splitAmounts(amounts.buyerPays, amounts.total, 2_500);
    expect(await balance(seller)).toEqual({ available: GRANT + split.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - split.paid, escrow: 0 });
    expect(await accountBalance('COMMISSION')).toBe(commissionBefore + split.commission);
    expect((await coordinator.contract.disputes({ communityId })).items.map((d) => d.id)).not.toContain(contractId);
    await rejects(coordinator.contract.resolveDispute({ contractId, decision: 'REFUND_BUYER', reason: 'again' }), 'CONFLICT', /already settled/);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('the coordinator can refund the buyer or pay the seller in full', async () => {
    const refund = await contract(2, 3 * CREDIT);
    await refund.buyer.caller.contract.dispute({ contractId: refund.contractId, note: 'Nothing arrived.' });
    await coordinator.contract.resolveDispute({ contractId: refund.contractId, decision: 'REFUND_BUYER', reason: 'The seller never reported delivery.' });
    expect((await refund.buyer.caller.contract.get({ contractId: refund.contractId })).state).toBe('REFUNDED');
    expect(await balance(refund.buyer)).toEqual({ available: GRANT, escrow: 0 });
    expect(await balance(refund.seller)).toEqual({ available: GRANT, escrow: 0 });

    const pay = await contract(2, 3 * CREDIT);
    await pay.seller.caller.contract.reportDelivered({ contractId: pay.contractId });
    await pay.buyer.caller.contract.dispute({ contractId: pay.contractId, note: 'Too slow.' });
    await coordinator.contract.resolveDispute({ contractId: pay.contractId, decision: 'PAY_SELLER', reason: 'Speed was never part of the terms.' });
    expect(await balance(pay.seller)).toEqual({ available: GRANT + pay.amounts.sellerGets, escrow: 0 });
    expect(await balance(pay.buyer)).toEqual({ available: GRANT - pay.amounts.buyerPays, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('sign-off, dispute and the review sweep race: exactly one wins and money moves once (24 concurrent calls)', async () => {
    for (let round = 0; round < 2; round++) {
      const { seller, buyer, contractId, amounts } = await contract();
      const delivered = await seller.caller.contract.reportDelivered({ contractId });
      const late = new Date(Date.parse(delivered.reviewEndsAt!) + 1);
      const calls = Array.from({ length: 24 }, (_, i) =>
        i % 3 === 0 ? buyer.caller.contract.signOff({ contractId }) : i % 3 === 1 ? buyer.caller.contract.dispute({ contractId, note: `round ${round} dispute ${i}` }) : sweepMarket(t.db, late),
      );
      const results = await Promise.allSettled(calls);
      for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/already|changed meanwhile|Only a/);
      const after = await buyer.caller.contract.get({ contractId });
      const moves = after.events.filter((e) => ['SIGN_OFF', 'DISPUTE', 'AUTO_SETTLE'].includes(e.action));
      expect(moves).toHaveLength(1);
      if (after.state === 'SETTLED') {
        expect(await balance(seller)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
        expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: 0 });
      } else {
        expect(after.state).toBe('DISPUTED');
        expect(await balance(seller)).toEqual({ available: GRANT, escrow: 0 });
        expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: amounts.buyerPays });
      }
    }
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('concurrent decisions on one dispute: exactly one applies (24 concurrent calls)', async () => {
    const { seller, buyer, contractId, amounts } = await contract();
    await buyer.caller.contract.dispute({ contractId, note: 'Broken.' });
    const decisions = ['PAY_SELLER', 'REFUND_BUYER', 'SPLIT'] as const;
    const results = await Promise.allSettled(
      Array.from({ length: 24 }, (_, i) =>
        coordinator.contract.resolveDispute({ contractId, decision: decisions[i % 3]!, sellerShareBps: 5_000, reason: `decision ${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const after = await buyer.caller.contract.get({ contractId });
    const decided = after.events.filter((e) => e.action.startsWith('RESOLVE_'));
    expect(decided).toHaveLength(1);
    const paid = { RESOLVE_PAY: amounts.buyerPays, RESOLVE_REFUND: 0, RESOLVE_SPLIT: splitAmounts(amounts.buyerPays, amounts.total, 5_000).paid }[decided[0]!.action as 'RESOLVE_PAY']!;
    const sellerGets = { RESOLVE_PAY: amounts.sellerGets, RESOLVE_REFUND: 0, RESOLVE_SPLIT: splitAmounts(amounts.buyerPays, amounts.total, 5_000).sellerGets }[decided[0]!.action as 'RESOLVE_PAY']!;
    expect(await balance(buyer)).toEqual({ available: GRANT - paid, escrow: 0 });
    expect(await balance(seller)).toEqual({ available: GRANT + sellerGets, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a decision racing the seller’s response and the sweep: one decision, money once (21 concurrent calls)', async () => {
    const { seller, buyer, contractId, amounts } = await contract();
    await seller.caller.contract.reportDelivered({ contractId });
    await buyer.caller.contract.dispute({ contractId, note: 'Not as described.' });
    const late = new Date(Date.now() + 1_000 * HOUR);
    const results = await Promise.allSettled(
      Array.from({ length: 21 }, (_, i) =>
        i % 3 === 0
          ? coordinator.contract.resolveDispute({ contractId, decision: 'REFUND_BUYER', reason: `r${i}` })
          : i % 3 === 1
            ? seller.caller.contract.respond({ contractId, note: `reply ${i}` })
            : sweepMarket(t.db, late),
      ),
    );
    expect(results.filter((r, i) => i % 3 === 0 && r.status === 'fulfilled')).toHaveLength(1);
    expect((await buyer.caller.contract.get({ contractId })).state).toBe('REFUNDED');
    expect(await balance(buyer)).toEqual({ available: GRANT, escrow: 0 });
    expect(await balance(seller)).toEqual({ available: GRANT, escrow: 0 });
    expect(amounts.buyerPays).toBeGreaterThan(0);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
