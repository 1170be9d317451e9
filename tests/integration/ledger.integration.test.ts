import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '@/server/db/transaction';
import { grant, memberAccount, transfer } from '@/server/ledger/postings';
import { ledgerTotals, memberBalance, openCommunityAccounts, openMemberAccounts, postEntry } from '@/server/ledger/repository';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';

/** Resolves when `release()` is called; lets a test hold a transaction open while it works outside it. */
function gate() {
  let release!: () => void;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return { opened, release };
}

describe.each(databaseKinds)('ledger on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  const members = ['alice', 'bob', 'carol', 'dave', 'erin'];
  const creditLimit = 0;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    await t.db.member.createMany({ data: members.map((handle) => ({ id: handle, handle, passwordHash: 'x' })) });
    const community = await t.db.community.create({
      data: { name: 'Ledger test', slug: 'ledger-test', searchText: 'ledger test', commissionBps: 0, startingGrant: 0n, inviteCode: 'X' },
    });
    communityId = community.id;
    await transaction(t.db, async (tx) => {
      await openCommunityAccounts(tx, communityId);
      for (const m of members) await openMemberAccounts(tx, communityId, m);
    });
  });
  afterAll(() => t?.drop());

  const post = (entry: Parameters<typeof postEntry>[2]) =>
    transaction(t.db, (tx) => postEntry(tx, communityId, entry, { creditLimit }));

  it("a query issued while another transaction is open neither sees its uncommitted postings nor loses its own write when that transaction rolls back", async () => {
    await post(grant('alice', 1_000, 'seed'));
    const before = await memberBalance(t.db, communityId, 'alice');
    const postingsBefore = await t.db.posting.count();

    const written = gate();
    const finish = gate();
    const rolledBack = transaction(t.db, async (tx) => {
      await postEntry(tx, communityId, grant('alice', 500, 'will roll back'), { creditLimit });
      written.release();
      await finish.opened;
      throw new Error('roll back on purpose');
    }).catch((error: Error) => error.message);

    await written.opened;
    // issued while the transaction above is open and holds uncommitted postings
    const read = Promise.all([memberBalance(t.db, communityId, 'alice'), t.db.posting.count()]);
    const outsideWrite = post(grant('bob', 7, 'outside write'));
    const plainWrite = t.db.member.create({ data: { handle: 'frank', passwordHash: 'x' } });
    await new Promise((resolve) => setTimeout(resolve, 150)); // give them every chance to run inside it
    finish.release();

    expect(await rolledBack).toBe('roll back on purpose');
    const [balanceSeen, postingsSeen] = await read;
    expect(balanceSeen).toEqual(before);
    expect(postingsSeen).toBe(postingsBefore);
    await outsideWrite;
    await plainWrite;

    expect(await memberBalance(t.db, communityId, 'alice')).toEqual(before);
    expect((await memberBalance(t.db, communityId, 'bob')).available).toBe(7);
    expect(await t.db.member.count({ where: { handle: 'frank' } })).toBe(1);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('concurrent grants and transfers leave every balance right', async () => {
    const seeds = members.map((m) => post(grant(m, 10_000, 'seed')));
    await Promise.all(seeds);
    const pairs = Array.from({ length: 60 }, (_, i) => ({
      from: members[i % members.length]!,
      to: members[(i * 3 + 1) % members.length]!,
      amount: 1_000 + ((i * 7919) % 4_000),
    })).filter((p) => p.from !== p.to);
    const grants = Array.from({ length: 10 }, (_, i) => post(grant(members[i % members.length]!, 333, 'bonus')));
    const transfers = pairs.map((p) =>
      post(transfer(memberAccount(p.from), memberAccount(p.to), p.amount, 'TRANSFER', 'test')).then(
        () => 'ok' as const,
        (error: { kind?: string }) => error.kind ?? 'error',
      ),
    );
    const outcomes = await Promise.all(transfers);
    await Promise.all(grants);

    // every outcome is a success or a clean refusal for want of credits
    expect(outcomes.every((o) => o === 'ok' || o === 'CONFLICT')).toBe(true);
    expect(outcomes.filter((o) => o === 'ok').length).toBe(await t.db.ledgerTransaction.count({ where: { kind: 'TRANSFER' } }));

    // each cached balance equals the sum of its postings; no member is below the credit limit
    const accounts = await t.db.account.findMany({ include: { postings: { select: { amount: true } } } });
    for (const account of accounts) {
      expect(account.postings.reduce((sum, p) => sum + p.amount, 0n)).toBe(account.balance);
      if (account.kind === 'MEMBER') expect(account.balance >= BigInt(-creditLimit)).toBe(true);
    }
    // transfers move credits between members, so members together hold exactly what was issued
    const issued = -(accounts.find((a) => a.kind === 'ISSUER')?.balance ?? 0n);
    const held = accounts.filter((a) => a.kind === 'MEMBER').reduce((sum, a) => sum + a.balance, 0n);
    expect(held).toBe(issued);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses a transfer beyond the available balance and changes nothing', async () => {
    const before = await memberBalance(t.db, communityId, 'carol');
    const count = await t.db.posting.count();
    await expect(post(transfer(memberAccount('carol'), memberAccount('dave'), before.available + 1, 'TRANSFER', ''))).rejects.toMatchObject({
      kind: 'CONFLICT',
    });
    expect(await memberBalance(t.db, communityId, 'carol')).toEqual(before);
    expect(await t.db.posting.count()).toBe(count);
  });
});
