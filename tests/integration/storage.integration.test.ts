import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { challengesNeeded, MAX_SHARD_BYTES } from '@/server/storage/domain';
import { answerChallenge, sweepStorage } from '@/server/storage/proofs';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PERIOD_S = 60;
const PERIODS = 4;
const SHARD_BYTES = 200_000;

const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};

/** What a buyer's device prepares: shard bytes, their hashes, and challenges with their expected answers. */
function prepare(shardCount: number, replicas: number, periods = PERIODS) {
  const shards = Array.from({ length: shardCount }, () => randomBytes(SHARD_BYTES));
  const challenges = shards.flatMap((bytes, shardIndex) =>
    Array.from({ length: challengesNeeded(periods, replicas) }, () => {
      const length = 4096;
      const offset = Math.floor(Math.random() * (bytes.length - length));
      const nonce = randomBytes(16);
      return { shardIndex, offset, length, nonce: nonce.toString('hex'), expected: sha(nonce, bytes.subarray(offset, offset + length)) };
    }),
  );
  return { bytes: shards, shards: shards.map((b, index) => ({ index, sizeBytes: b.length, sha256: sha(b) })), challenges };
}

/** A seller's device's answer from the bytes it keeps. */
const answerOf = (bytes: Buffer, c: { offset: number; length: number; nonce: string }) => sha(Buffer.from(c.nonce, 'hex'), bytes.subarray(c.offset, c.offset + c.length));

describe.each(databaseKinds)('storage on other members’ devices on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let slug = '';
  let coordinator: Caller;
  let seq = 0;
  type Member = { id: string; caller: Caller; deviceId: string };

  const member = async (prefix: string): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    await m.caller.community.join({ slug });
    const { device } = await m.caller.device.register({ name: `${prefix} phone`, profile: phoneProfile });
    return { id: m.member.id, caller: m.caller, deviceId: device.id };
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const lender = async (price = CREDIT) => {
    const m = await member('seller');
    await m.caller.storage.lend({ communityId, deviceId: m.deviceId, mb: 100, hours: 24, price });
    return m;
  };

  async function stored(shardCount = 2, replicas = 2) {
    const sellers = [await lender(), await lender()];
    const buyer = await member('buyer');
    const prepared = prepare(shardCount, replicas);
    const plan = await buyer.caller.storage.store({
      communityId, deviceId: buyer.deviceId, name: 'holiday photos', meta: { iv: 'abc' }, replicas, periodSeconds: PERIOD_S, periods: PERIODS,
      maxPrice: 2 * CREDIT, shards: prepared.shards, challenges: prepared.challenges,
    });
    return { sellers, buyer, prepared, plan };
  }

  /** Every seller's device fetched its copies (here: given the bytes) and confirms them. */
  async function confirmAll(sellers: Member[]) {
    for (const s of sellers) {
      const work = await s.caller.storage.work({ deviceId: s.deviceId });
      for (const copy of work.incoming) await s.caller.storage.stored({ deviceId: s.deviceId, placementId: copy.placementId });
    }
  }

  const planStart = (plan: { windowStart: string }) => Date.parse(plan.windowStart);
  const at = (plan: { windowStart: string }, ms: number) => new Date(planStart(plan) + ms);
  const bytesOf = (prepared: ReturnType<typeof prepare>, shardId: string, plan: { shards: { id: string; index: number }[] }) => prepared.bytes[plan.shards.find((s) => s.id === shardId)!.index]!;

  /** Issues every challenge of period `p` (sweeps at the end of its challenge span). */
  const issuePeriod = (plan: { windowStart: string }, p: number) => sweepStorage(t.db, at(plan, p * PERIOD_S * 1000 + (PERIOD_S * 1000) / 2));

  async function answerAll(m: Member, prepared: ReturnType<typeof prepare>, plan: { shards: { id: string; index: number }[] }, now?: Date) {
    const work = await m.caller.storage.work({ deviceId: m.deviceId });
    const results = [];
    for (const c of work.challenges) {
      const proof = answerOf(bytesOf(prepared, c.shardId, plan), c);
      results.push(now ? await answerChallenge(t.db, { deviceId: m.deviceId, challengeId: c.id, shardId: c.shardId, proof }, now) : await m.caller.storage.answer({ deviceId: m.deviceId, challengeId: c.id, shardId: c.shardId, proof }));
    }
    return results;
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = (await signUp(t.db, 'vault-coordinator')).caller;
  });
  // each test has its own community, so that only its own lenders are in the book
  beforeEach(async () => {
    slug = `vault-${++seq}`;
    ({ id: communityId } = await coordinator.community.create({ name: `Vault ${seq}`, slug, commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('stores a plan: each shard on two members, one contract per seller with its escrow, one challenge per copy and period', async () => {
    const { sellers, buyer, plan } = await stored(3, 2);
    expect(plan.shards).toHaveLength(3);
    for (const shard of plan.shards) {
      expect(shard.copies.map((c) => c.seller.id).sort()).toEqual(sellers.map((s) => s.id).sort());
      expect(shard.copies.every((c) => c.status === 'PENDING' && c.contract?.state === 'MATCHED')).toBe(true);
    }
    // each seller keeps 3 shards, 600 kB in all, for a 4-minute window: 1 MB-hour (whole MiB × whole hours) at 1 credit
    const escrow = 2 * fillAmounts(1, CREDIT, BPS).buyerPays;
    expect(await balance(buyer)).toEqual({ available: GRANT - escrow, escrow });
    const work = await sellers[0]!.caller.storage.work({ deviceId: sellers[0]!.deviceId });
    expect(work.incoming).toHaveLength(3);
    expect(work.incoming.every((i) => i.sourceDeviceId === buyer.deviceId)).toBe(true);
    expect(work.challenges).toEqual([]);
    const scheduled = await t.db.storageChallenge.groupBy({ by: ['placementId'], where: { planId: plan.id, status: 'SCHEDULED' }, _count: true });
    expect(scheduled).toHaveLength(6);
    expect(scheduled.every((s) => s._count === PERIODS)).toBe(true);
    // the buyer's device serves the sellers; a seller serves the buyer's devices only once it keeps the copy
    const shardId = work.incoming[0]!.shardId;
    await expect(buyer.caller.storage.mayServe({ deviceId: buyer.deviceId, shardId, toDeviceId: sellers[0]!.deviceId })).resolves.toMatchObject({ sizeBytes: SHARD_BYTES });
    await rejects(sellers[1]!.caller.storage.mayServe({ deviceId: sellers[1]!.deviceId, shardId, toDeviceId: buyer.deviceId }), 'FORBIDDEN', /may not have this shard/);
    await confirmAll(sellers);
    await expect(sellers[1]!.caller.storage.mayServe({ deviceId: sellers[1]!.deviceId, shardId, toDeviceId: buyer.deviceId })).resolves.toMatchObject({ sizeBytes: SHARD_BYTES });
    await rejects(sellers[1]!.caller.storage.mayServe({ deviceId: sellers[1]!.deviceId, shardId, toDeviceId: sellers[0]!.deviceId }), 'FORBIDDEN');
  });

  it('issues challenges only at their time and only to copies stored, and tells the seller', async () => {
    const { sellers, plan } = await stored(1, 2);
    // seller 0 confirmed; seller 1 is still fetching: its challenge waits
    const [first] = sellers;
    const work = await first!.caller.storage.work({ deviceId: first!.deviceId });
    await first!.caller.storage.stored({ deviceId: first!.deviceId, placementId: work.incoming[0]!.placementId });
    // (the sweep is the coordinator's, over every plan of the database: assertions look at this plan's only)
    await sweepStorage(t.db, at(plan, -1));
    expect((await first!.caller.storage.work({ deviceId: first!.deviceId })).challenges).toEqual([]);
    await issuePeriod(plan, 0);
    expect((await first!.caller.storage.work({ deviceId: first!.deviceId })).challenges).toHaveLength(1);
    expect((await sellers[1]!.caller.storage.work({ deviceId: sellers[1]!.deviceId })).challenges).toHaveLength(0);
    const events = await t.db.liveEvent.findMany({ where: { memberId: first!.id, type: 'storage' } });
    expect(events.map((e) => (e.payload as { what: string }).what)).toContain('challenge');
    // a copy still arriving when its period closes is not failed for it, within its grace of two periods
    await sweepStorage(t.db, at(plan, PERIOD_S * 1000));
    const slow = await t.db.storagePlacement.findFirstOrThrow({ where: { planId: plan.id, sellerId: sellers[1]!.id } });
    expect(slow.status).toBe('PENDING');
    expect(await t.db.storageChallenge.findFirstOrThrow({ where: { placementId: slow.id, period: 0 } })).toMatchObject({ status: 'VOID' });
    // one that never arrives is lost once the grace is over
    await sweepStorage(t.db, at(plan, 3 * PERIOD_S * 1000));
    expect(await t.db.storagePlacement.findUniqueOrThrow({ where: { id: slow.id } })).toMatchObject({ status: 'LOST' });
  });

  it('pays each contract pro rata to the periods proven at the window’s end, once under 20 concurrent sweeps; the ledger sums to zero', async () => {
    const { sellers, buyer, prepared, plan } = await stored(2, 2);
    await confirmAll(sellers);
    const [good, patchy] = sellers as [Member, Member];
    for (let p = 0; p < PERIODS; p++) {
      await issuePeriod(plan, p);
      expect((await answerAll(good, prepared, plan)).every((r) => r.passed)).toBe(true);
      // the second seller answers only in the first period; its later challenges run out
      if (p === 0) await answerAll(patchy, prepared, plan);
    }
    const end = at(plan, PERIODS * PERIOD_S * 1000 + 1);
    const sweeps = await Promise.allSettled(Array.from({ length: 20 }, () => sweepStorage(t.db, end)));
    expect(sweeps.filter((s) => s.status === 'rejected')).toEqual([]);
    const contracts = await t.db.contract.findMany({ where: { buyerId: buyer.id }, select: { id: true, sellerId: true, state: true, quantity: true } });
    expect(contracts.every((c) => c.state === 'SETTLED')).toBe(true);
    const amounts = fillAmounts(1, CREDIT, BPS);
    const commission = amounts.buyerPays - amounts.sellerGets;
    expect(await balance(good)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
    // patchy: lost after period 1's miss; its two copies answered for 4 periods each, 2 proven of 8
    const patchyPaid = proRataAmounts(amounts.buyerPays, commission, 2, 8);
    expect(await balance(patchy)).toEqual({ available: GRANT + patchyPaid.sellerGets, escrow: 0 });
    const plansEnded = await t.db.storagePlan.count({ where: { id: plan.id, status: 'ENDED' } });
    expect(plansEnded).toBe(1);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
    const events = (await buyer.caller.contract.get({ contractId: contracts.find((c) => c.sellerId === patchy.id)!.id })).events;
    expect(events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN', note: '2 of 8 storage periods proven by challenges' });
  });

  it('a failed challenge pays nothing for its period, lowers the seller’s reliability, settles its contract for what it proved and repairs the shard onto a third seller from the surviving copy', async () => {
    const { sellers, buyer, prepared, plan } = await stored(1, 2);
    await confirmAll(sellers);
    const [honest, cheat] = sellers as [Member, Member];
    await issuePeriod(plan, 0);
    await answerAll(honest, prepared, plan);
    await answerAll(cheat, prepared, plan);
    const third = await lender();
    await issuePeriod(plan, 1);
    const work = await cheat.caller.storage.work({ deviceId: cheat.deviceId });
    expect(work.challenges).toHaveLength(1);
    const c = work.challenges[0]!;
    // answered within period 1 (the coordinator's clock is the test's)
    const result = await answerChallenge(t.db, { deviceId: cheat.deviceId, challengeId: c.id, shardId: c.shardId, proof: answerOf(randomBytes(SHARD_BYTES), c) }, at(plan, 1.5 * PERIOD_S * 1000 + 10));
    expect(result.passed).toBe(false);
    expect(await t.db.storageReliability.findUnique({ where: { deviceId: cheat.deviceId } })).toMatchObject({ passed: 1, failed: 1 });

    const view = await buyer.caller.storage.plan({ planId: plan.id });
    const copies = view.shards[0]!.copies;
    expect(copies.find((x) => x.seller.id === cheat.id)).toMatchObject({ status: 'LOST', repair: 'DONE', passed: 1, failed: 1, contract: { state: 'SETTLED' } });
    const repaired = copies.find((x) => x.seller.id === third.id)!;
    expect(repaired).toMatchObject({ status: 'PENDING', fromPeriod: 2, toPeriod: PERIODS, contract: { state: 'MATCHED' } });
    const incoming = (await third.caller.storage.work({ deviceId: third.deviceId })).incoming;
    expect(incoming).toEqual([expect.objectContaining({ placementId: repaired.placementId, sourceDeviceId: honest.deviceId })]);
    // the surviving copy's device may serve the third seller; the buyer's device is no longer asked to
    await expect(honest.caller.storage.mayServe({ deviceId: honest.deviceId, shardId: c.shardId, toDeviceId: third.deviceId })).resolves.toBeTruthy();
    // the cheat proved 1 of the 4 periods it was bought for
    const amounts = fillAmounts(1, CREDIT, BPS);
    expect(await balance(cheat)).toEqual({ available: GRANT + proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, 1, 4).sellerGets, escrow: 0 });
    // the third seller keeps it from the next period on
    await third.caller.storage.stored({ deviceId: third.deviceId, placementId: repaired.placementId });
    await issuePeriod(plan, 2);
    expect((await answerAll(third, prepared, plan)).map((r) => r.passed)).toEqual([true]);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a seller that vanished misses its challenges: its copy is lost and repaired, and it is paid only for the periods it proved', async () => {
    const { sellers, prepared, plan } = await stored(1, 2);
    await confirmAll(sellers);
    const [stays, gone] = sellers as [Member, Member];
    await issuePeriod(plan, 0);
    await answerAll(stays, prepared, plan);
    await answerAll(gone, prepared, plan);
    const third = await lender();
    await issuePeriod(plan, 1);
    await answerAll(stays, prepared, plan);
    // its period-1 challenge went out half-way through the period, with half a period to answer
    await sweepStorage(t.db, at(plan, 2 * PERIOD_S * 1000));
    expect(await t.db.storageReliability.findUnique({ where: { deviceId: gone.deviceId } })).toMatchObject({ passed: 1, failed: 1 });
    const copy = await t.db.storagePlacement.findFirstOrThrow({ where: { planId: plan.id, sellerId: third.id } });
    expect(copy).toMatchObject({ status: 'PENDING', sourceDeviceId: stays.deviceId, fromPeriod: 3 });
    const lost = await t.db.storagePlacement.findFirstOrThrow({ where: { planId: plan.id, sellerId: gone.id } });
    const contract = await t.db.contract.findUniqueOrThrow({ where: { id: lost.contractId } });
    expect(contract.state).toBe('SETTLED');
    const amounts = fillAmounts(1, CREDIT, BPS);
    expect(await balance(gone)).toEqual({ available: GRANT + proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, 1, 4).sellerGets, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses bad answers with clear errors and records or pays nothing: unknown shard, another device’s challenge, a replay, a late one', async () => {
    const { sellers, buyer, prepared, plan } = await stored(2, 2);
    await confirmAll(sellers);
    const [a, b] = sellers as [Member, Member];
    await issuePeriod(plan, 0);
    const workA = await a.caller.storage.work({ deviceId: a.deviceId });
    const c = workA.challenges[0]!;
    const proof = answerOf(bytesOf(prepared, c.shardId, plan), c);
    const before = await balance(a);
    // a device that keeps no copy of the shard
    const outsider = await lender();
    await rejects(outsider.caller.storage.answer({ deviceId: outsider.deviceId, challengeId: c.id, shardId: c.shardId, proof }), 'FORBIDDEN', /keeps no copy of that shard/);
    // another device that keeps a copy of the same shard answers a's challenge
    await rejects(b.caller.storage.answer({ deviceId: b.deviceId, challengeId: c.id, shardId: c.shardId, proof }), 'FORBIDDEN', /sent to another device/);
    // a's own device names a shard it does not keep (the buyer's plan has another one, but a keeps both; use a made-up id)
    await rejects(a.caller.storage.answer({ deviceId: a.deviceId, challengeId: c.id, shardId: 'no-such-shard', proof }), 'FORBIDDEN', /keeps no copy/);
    // someone else's device id
    await rejects(buyer.caller.storage.answer({ deviceId: a.deviceId, challengeId: c.id, shardId: c.shardId, proof }), 'NOT_FOUND', /no device with that id/);
    expect(await a.caller.storage.answer({ deviceId: a.deviceId, challengeId: c.id, shardId: c.shardId, proof })).toMatchObject({ passed: true });
    await rejects(a.caller.storage.answer({ deviceId: a.deviceId, challengeId: c.id, shardId: c.shardId, proof }), 'CONFLICT', /already answered/);
    // a challenge answered after its time
    const late = workA.challenges[1]!;
    const deadline = Date.parse(late.deadline);
    await expect(answerChallenge(t.db, { deviceId: a.deviceId, challengeId: late.id, shardId: late.shardId, proof: answerOf(bytesOf(prepared, late.shardId, plan), late) }, new Date(deadline + 1))).rejects.toMatchObject({ kind: 'PRECONDITION', message: expect.stringMatching(/ran out/) });
    expect(await t.db.storageChallenge.findUniqueOrThrow({ where: { id: late.id } })).toMatchObject({ status: 'MISSED' });
    // nothing is paid before the contract settles
    expect(await balance(a)).toEqual(before);
    // the challenge's text is checked too
    await rejects(a.caller.storage.answer({ deviceId: a.deviceId, challengeId: c.id, shardId: c.shardId, proof: 'xyz' }), 'BAD_REQUEST', /64 lower-case hex/);
  });

  it('answers one challenge once under 20 concurrent answers', async () => {
    const { sellers, prepared, plan } = await stored(1, 2);
    await confirmAll(sellers);
    await issuePeriod(plan, 0);
    const [a] = sellers as [Member];
    const c = (await a.caller.storage.work({ deviceId: a.deviceId })).challenges[0]!;
    const proof = answerOf(bytesOf(prepared, c.shardId, plan), c);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => a.caller.storage.answer({ deviceId: a.deviceId, challengeId: c.id, shardId: c.shardId, proof })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/already answered/);
    expect(await t.db.storageReliability.findUnique({ where: { deviceId: a.deviceId } })).toMatchObject({ passed: 1, failed: 0 });
  });

  it('repairs a lost copy once under 20 concurrent sweeps', async () => {
    const { sellers, buyer, prepared, plan } = await stored(1, 2);
    await confirmAll(sellers);
    const [stays, gone] = sellers as [Member, Member];
    await issuePeriod(plan, 0);
    await answerAll(stays, prepared, plan);
    const third = await lender();
    const sweeps = await Promise.allSettled(Array.from({ length: 20 }, () => sweepStorage(t.db, at(plan, PERIOD_S * 1000))));
    for (const s of sweeps) if (s.status === 'rejected') expect(String(s.reason)).toMatch(/try again|changed|again/);
    const copies = await t.db.storagePlacement.findMany({ where: { planId: plan.id }, select: { sellerId: true, status: true } });
    expect(copies.filter((c) => c.sellerId === third.id)).toHaveLength(1);
    expect(copies.find((c) => c.sellerId === gone.id)).toMatchObject({ status: 'LOST' });
    const contracts = await t.db.contract.count({ where: { buyerId: buyer.id, sellerId: third.id } });
    expect(contracts).toBe(1);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a seller who stops lending has its copies moved first, then is paid for the periods it proved', async () => {
    const { sellers, prepared, plan } = await stored(1, 2);
    await confirmAll(sellers);
    const [stays, leaves] = sellers as [Member, Member];
    await issuePeriod(plan, 0);
    await answerAll(stays, prepared, plan);
    await answerAll(leaves, prepared, plan);
    const third = await lender();
    const stop = await leaves.caller.storage.stopLending({ deviceId: leaves.deviceId });
    expect(stop).toEqual({ asksCancelled: 1, copiesMoving: 1 });
    expect((await leaves.caller.storage.lending({ deviceId: leaves.deviceId })).asks).toEqual([]);
    const incoming = (await third.caller.storage.work({ deviceId: third.deviceId })).incoming;
    // the copy comes from the device that is leaving, which keeps it until then
    expect(incoming).toEqual([expect.objectContaining({ sourceDeviceId: leaves.deviceId })]);
    expect((await leaves.caller.storage.lending({ deviceId: leaves.deviceId })).copies).toEqual([expect.objectContaining({ status: 'MOVING' })]);
    await third.caller.storage.stored({ deviceId: third.deviceId, placementId: incoming[0]!.placementId });
    const moved = await t.db.storagePlacement.findFirstOrThrow({ where: { planId: plan.id, sellerId: leaves.id } });
    expect(moved.status).toBe('MOVED');
    expect((await t.db.contract.findUniqueOrThrow({ where: { id: moved.contractId } })).state).toBe('SETTLED');
    // it was challenged once and passed: paid in full for what it served
    const amounts = fillAmounts(1, CREDIT, BPS);
    expect(await balance(leaves)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('refuses every seller’s-word settlement of a storage contract', async () => {
    const { sellers, buyer, plan } = await stored(1, 2);
    const contractId = plan.shards[0]!.copies[0]!.contract!.id;
    const seller = sellers.find((s) => s.id === plan.shards[0]!.copies[0]!.seller.id)!;
    await rejects(seller.caller.contract.reportDelivered({ contractId }), 'PRECONDITION_FAILED', /pays from measured delivery/);
    // nothing was reported delivered, so there is nothing the buyer could sign off either
    await expect(buyer.caller.contract.signOff({ contractId })).rejects.toThrow(/Only a delivered contract/);
    expect((await buyer.caller.contract.get({ contractId })).state).toBe('MATCHED');
  });

  it('refuses oversized shards, missing challenges and too few lenders, holding nothing', async () => {
    await lender();
    const buyer = await member('buyer');
    const prepared = prepare(1, 2);
    const base = { communityId, deviceId: buyer.deviceId, name: 'big', meta: {}, replicas: 2, periodSeconds: PERIOD_S, periods: PERIODS, maxPrice: 2 * CREDIT };
    await rejects(buyer.caller.storage.store({ ...base, shards: [{ index: 0, sizeBytes: MAX_SHARD_BYTES + 1, sha256: prepared.shards[0]!.sha256 }], challenges: prepared.challenges }), 'BAD_REQUEST', /at most 16 MiB/);
    await rejects(buyer.caller.storage.store({ ...base, shards: prepared.shards, challenges: prepared.challenges.slice(0, 3) }), 'BAD_REQUEST', /needs 16 prepared challenges/);
    await rejects(buyer.caller.storage.store({ ...base, replicas: 5, shards: prepared.shards, challenges: prepare(1, 5).challenges }), 'PRECONDITION_FAILED', /needs 5 members lending room/);
    expect(await balance(buyer)).toEqual({ available: GRANT, escrow: 0 });
  });
});
