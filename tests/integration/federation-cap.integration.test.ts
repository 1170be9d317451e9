import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertLinkRoom } from '@/server/community/links';
import { transaction } from '@/server/db/transaction';
import { ledgerTotals } from '@/server/ledger/repository';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const HOUR = 3_600_000;
const N = 20;
const window = (from: number, to: number) => ({ windowStart: new Date(Date.now() + from * HOUR).toISOString(), windowEnd: new Date(Date.now() + to * HOUR).toISOString() });
const CAP_MESSAGE = /would pass the credit limit agreed between South and North \(100 credits\): ask the coordinators to raise it/;

describe.each(databaseKinds)('the credit limit of a federation link on %s', (kind) => {
  let t: TestDatabase;
  let north: string;
  let south: string;
  let n: Awaited<ReturnType<typeof signUp>>;
  let s: Awaited<ReturnType<typeof signUp>>;
  let seller: Caller;
  let linkId: string;

  const clearing = async (communityId: string, peer: string) =>
    (await t.db.account.findFirst({ where: { communityId, kind: 'FEDERATION_CLEARING', peerCommunityId: peer } }))?.balance ?? 0n;
  const sumsAreZero = async () => {
    expect(await ledgerTotals(t.db, north)).toEqual({ balances: 0, postings: 0 });
    expect(await ledgerTotals(t.db, south)).toEqual({ balances: 0, postings: 0 });
  };
  /** South's coordinator buys `quantity` credits' worth of north's files: one contract, delivered. */
  const buyAcross = async (quantity: number) => {
    const bid = await s.caller.market.placeOrder({ communityId: south, side: 'BUY', category: 'FILE', unit: 'ITEM', quantity, price: CREDIT, kind: 'STANDING', ...window(1, 2) });
    expect(bid.fills).toHaveLength(1);
    const contractId = bid.fills[0]!.contractId;
    await seller.contract.reportDelivered({ contractId });
    return contractId;
  };

  beforeAll(async () => {
    t = await freshDatabase(kind);
    n = await signUp(t.db, 'cap-north-coordinator');
    s = await signUp(t.db, 'cap-south-coordinator');
    ({ id: north } = await n.caller.community.create({ name: 'North', slug: 'cap-north', commissionBps: 0, startingGrant: 0, inviteOnly: false }));
    ({ id: south } = await s.caller.community.create({ name: 'South', slug: 'cap-south', commissionBps: 0, startingGrant: 0, inviteOnly: false }));
    ({ id: linkId } = await s.caller.admin.proposeLink({ communityId: south, toSlug: 'cap-north', cap: 100 * CREDIT }));
    await n.caller.admin.acceptLink({ communityId: north, linkId });
    seller = (await signUp(t.db, 'cap-north-seller')).caller;
    await seller.community.join({ slug: 'cap-north' });
    await seller.market.placeOrder({ communityId: north, side: 'SELL', category: 'FILE', unit: 'ITEM', quantity: 100_000, price: CREDIT, kind: 'STANDING', ...window(0.5, 5) });
  });
  afterAll(() => t?.drop());

  it("a coordinator's own cash spent across the link stops at the agreed cap; the ledgers still sum to zero", async () => {
    // the exploit: South's coordinator deposits "cash" to himself and spends it in North
    await s.caller.admin.cashDeposit({ communityId: south, memberId: s.member.id, amount: 1_000_000 * CREDIT, externalReference: 'printed' });
    const first = await buyAcross(60);
    await s.caller.contract.signOff({ contractId: first });
    expect(await clearing(south, north)).toBe(BigInt(60 * CREDIT));
    expect(await clearing(north, south)).toBe(BigInt(-60 * CREDIT));

    // a fill that would pass the cap is refused up front, and nothing changes
    const before = await s.caller.ledger.balance({ communityId: south });
    await rejects(buyAcross(50), 'CONFLICT', CAP_MESSAGE);
    expect(await s.caller.ledger.balance({ communityId: south })).toEqual(before);
    expect(await clearing(south, north)).toBe(BigInt(60 * CREDIT));
    expect(await seller.ledger.balance({ communityId: north })).toEqual({ available: 60 * CREDIT, escrow: 0 });
    await sumsAreZero();

    // raising the cap takes both coordinators
    await s.caller.admin.proposeLinkCap({ communityId: south, linkId, cap: 200 * CREDIT });
    await rejects(buyAcross(50), 'CONFLICT', CAP_MESSAGE);
    await n.caller.admin.acceptLinkCap({ communityId: north, linkId });
    await s.caller.contract.signOff({ contractId: await buyAcross(50) });
    expect(await clearing(south, north)).toBe(BigInt(110 * CREDIT));
    expect(await clearing(north, south)).toBe(BigInt(-110 * CREDIT));
    await sumsAreZero();

    // a contract made under the higher cap cannot pay once the cap is lowered below the position (the
    // settlement is the backstop), and no new fill is made; the position can still be paid down
    const open = await buyAcross(10);
    await n.caller.admin.proposeLinkCap({ communityId: north, linkId, cap: 100 * CREDIT });
    await s.caller.admin.acceptLinkCap({ communityId: south, linkId });
    await rejects(s.caller.contract.signOff({ contractId: open }), 'CONFLICT', CAP_MESSAGE);
    expect((await s.caller.contract.get({ contractId: open })).state).toBe('DELIVERED');
    await rejects(buyAcross(1), 'CONFLICT', CAP_MESSAGE);
    await sumsAreZero();
  });

  it(`${N} concurrent fills across the link never take the clearing accounts past the cap`, async () => {
    // room for exactly 100 credits more beyond the position and the open contract, then 20 fills of 10 credits at once
    const position = Number(await clearing(south, north));
    const pending = 10 * CREDIT;
    await s.caller.admin.proposeLinkCap({ communityId: south, linkId, cap: position + pending + 100 * CREDIT });
    await n.caller.admin.acceptLinkCap({ communityId: north, linkId });
    const results = await Promise.allSettled(Array.from({ length: N }, () => buyAcross(10)));
    const contracts = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toSatisfy((e: unknown) => e instanceof TRPCError && e.code === 'CONFLICT');
    expect(contracts).toHaveLength(10);
    for (const contractId of contracts) await s.caller.contract.signOff({ contractId });
    expect(await clearing(south, north)).toBe(BigInt(position + 100 * CREDIT));
    expect(await clearing(north, south)).toBe(BigInt(-(position + 100 * CREDIT)));
    await sumsAreZero();
  });

  it('assertLinkRoom refuses a trade up front when the clearing balance and open contracts would pass the cap', async () => {
    const position = Number(await clearing(south, north));
    const open = await t.db.contract.findMany({ where: { communityId: south, sellerCommunityId: north, state: { in: ['MATCHED', 'ACTIVE', 'DELIVERED', 'DISPUTED'] } }, select: { escrowed: true } });
    const pending = open.reduce((sum, c) => sum + Number(c.escrowed), 0);
    expect(pending).toBeGreaterThan(0); // the contract refused at settlement above is still open
    const room = 50 * CREDIT;
    await s.caller.admin.proposeLinkCap({ communityId: south, linkId, cap: position + pending + room });
    await n.caller.admin.acceptLinkCap({ communityId: north, linkId });
    await transaction(t.db, (tx) => assertLinkRoom(tx, south, north, room));
    await expect(transaction(t.db, (tx) => assertLinkRoom(tx, south, north, room + 1))).rejects.toMatchObject({ kind: 'CONFLICT', message: expect.stringMatching(/would pass the credit limit agreed between South and North/) });
    const stranger = await signUp(t.db, 'cap-stranger');
    const { id: island } = await stranger.caller.community.create({ name: 'Island', slug: 'cap-island', commissionBps: 0, startingGrant: 0, inviteOnly: false });
    await expect(transaction(t.db, (tx) => assertLinkRoom(tx, south, island, 1))).rejects.toMatchObject({ kind: 'PRECONDITION', message: expect.stringMatching(/not linked/) });
  });
});
