import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPEN_OFFERS } from '@/server/barter/offers';
import { ledgerTotals } from '@/server/ledger/repository';
import { settleFromProof } from '@/server/delivery/proof';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const GRANT = 10 * CREDIT;
type Leg = { category: 'COMPUTE' | 'MEMORY' | 'STORAGE' | 'PERIPHERAL' | 'FILE' | 'NETWORK' | 'MONEY'; unit: string; quantity: number };
const leg = (category: Leg['category'], unit: string, quantity: number): Leg => ({ category, unit, quantity });
/** a file leg: the receiver's verified copies prove it, as every resource leg settles from its own proofs */
const files = [leg('FILE', 'ITEM', 20)];
const twoCredits = [leg('MONEY', 'CREDIT', 2)];

describe.each(databaseKinds)('barter escrow, races and spam on %s', (kind) => {
  let t: TestDatabase;
  let coordinator: Caller;
  let communityId: string;
  let seq = 0;
  type Member = { id: string; caller: Caller };
  const member = async (): Promise<Member> => {
    const m = await signUp(t.db, `bx-${++seq}`);
    await m.caller.community.join({ slug: 'escrow-town' });
    return { id: m.member.id, caller: m.caller };
  };
  const offer = (m: Member, give: Leg[], want: Leg[], extra: Record<string, unknown> = {}) =>
    m.caller.barter.offer({ communityId, give, want, toleranceBps: 10_000, ...extra } as Parameters<Caller['barter']['offer']>[0]);
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const commissionAccount = async () => Number((await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION', memberId: null } })).balance);

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'bx-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Escrow town', slug: 'escrow-town', commissionBps: 200, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('credits given for a resource leg wait in escrow: a disputed leg refunds them, a signed-off one pays them; commission only on settlement', async () => {
    for (const outcome of ['refund', 'pay'] as const) {
      const [seller, payer] = [await member(), await member()];
      await offer(seller, files, twoCredits);
      const { deals } = await offer(payer, twoCredits, files);
      expect(deals).toEqual([{ dealId: expect.any(String), status: 'CLOSED' }]);
      const [contract] = await t.db.contract.findMany({ where: { barterDealId: deals[0]!.dealId } });
      const commission = Number(contract!.buyerCommission);
      expect(contract).toMatchObject({ buyerId: payer.id, sellerId: seller.id, escrowed: BigInt(2 * CREDIT + commission) });
      expect(await balance(payer)).toEqual({ available: GRANT - 2 * CREDIT - commission, escrow: 2 * CREDIT + commission });
      expect(await balance(seller)).toEqual({ available: GRANT, escrow: 0 });
      const commissionBefore = await commissionAccount();

      if (outcome === 'refund') {
        await payer.caller.contract.dispute({ contractId: contract!.id, note: 'No file ever reached my device.' });
        expect(await balance(payer)).toEqual({ available: GRANT - 2 * CREDIT - commission, escrow: 2 * CREDIT + commission });
        const decided = await coordinator.contract.resolveDispute({ contractId: contract!.id, decision: 'REFUND_BUYER', reason: 'No transfer was ever seen.' });
        expect(decided.state).toBe('REFUNDED');
        expect(await balance(payer)).toEqual({ available: GRANT, escrow: 0 });
        expect(await balance(seller)).toEqual({ available: GRANT, escrow: 0 });
        expect(await commissionAccount()).toBe(commissionBefore);
      } else {
        // a file leg pays from the receiver's verified copies, never on the giver's word (barter-delivered suite)
        await rejects(seller.caller.contract.reportDelivered({ contractId: contract!.id }), 'PRECONDITION_FAILED', /measured delivery/);
        await settleFromProof(t.db, contract!.id, { part: 1, whole: 1 }, 'Proven in full');
        expect(await balance(payer)).toEqual({ available: GRANT - 2 * CREDIT - commission, escrow: 0 });
        expect(await balance(seller)).toEqual({ available: GRANT + 2 * CREDIT, escrow: 0 });
        expect(await commissionAccount()).toBe(commissionBefore + commission);
      }
    }
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('accept racing cancel (24 concurrent calls, 3 rounds): the deal either closed or was cancelled, never both', async () => {
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const [a, b] = [await member(), await member()];
      const first = await offer(a, files, twoCredits, { auto: false });
      const second = await offer(b, twoCredits, files);
      const dealId = second.deals[0]!.dealId;
      expect(second.deals[0]!.status).toBe('PROPOSED');
      const calls = Array.from({ length: 24 }, (_, i) =>
        i % 2 === 0 ? a.caller.barter.accept({ dealId }) : i % 4 === 1 ? b.caller.barter.cancel({ offerId: second.offer.id }) : a.caller.barter.cancel({ offerId: first.offer.id }),
      );
      const results = await Promise.allSettled(calls);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).message).toMatch(/already|meanwhile|withdrawn|closed/);

      const deal = await t.db.barterDeal.findUniqueOrThrow({ where: { id: dealId } });
      const offers = await t.db.barterOffer.findMany({ where: { id: { in: [first.offer.id, second.offer.id] } } });
      const contracts = await t.db.contract.findMany({ where: { barterDealId: dealId } });
      outcomes.push(deal.status);
      if (deal.status === 'CLOSED') {
        expect(offers.map((o) => o.status)).toEqual(['CLOSED', 'CLOSED']);
        expect(contracts).toHaveLength(1);
        const held = 2 * CREDIT + Number(contracts[0]!.buyerCommission);
        expect(await balance(b)).toEqual({ available: GRANT - held, escrow: held });
        expect(results.filter((r, i) => i % 2 === 0 && r.status === 'fulfilled').length).toBeGreaterThanOrEqual(1);
        expect(results.filter((r, i) => i % 2 === 1 && r.status === 'fulfilled')).toHaveLength(0);
      } else {
        expect(deal.status).toBe('CANCELLED');
        expect(contracts).toHaveLength(0);
        expect(offers.some((o) => o.status === 'CANCELLED')).toBe(true);
        expect(offers.some((o) => o.status === 'CLOSED')).toBe(false);
        expect(await balance(b)).toEqual({ available: GRANT, escrow: 0 });
        expect(await balance(a)).toEqual({ available: GRANT, escrow: 0 });
      }
      const legs = await t.db.barterOfferLeg.findMany({ where: { offerId: { in: offers.map((o) => o.id) } } });
      for (const o of offers) {
        const open = o.status === 'OPEN' || o.status === 'PROPOSED';
        expect(legs.filter((l) => l.offerId === o.id).every((l) => l.open === open)).toBe(true);
      }
    }
    expect(outcomes).toHaveLength(3);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it(`caps open offers at ${MAX_OPEN_OFFERS} per member, whatever the concurrency`, async () => {
    const spammer = await member();
    const results = await Promise.allSettled(Array.from({ length: MAX_OPEN_OFFERS + 10 }, () => offer(spammer, [leg('FILE', 'ITEM', 1)], [leg('PERIPHERAL', 'DEVICE_HOUR', 1)])));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(MAX_OPEN_OFFERS);
    await rejects(offer(spammer, [leg('FILE', 'ITEM', 1)], [leg('PERIPHERAL', 'DEVICE_HOUR', 1)]), 'CONFLICT', /50 open barter offers/);
    const mine = await spammer.caller.barter.list({ communityId, mine: true });
    await spammer.caller.barter.cancel({ offerId: mine[0]!.id });
    expect((await t.db.barterOfferLeg.findMany({ where: { offerId: mine[0]!.id } })).map((l) => l.open)).toEqual([false, false]);
    await offer(spammer, [leg('FILE', 'ITEM', 1)], [leg('PERIPHERAL', 'DEVICE_HOUR', 1)]);
  });

  it('500 unrelated offers by many members do not stop a matching pair from closing', async () => {
    const spammers = await Promise.all(Array.from({ length: 10 }, () => member()));
    await Promise.all(spammers.map(async (s) => {
      for (let i = 0; i < MAX_OPEN_OFFERS; i++) await offer(s, [leg('FILE', 'ITEM', 1 + i)], [leg('PERIPHERAL', 'DEVICE_HOUR', 1)]);
    }));
    expect(await t.db.barterOffer.count({ where: { communityId, status: 'OPEN' } })).toBeGreaterThanOrEqual(500);
    const [a, b] = [await member(), await member()];
    await offer(a, [leg('COMPUTE', 'CPU_SECOND', 3_600)], [leg('NETWORK', 'MB', 5_000)]);
    const { deals } = await offer(b, [leg('NETWORK', 'MB', 5_000)], [leg('COMPUTE', 'CPU_SECOND', 3_600)]);
    expect(deals).toEqual([{ dealId: expect.any(String), status: 'CLOSED' }]);
    // and a three-party cycle still closes among them
    const [c, d, e] = [await member(), await member(), await member()];
    await offer(c, [leg('STORAGE', 'MB_HOUR', 10_000)], [leg('MEMORY', 'MB_HOUR', 1_000)]);
    await offer(d, [leg('MEMORY', 'MB_HOUR', 1_000)], [leg('COMPUTE', 'CPU_SECOND', 182)]);
    const cycle = await offer(e, [leg('COMPUTE', 'CPU_SECOND', 182)], [leg('STORAGE', 'MB_HOUR', 10_000)]);
    expect(cycle.deals).toHaveLength(1);
  }, 120_000);
});
