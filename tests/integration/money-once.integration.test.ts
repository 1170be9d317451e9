import { createHash } from 'node:crypto';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transaction } from '@/server/db/transaction';
import { communityAccount, transfer } from '@/server/ledger/postings';
import { ledgerTotals, postEntry } from '@/server/ledger/repository';
import { MAX_MICRO } from '@/server/money';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const GRANT = 10 * CREDIT;
const N = 20;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Runs the calls at once; returns how many succeeded and the codes of the failures (never a 500). */
async function race(calls: (() => Promise<unknown>)[]) {
  const results = await Promise.allSettled(calls.map((call) => call()));
  const codes = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof TRPCError ? r.reason.code : `not a TRPCError: ${String(r.reason)}`] : []));
  return { ok: results.filter((r) => r.status === 'fulfilled').length, codes, results };
}

describe.each(databaseKinds)('money that moves once, on %s', (kind) => {
  let t: TestDatabase;
  let coordinator: Caller;
  let communityId: string;
  let seq = 0;
  const member = async () => {
    const m = await signUp(t.db, `once-${++seq}`);
    await m.caller.community.join({ slug: 'once' });
    return m;
  };
  const balance = async (caller: Caller) => (await caller.ledger.balance({ communityId })).available;
  const onceCount = (onceKey: string) => t.db.ledgerTransaction.count({ where: { onceKey } });
  const pool = async () => (await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'SWEEPSTAKES' } })).balance;

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'once-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Once', slug: 'once', commissionBps: 0, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it(`${N} concurrent cash deposits with one external reference credit once`, async () => {
    const m = await member();
    const { ok, codes } = await race(Array.from({ length: N }, () => () =>
      coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: 5 * CREDIT, externalReference: 'bank-42' })));
    expect(ok).toBe(1);
    expect(codes).toEqual(Array(N - 1).fill('CONFLICT'));
    await rejects(coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: 5 * CREDIT, externalReference: 'bank-42' }), 'CONFLICT', /"bank-42" was already recorded/);
    expect(await balance(m.caller)).toBe(GRANT + 5 * CREDIT);
    expect(await onceCount(`cash:${communityId}:bank-42`)).toBe(1);
    // a withdrawal with the same reference is the same cash movement
    await rejects(coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: CREDIT, externalReference: 'bank-42' }), 'CONFLICT', /already recorded/);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it(`${N} concurrent withdrawals never take a balance below zero, and one too large says the balance is too low`, async () => {
    const m = await member(); // 10 credits
    await rejects(coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: GRANT + 1, externalReference: 'atm-too-much' }), 'CONFLICT', /balance is too low for this withdrawal: 10 credits available/);
    const { ok, codes } = await race(Array.from({ length: N }, (_, i) => () =>
      coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: 3 * CREDIT, externalReference: `atm-${m.member.id}-${i}` })));
    expect(ok).toBe(3);
    expect(codes).toEqual(Array(N - 3).fill('CONFLICT'));
    expect(await balance(m.caller)).toBe(GRANT - 9 * CREDIT);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('a balance can never pass the ceiling that keeps every sum a safe integer, and stays readable', async () => {
    const m = await member();
    await rejects(coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: MAX_MICRO, externalReference: 'huge' }), 'CONFLICT', /most one account may hold/);
    await coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: MAX_MICRO - GRANT, externalReference: 'to-the-top' });
    expect(await balance(m.caller)).toBe(MAX_MICRO);
    await rejects(coordinator.admin.cashDeposit({ communityId, memberId: m.member.id, amount: 1, externalReference: 'one-more' }), 'CONFLICT', /most one account may hold/);
    await coordinator.admin.cashWithdrawal({ communityId, memberId: m.member.id, amount: MAX_MICRO - GRANT, externalReference: 'back-down' });
    expect(await balance(m.caller)).toBe(GRANT);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  async function fundPool(amount: number) {
    await transaction(t.db, (tx) => postEntry(tx, communityId, transfer(communityAccount('ISSUER'), communityAccount('SWEEPSTAKES'), amount, 'TEST_FUNDING', 'test'), { creditLimit: 0 }));
  }
  /** A committed draw whose period has ended, with `tickets` tickets in it held by `holders`. */
  async function endedDraw(secret: string, holders: string[]) {
    const now = Date.now();
    const { id } = await coordinator.admin.commitDraw({ communityId, commitment: sha(secret), periodStart: new Date(now).toISOString(), periodEnd: new Date(now + 60_000).toISOString() });
    const periodStart = new Date(now - 3_600_000);
    await t.db.sweepstakesDraw.update({ where: { id }, data: { periodStart, periodEnd: new Date(now - 1_000) } });
    for (const memberId of holders) {
      await t.db.sweepstakesTicket.create({ data: { communityId, memberId, source: 'COMPUTE_UNIT', reference: `test-${id}-${memberId}`, createdAt: new Date(now - 1_800_000) } });
    }
    return id;
  }

  it(`${N} concurrent reveals of one draw: exactly one wins, the prize is paid once, the pool ends at zero`, async () => {
    const holders = [await member(), await member()];
    await fundPool(7 * CREDIT);
    const secret = 'the coordinator secret for draw one';
    const drawId = await endedDraw(secret, holders.map((h) => h.member.id));
    const before = await Promise.all(holders.map((h) => balance(h.caller)));
    const { ok, codes, results } = await race(Array.from({ length: N }, () => () => coordinator.admin.revealDraw({ communityId, drawId, secret })));
    expect(ok).toBe(1);
    expect(codes).toEqual(Array(N - 1).fill('CONFLICT'));
    const won = results.find((r) => r.status === 'fulfilled')!;
    const revealed = (won as PromiseFulfilledResult<Awaited<ReturnType<Caller['admin']['revealDraw']>>>).value;
    expect(revealed.prize).toBe(7 * CREDIT);
    expect(await pool()).toBe(0n);
    expect(await onceCount(`draw:${drawId}`)).toBe(1);
    const after = await Promise.all(holders.map((h) => balance(h.caller)));
    expect(after.map((b, i) => b - before[i]!).sort()).toEqual([0, 7 * CREDIT]);
    expect(holders.find((h) => h.member.id === revealed.winnerId)).toBeDefined();
    expect(await t.db.ledgerTransaction.count({ where: { communityId, kind: 'SWEEPSTAKES_PRIZE' } })).toBe(1);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('two draws revealed at once, each by many calls, pay the pool once between them: it never goes negative', async () => {
    const holders = [await member(), await member()];
    await fundPool(5 * CREDIT);
    const draws = [await endedDraw('first concurrent draw secret', holders.map((h) => h.member.id)), await endedDraw('second concurrent draw secret', holders.map((h) => h.member.id))];
    const secrets = ['first concurrent draw secret', 'second concurrent draw secret'];
    const { ok, codes } = await race(Array.from({ length: N }, (_, i) => () => coordinator.admin.revealDraw({ communityId, drawId: draws[i % 2]!, secret: secrets[i % 2]! })));
    expect(ok).toBe(2);
    expect(codes).toEqual(Array(N - 2).fill('CONFLICT'));
    const prizes = await t.db.sweepstakesDraw.findMany({ where: { id: { in: draws } }, select: { prize: true } });
    expect(prizes.map((p) => Number(p.prize)).sort((a, b) => a - b)).toEqual([0, 5 * CREDIT]);
    expect(await pool()).toBe(0n);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('the sweepstakes pool cannot be paid below zero', async () => {
    const payOut = () => transaction(t.db, (tx) => postEntry(tx, communityId, transfer(communityAccount('SWEEPSTAKES'), communityAccount('ISSUER'), 1, 'TEST', 'test'), { creditLimit: 0 }));
    await expect(payOut()).rejects.toMatchObject({ kind: 'CONFLICT', message: expect.stringMatching(/sweepstakes pool holds 0 credits/) });
    expect(await pool()).toBe(0n);
  });

  it(`${N} concurrent joins credit the starting grant once`, async () => {
    const m = await signUp(t.db, `once-joiner-${++seq}`);
    const { ok, codes } = await race(Array.from({ length: N }, () => () => m.caller.community.join({ slug: 'once' })));
    expect(ok).toBe(1);
    expect(codes).toEqual(Array(N - 1).fill('CONFLICT'));
    expect(await balance(m.caller)).toBe(GRANT);
    expect(await onceCount(`grant:${communityId}:${m.member.id}`)).toBe(1);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it(`${N} concurrent joins and leaves by one member credit the grant once, and rejoining grants nothing`, async () => {
    const m = await signUp(t.db, `once-flapper-${++seq}`);
    for (let round = 0; round < 3; round++) {
      const { codes } = await race(Array.from({ length: N }, (_, i) => () => (i % 2 === 0 ? m.caller.community.join({ slug: 'once' }) : m.caller.community.leave({ communityId }))));
      for (const code of codes) expect(['CONFLICT', 'FORBIDDEN', 'NOT_FOUND']).toContain(code);
    }
    await m.caller.community.join({ slug: 'once' }).catch(() => undefined);
    expect(await balance(m.caller)).toBe(GRANT);
    expect(await t.db.ledgerTransaction.count({ where: { communityId, kind: 'GRANT', postings: { some: { account: { memberId: m.member.id } } } } })).toBe(1);
    await m.caller.community.leave({ communityId });
    await m.caller.community.join({ slug: 'once' });
    expect(await balance(m.caller)).toBe(GRANT);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('two accounts gifting files back and forth earn no tickets; a paid transfer earns its sender one', async () => {
    const [a, b] = [await member(), await member()];
    const devices = await Promise.all([a, b].map(async (m) => (await m.caller.device.register({ name: 'phone', profile: phoneProfile })).device.id));
    const bytes = Buffer.alloc(1_000, 7);
    const fileHash = createHash('sha256').update(bytes).digest('hex');
    const header = (title: string) => ({ title, mediaType: 'text/plain', sizeBytes: bytes.length, sha256: fileHash, chunkSize: 65_536, chunkHashes: [fileHash] });
    const send = async (from: number, to: number, n: number, pricing: { mode: 'GIFT' } | { mode: 'CREDITS'; price: number }) => {
      const [sender, receiver] = [[a, b][from]!, [a, b][to]!];
      const item = await sender.caller.content.publish({ communityId, deviceId: devices[from]!, header: header(`File ${seq}-${n}`), pricing });
      const { transfer: tr } = await receiver.caller.content.request({ itemId: item.id, deviceId: devices[to]! });
      await receiver.caller.content.updateTransfer({ transferId: tr.id, deviceId: devices[to]!, verifiedChunks: 1, status: 'COMPLETED' });
      return tr.id;
    };
    for (let n = 0; n < 6; n++) await send(n % 2, (n + 1) % 2, n, { mode: 'GIFT' });
    expect(await t.db.sweepstakesTicket.count({ where: { memberId: { in: [a.member.id, b.member.id] } } })).toBe(0);
    const paid = await send(0, 1, 99, { mode: 'CREDITS', price: CREDIT });
    expect(await t.db.sweepstakesTicket.findMany({ where: { memberId: { in: [a.member.id, b.member.id] } }, select: { memberId: true, source: true, reference: true } }))
      .toEqual([{ memberId: a.member.id, source: 'TRANSFER', reference: paid }]);
  });
});
