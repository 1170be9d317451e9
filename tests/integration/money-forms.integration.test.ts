import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');


describe.each(databaseKinds)('money forms on %s', (kind) => {
  let t: TestDatabase;
  let coordinator: Caller;
  let communityId: string;
  let seq = 0;
  const member = async () => {
    const m = await signUp(t.db, `mf-${++seq}`);
    await m.caller.community.join({ slug: 'money-forms' });
    return m;
  };

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'mf-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Money forms', slug: 'money-forms', commissionBps: 1_000, startingGrant: 10 * CREDIT, inviteOnly: false, sweepstakesShareBps: 5_000 }));
  });
  afterAll(() => t?.drop());

  it('records cash deposits and withdrawals against the cash clearing account, once per external reference', async () => {
    const m = await member();
    await coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: 25 * CREDIT, externalReference: 'bank-0001' });
    expect((await m.caller.ledger.balance({ communityId })).available).toBe(35 * CREDIT);
    await rejects(coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: 25 * CREDIT, externalReference: 'bank-0001' }), 'CONFLICT', /already recorded/);
    await rejects(m.caller.admin.cashDeposit({ communityId, memberId: m.member.id, amount: CREDIT, externalReference: 'self-serve' }), 'FORBIDDEN');
    await rejects(coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: 36 * CREDIT, externalReference: 'atm-1' }), 'CONFLICT', /balance is too low for this withdrawal: 35 credits available, 36 asked/);
    await coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: 5 * CREDIT, externalReference: 'atm-2' });
    expect((await m.caller.ledger.balance({ communityId })).available).toBe(30 * CREDIT);
    const clearing = await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'CASH_CLEARING' } });
    expect(clearing.balance).toBe(BigInt(-20 * CREDIT));
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('funds the sweepstakes pool from commissions, earns tickets for verified contributions, and draws a winner anyone can recompute', async () => {
    const periodStart = new Date(Date.now() + 1_000);
    const periodEnd = new Date(periodStart.getTime() + 60_000);
    const secret = 'a secret only the coordinator knows until the end';
    await rejects(coordinator.admin.commitDraw({ communityId, commitment: 'abc', periodStart: periodStart.toISOString(), periodEnd: periodEnd.toISOString() }), 'BAD_REQUEST');
    const { id: drawId } = await coordinator.admin.commitDraw({ communityId, commitment: sha(secret), periodStart: periodStart.toISOString(), periodEnd: periodEnd.toISOString() });
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    // two completed transfers earn their senders tickets; their sales fund the pool with half the commission
    const [seller1, seller2, buyer] = [await member(), await member(), await member()];
    for (const seller of [seller1, seller2]) {
      const { device } = await seller.caller.device.register({ name: 'phone', profile: phoneProfile });
      const bytes = Buffer.alloc(70_000, seq);
      const chunkHashes = [createHash('sha256').update(bytes.subarray(0, 65_536)).digest('hex'), createHash('sha256').update(bytes.subarray(65_536)).digest('hex')];
      const item = await seller.caller.content.publish({ communityId, deviceId: device.id, header: { title: `Song ${seq}`, mediaType: 'audio/ogg', sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), chunkSize: 65_536, chunkHashes }, pricing: { mode: 'CREDITS', price: 2 * CREDIT } });
      const { device: receiver } = await buyer.caller.device.register({ name: 'tablet', profile: phoneProfile });
      const { transfer } = await buyer.caller.content.request({ itemId: item.id, deviceId: receiver.id });
      await buyer.caller.content.updateTransfer({ transferId: transfer.id, deviceId: receiver.id, verifiedChunks: 2, status: 'COMPLETED' });
    }
    const pool = await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'SWEEPSTAKES' } });
    expect(Number(pool.balance)).toBe(2 * Math.floor((2 * CREDIT * 0.1 * 5_000) / 10_000)); // 10% commission, half to the pool

    await rejects(coordinator.admin.revealDraw({ communityId, drawId, secret }), 'PRECONDITION_FAILED');
    await t.db.sweepstakesDraw.update({ where: { id: drawId }, data: { periodEnd: new Date() } }); // let the period end now
    await rejects(coordinator.admin.revealDraw({ communityId, drawId, secret: 'not the committed secret!' }), 'BAD_REQUEST', /does not match/);
    const revealed = await coordinator.admin.revealDraw({ communityId, drawId, secret });
    expect(revealed.tickets).toHaveLength(2);

    // recompute independently from what the draw publishes
    const ids = revealed.tickets.map((ticket) => ticket.id);
    expect([...ids].sort()).toEqual(ids);
    const ticketsHash = sha(ids.join('\n'));
    expect(revealed.ticketsHash).toBe(ticketsHash);
    const index = Number(BigInt(`0x${sha(`${secret}:${ticketsHash}`)}`) % BigInt(ids.length));
    expect(revealed.winningTicketId).toBe(ids[index]);
    expect(revealed.winnerId).toBe(revealed.tickets[index]!.memberId);
    expect(revealed.prize).toBe(Number(pool.balance));
    const winner = revealed.winnerId === seller1.member.id ? seller1 : seller2;
    const seen = await (await member()).caller.admin.draw({ communityId, drawId });
    expect(seen.secret).toBe(secret);
    expect((await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'SWEEPSTAKES' } })).balance).toBe(0n);
    expect((await winner.caller.ledger.history({ communityId })).items[0]).toMatchObject({ kind: 'SWEEPSTAKES_PRIZE', amount: revealed.prize });
    await rejects(coordinator.admin.revealDraw({ communityId, drawId, secret }), 'CONFLICT');
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('links two communities only when both coordinators agree', async () => {
    const other = await signUp(t.db, `mf-other-${++seq}`);
    const { id: otherId } = await other.caller.community.create({ name: 'Other town', slug: 'other-town', commissionBps: 0, startingGrant: 0, inviteOnly: false });
    await rejects(coordinator.admin.proposeLink({ communityId, toSlug: 'other-town', cap: -1 }), 'BAD_REQUEST');
    const proposal = await coordinator.admin.proposeLink({ communityId, toSlug: 'other-town', cap: 100 * CREDIT });
    expect(proposal).toMatchObject({ active: false, cap: 100 * CREDIT });
    await rejects(coordinator.admin.proposeLink({ communityId, toSlug: 'other-town', cap: 100 * CREDIT }), 'CONFLICT');
    await rejects(coordinator.admin.acceptLink({ communityId, linkId: proposal.id }), 'NOT_FOUND');
    await rejects(coordinator.admin.proposeLinkCap({ communityId, linkId: proposal.id, cap: 5 * CREDIT }), 'PRECONDITION_FAILED', /not active yet/);
    expect(await other.caller.admin.acceptLink({ communityId: otherId, linkId: proposal.id })).toMatchObject({ active: true, cap: 100 * CREDIT });
    expect((await coordinator.admin.links({ communityId }))[0]).toMatchObject({ active: true, cap: 100 * CREDIT, proposedCap: null, community: { slug: 'other-town' } });

    // a new cap waits for the other coordinator; the proposer cannot accept it alone
    await other.caller.admin.proposeLinkCap({ communityId: otherId, linkId: proposal.id, cap: 250 * CREDIT });
    expect((await coordinator.admin.links({ communityId }))[0]).toMatchObject({ cap: 100 * CREDIT, proposedCap: 250 * CREDIT, capProposedHere: false });
    await rejects(other.caller.admin.acceptLinkCap({ communityId: otherId, linkId: proposal.id }), 'FORBIDDEN', /other community's coordinator/);
    await rejects((await member()).caller.admin.acceptLinkCap({ communityId, linkId: proposal.id }), 'FORBIDDEN');
    expect(await coordinator.admin.acceptLinkCap({ communityId, linkId: proposal.id })).toMatchObject({ cap: 250 * CREDIT, proposedCap: null });
    expect((await other.caller.admin.links({ communityId: otherId }))[0]).toMatchObject({ cap: 250 * CREDIT, proposedCap: null, capProposedHere: null });
    await rejects(coordinator.admin.acceptLinkCap({ communityId, linkId: proposal.id }), 'PRECONDITION_FAILED', /No new cap/);
  });
});
