import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { revealDraw } from '@/server/money/sweepstakes';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

const CREDIT = 1_000_000;
const GRANT = 10 * CREDIT;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

describe.each(databaseKinds)("the coordinator's books on %s", (kind) => {
  let t: TestDatabase;
  let coordinator: Caller;
  let communityId: string;
  let seq = 0;
  const member = async () => {
    const m = await signUp(t.db, `cb-${++seq}`);
    await m.caller.community.join({ slug: 'books-town' });
    return m;
  };

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'cb-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Books town', slug: 'books-town', commissionBps: 100, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('lists every member with their balances, paged, oldest first; only to the coordinator', async () => {
    const members = [await member(), await member(), await member()];
    await coordinator.admin.cashDeposit({ communityId, memberId: members[1]!.member.id, amount: 5 * CREDIT, externalReference: 'slip-1' });
    const first = await coordinator.admin.memberBalances({ communityId, limit: 2 });
    expect(first.items.map((m) => m.handle)).toEqual(['cb-coordinator', members[0]!.member.handle]);
    expect(first.items[1]).toMatchObject({ available: GRANT, escrow: 0, role: 'MEMBER' });
    const second = await coordinator.admin.memberBalances({ communityId, limit: 2, cursor: first.nextCursor });
    expect(second.items.map((m) => m.handle)).toEqual([members[1]!.member.handle, members[2]!.member.handle]);
    expect(second.items[0]).toMatchObject({ available: GRANT + 5 * CREDIT });
    expect(second.nextCursor).toBeNull();
    await rejects(members[0]!.caller.admin.memberBalances({ communityId }), 'FORBIDDEN');
    await rejects(members[0]!.caller.admin.cashJournal({ communityId }), 'FORBIDDEN');
  });

  it('keeps a cash journal, newest first, with the member and the external reference; a withdrawal above the balance is refused and changes nothing', async () => {
    const m = await member();
    await coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: 3 * CREDIT, externalReference: 'bank-7' });
    await coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: 2 * CREDIT, externalReference: 'atm-7' });
    const before = await coordinator.admin.cashJournal({ communityId, limit: 100 });
    await rejects(
      coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: 100 * CREDIT, externalReference: 'atm-8' }),
      'CONFLICT',
      /balance is too low for this withdrawal: 11 credits available, 100 asked/,
    );
    const journal = await coordinator.admin.cashJournal({ communityId, limit: 2 });
    expect(journal.items).toMatchObject([
      { direction: 'WITHDRAWAL', amount: 2 * CREDIT, externalReference: 'atm-7', member: { handle: m.member.handle } },
      { direction: 'DEPOSIT', amount: 3 * CREDIT, externalReference: 'bank-7', member: { handle: m.member.handle } },
    ]);
    expect(journal.nextCursor).not.toBeNull();
    const rest = await coordinator.admin.cashJournal({ communityId, limit: 100, cursor: journal.nextCursor });
    expect(rest.items.length).toBe(before.items.length - 2);
    expect((await m.caller.ledger.balance({ communityId })).available).toBe(GRANT + CREDIT);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('shows every member the pool, the open draw with its published fingerprint and their tickets, and past draws with their winners', async () => {
    const m = await member();
    const secret = 'the coordinator keeps this on one device';
    const periodStart = new Date(Date.now() + 500);
    const periodEnd = new Date(periodStart.getTime() + 1_000);
    const { id: drawId } = await coordinator.admin.commitDraw({ communityId, commitment: sha(secret), periodStart: periodStart.toISOString(), periodEnd: periodEnd.toISOString() });
    const open = await m.caller.admin.sweepstakes({ communityId });
    expect(open.open).toEqual([expect.objectContaining({ id: drawId, commitment: sha(secret), tickets: 0, mine: 0 })]);
    expect(open.pool).toBe(0);
    expect(open.past.items).toEqual([]);
    await revealDraw(t.db, communityId, drawId, secret, new Date(periodEnd.getTime() + 1));
    const after = await m.caller.admin.sweepstakes({ communityId });
    expect(after.open).toEqual([]);
    expect(after.past.items).toEqual([expect.objectContaining({ id: drawId, tickets: 0, prize: 0, winner: null })]);
    await rejects(m.caller.admin.sweepstakes({ communityId, limit: 0 }), 'BAD_REQUEST', /at least one row/);
  });
});
