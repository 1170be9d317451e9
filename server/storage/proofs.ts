/**
 * Proofs of storage and what follows from them: challenges issued to sellers' devices at their random times,
 * answers checked against the hashes the buyer prepared, a failed or missed challenge losing that copy (and
 * the seller's reliability) and repairing the shard onto another seller from a surviving copy, copies moved
 * off a device that stops lending, and every contract paid pro rata to the periods its copies proved.
 */
import { timingSafeEqual } from 'node:crypto';
import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import { withOutbox, type Outbox } from '../live/outbox';
import { settleFromProofIn } from '../delivery/proof';
import { marketCommunity } from '../market/fills';
import { answerWindowMs, chooseRepair, periodAt, challengeSchedule } from './domain';
import { buyRoom, lendingAsks, lockStorageBook } from './market';
import { announce, LIVE_COPY, repairQuantity, secureRandom } from './plans';

const FINAL_CHALLENGE = ['PASSED', 'FAILED', 'MISSED'];

async function bumpReliability(tx: Tx, deviceId: string, passed: boolean, now: Date) {
  // one statement on both databases: concurrent first answers of a device never collide on its row
  if (passed) {
    await tx.$executeRaw`INSERT INTO "StorageReliability" ("deviceId", "passed", "failed", "updatedAt") VALUES (${deviceId}, 1, 0, ${now})
      ON CONFLICT ("deviceId") DO UPDATE SET "passed" = "StorageReliability"."passed" + 1, "updatedAt" = ${now}`;
  } else {
    await tx.$executeRaw`INSERT INTO "StorageReliability" ("deviceId", "passed", "failed", "updatedAt") VALUES (${deviceId}, 0, 1, ${now})
      ON CONFLICT ("deviceId") DO UPDATE SET "failed" = "StorageReliability"."failed" + 1, "updatedAt" = ${now}`;
  }
}

async function partiesOf(tx: Tx, planId: string) {
  const plan = await tx.storagePlan.findUniqueOrThrow({ where: { id: planId }, select: { memberId: true } });
  return plan.memberId;
}

// ---- answers ----------------------------------------------------------------------------------------------

/**
 * A seller's device answers a challenge it was sent (the router checked the device is the member's): the
 * SHA-256 of the challenge's nonce followed by the byte range of its copy. Right: that period of the copy is
 * proven. Wrong: the copy is lost, the device's reliability drops and the shard is repaired elsewhere.
 * Refused, with nothing recorded or paid: a shard the device keeps no copy of, a challenge it was not sent or
 * that another device was sent, an answer after the time ran out, a second answer.
 */
export async function answerChallenge(db: Db, input: { deviceId: string; challengeId: string; shardId: string; proof: string }, now = new Date()) {
  const holds = await db.storagePlacement.count({ where: { deviceId: input.deviceId, shardId: input.shardId, status: { in: ['STORED', 'MOVING'] } } });
  if (!holds) throw new DomainError('FORBIDDEN', 'This device keeps no copy of that shard, so it cannot answer for it.');
  const challenge = await db.storageChallenge.findUnique({ where: { id: input.challengeId } });
  if (!challenge || challenge.shardId !== input.shardId || challenge.status === 'UNUSED' || challenge.status === 'SCHEDULED' || challenge.status === 'VOID') {
    throw new DomainError('NOT_FOUND', 'This device was sent no such challenge for that shard.');
  }
  if (challenge.deviceId !== input.deviceId) throw new DomainError('FORBIDDEN', 'This challenge was sent to another device: only that device can answer it.');
  if (challenge.status === 'PASSED' || challenge.status === 'FAILED') throw new DomainError('CONFLICT', 'This challenge was already answered: an answer counts once.');
  if (challenge.status === 'MISSED' || (challenge.deadline && challenge.deadline <= now)) {
    if (challenge.status === 'ISSUED') await missChallenge(db, challenge.id, now);
    throw new DomainError('PRECONDITION', 'The time to answer this challenge ran out: that period is not paid.');
  }
  const passed = sameHex(input.proof, challenge.expected);
  const result = await withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.storageChallenge.updateMany({
      where: { id: challenge.id, status: 'ISSUED', deviceId: input.deviceId },
      data: { status: passed ? 'PASSED' : 'FAILED', answeredAt: now },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'This challenge was already answered: an answer counts once.');
    await bumpReliability(tx, input.deviceId, passed, now);
    if (!passed && challenge.placementId) await loseCopy(tx, challenge.placementId, outbox, now);
    announce(outbox, [await partiesOf(tx, challenge.planId)], challenge.planId, 'plan');
    return { passed, period: challenge.period };
  });
  if (!passed) await repairWanted(db, now);
  return result;
}

function sameHex(a: string, b: string) {
  const x = Buffer.from(a.toLowerCase(), 'utf8');
  const y = Buffer.from(b.toLowerCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Periods a new copy may take to arrive before its unissued challenges count as missed. */
export const ARRIVAL_GRACE_PERIODS = 2;

/**
 * Marks one challenge missed (not answered in time, or its copy never arrived before its period closed). A copy
 * still arriving within its grace is not failed for it: that challenge is void (neither paid nor counted).
 */
async function missChallenge(db: Db, challengeId: string, now: Date): Promise<boolean> {
  return withOutbox(db, async (tx, outbox) => {
    const c = await tx.storageChallenge.findUniqueOrThrow({ where: { id: challengeId } });
    if (c.status === 'SCHEDULED' && c.placementId) {
      const copy = await tx.storagePlacement.findUniqueOrThrow({ where: { id: c.placementId }, select: { status: true, createdAt: true, planId: true } });
      const plan = await tx.storagePlan.findUniqueOrThrow({ where: { id: copy.planId }, select: { periodMs: true } });
      if (copy.status === 'PENDING' && now.getTime() - copy.createdAt.getTime() < ARRIVAL_GRACE_PERIODS * plan.periodMs) {
        await tx.storageChallenge.updateMany({ where: { id: c.id, status: 'SCHEDULED' }, data: { status: 'VOID' } });
        return false;
      }
    }
    const { count } = await tx.storageChallenge.updateMany({ where: { id: c.id, status: { in: ['ISSUED', 'SCHEDULED'] } }, data: { status: 'MISSED' } });
    if (count !== 1) return false;
    if (c.deviceId) await bumpReliability(tx, c.deviceId, false, now);
    if (c.placementId) await loseCopy(tx, c.placementId, outbox, now);
    announce(outbox, [await partiesOf(tx, c.planId)], c.planId, 'plan');
    return true;
  });
}

// ---- copies lost, moved, stored -------------------------------------------------------------------------

/** A copy that failed: it is lost (its later challenges go back to the shard's pool), a repair is wanted. */
async function loseCopy(tx: Tx, placementId: string, outbox: Outbox, now: Date) {
  const { count } = await tx.storagePlacement.updateMany({ where: { id: placementId, status: { in: [...LIVE_COPY] } }, data: { status: 'LOST', endedAt: now } });
  if (count !== 1) return;
  await tx.storagePlacement.updateMany({ where: { id: placementId, repair: 'NONE' }, data: { repair: 'WANTED' } });
  await tx.storageChallenge.updateMany({
    where: { placementId, status: 'SCHEDULED' },
    data: { status: 'UNUSED', placementId: null, deviceId: null, period: null, dueAt: null, closesAt: null },
  });
  const p = await tx.storagePlacement.findUniqueOrThrow({ where: { id: placementId }, select: { contractId: true, sellerId: true, planId: true } });
  announce(outbox, [p.sellerId], p.planId, 'placement');
  await settleIfDone(tx, p.contractId, outbox, now);
}

/** A copy moved off a device that stopped lending, once its replacement is stored: paid for the periods it proved. */
async function finishMove(tx: Tx, placementId: string, outbox: Outbox, now: Date) {
  const { count } = await tx.storagePlacement.updateMany({ where: { id: placementId, status: 'MOVING' }, data: { status: 'MOVED', endedAt: now } });
  if (count !== 1) return;
  await tx.storageChallenge.updateMany({ where: { placementId, status: 'ISSUED' }, data: { status: 'VOID' } });
  await tx.storageChallenge.updateMany({
    where: { placementId, status: 'SCHEDULED' },
    data: { status: 'UNUSED', placementId: null, deviceId: null, period: null, dueAt: null, closesAt: null },
  });
  const p = await tx.storagePlacement.findUniqueOrThrow({ where: { id: placementId }, select: { contractId: true, sellerId: true, planId: true } });
  announce(outbox, [p.sellerId], p.planId, 'placement');
  await settleIfDone(tx, p.contractId, outbox, now);
}

/**
 * What a contract's copies proved: a lost copy answers for every period it was bought for (the ones after the
 * loss unpaid); a moved or ended copy for the periods whose challenge was decided; the part is the passed ones.
 */
export async function provenOf(tx: Tx, contractId: string) {
  const copies = await tx.storagePlacement.findMany({ where: { contractId }, select: { id: true, status: true, fromPeriod: true, toPeriod: true } });
  const counts = await tx.storageChallenge.groupBy({ by: ['placementId', 'status'], where: { placementId: { in: copies.map((c) => c.id) }, status: { in: FINAL_CHALLENGE } }, _count: true });
  let part = 0;
  let whole = 0;
  for (const c of copies) {
    const of = (status: string) => counts.find((x) => x.placementId === c.id && x.status === status)?._count ?? 0;
    const decided = of('PASSED') + of('FAILED') + of('MISSED');
    part += of('PASSED');
    whole += c.status === 'LOST' ? Math.max(c.toPeriod - c.fromPeriod, decided) : decided;
  }
  return { part, whole };
}

/** Settles a contract once none of its copies is live any more, pro rata to what they proved (nothing proven: refunded). */
async function settleIfDone(tx: Tx, contractId: string, outbox: Outbox, now: Date) {
  const live = await tx.storagePlacement.count({ where: { contractId, status: { in: [...LIVE_COPY] } } });
  if (live > 0) return;
  const contract = await tx.contract.findUniqueOrThrow({ where: { id: contractId }, select: { state: true } });
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') return;
  const proven = await provenOf(tx, contractId);
  const share = proven.whole > 0 ? proven : { part: 0, whole: 1 };
  await settleFromProofIn(tx, contractId, share, `${share.part} of ${share.whole} storage periods proven by challenges`, outbox, now);
}

/**
 * The seller's device verified a copy's SHA-256 and keeps it: challenges may now reach it. A copy that replaces
 * one moved off a device that stopped lending completes that move.
 */
export async function confirmStored(db: Db, input: { deviceId: string; placementId: string }, now = new Date()) {
  const p = await db.storagePlacement.findUnique({ where: { id: input.placementId }, select: { id: true, deviceId: true, status: true, replacesId: true, planId: true, sellerId: true } });
  if (!p || p.deviceId !== input.deviceId) throw new DomainError('NOT_FOUND', 'This device is not asked to keep that copy.');
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.storagePlacement.updateMany({ where: { id: p.id, status: 'PENDING' }, data: { status: 'STORED', storedAt: now } });
    if (count !== 1) {
      const { status } = await tx.storagePlacement.findUniqueOrThrow({ where: { id: p.id }, select: { status: true } });
      throw status === 'STORED' || status === 'MOVING'
        ? new DomainError('CONFLICT', 'This copy is already confirmed.')
        : new DomainError('PRECONDITION', 'This copy was given to another device meanwhile: you may delete it.');
    }
    if (p.replacesId) await finishMove(tx, p.replacesId, outbox, now);
    announce(outbox, [await partiesOf(tx, p.planId), p.sellerId], p.planId, 'placement');
    return { placementId: p.id, status: 'STORED' as const };
  });
}

// ---- repair -------------------------------------------------------------------------------------------------

/** Repairs every copy waiting for a replacement (a few at a time); one that cannot be placed now says why and waits. */
export async function repairWanted(db: Db, now = new Date()): Promise<number> {
  const wanted = await db.storagePlacement.findMany({ where: { repair: 'WANTED' }, select: { id: true }, orderBy: { endedAt: 'asc' }, take: 50 });
  let repaired = 0;
  for (const w of wanted) {
    try {
      if (await repairCopy(db, w.id, now)) repaired++;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      await db.storagePlacement.updateMany({ where: { id: w.id, repair: 'WANTED' }, data: { repairNote: error.message } });
    }
  }
  return repaired;
}

/**
 * Places a lost or moving copy's shard on another lending device, bought for the rest of the window, copied
 * from a surviving copy (or, while the first upload runs, from the buyer's device). Exactly once: the repair is
 * claimed by a conditional write first.
 */
async function repairCopy(db: Db, placementId: string, now: Date): Promise<boolean> {
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.storagePlacement.updateMany({ where: { id: placementId, repair: 'WANTED' }, data: { repair: 'DONE', repairNote: null } });
    if (count !== 1) return false;
    const lost = await tx.storagePlacement.findUniqueOrThrow({ where: { id: placementId } });
    const plan = await tx.storagePlan.findUniqueOrThrow({ where: { id: lost.planId } });
    const shard = await tx.storageShard.findUniqueOrThrow({ where: { id: lost.shardId } });
    if (plan.status !== 'ACTIVE') return false;
    const fromPeriod = Math.max(0, periodAt({ startMs: plan.windowStart.getTime(), periodMs: plan.periodMs }, now.getTime()) + 1);
    if (fromPeriod >= plan.periods) return false; // the window ends before another copy could prove anything
    const copies = await tx.storagePlacement.findMany({ where: { shardId: shard.id, status: { in: [...LIVE_COPY] } }, select: { deviceId: true, sellerId: true, status: true } });
    const source =
      (lost.status === 'MOVING' ? lost.deviceId : null) ??
      copies.find((c) => c.status === 'STORED' || c.status === 'MOVING')?.deviceId ??
      (lost.sourceDeviceId === plan.deviceId ? plan.deviceId : null);
    if (!source) throw new DomainError('PRECONDITION', 'No stored copy of this shard is left to repair from.');
    await lockStorageBook(tx, plan.communityId);
    const asks = await lendingAsks(tx, plan.communityId, now, plan.windowEnd, now);
    const pick = chooseRepair(shard, asks, {
      buyerId: plan.memberId, windowMs: plan.windowEnd.getTime() - now.getTime(), maxPrice: Number(plan.maxPrice),
      holders: copies.map((c) => c.sellerId), excluded: [lost.sellerId],
    });
    if (!pick) throw new DomainError('PRECONDITION', 'No other member lends room for this shard at or below your price now; it is tried again every few seconds.');
    const community = await marketCommunity(tx, plan.communityId);
    const contractId = await buyRoom(tx, community, { memberId: plan.memberId, deviceId: plan.deviceId }, pick, repairQuantity(shard.sizeBytes, plan, now), { start: now, end: plan.windowEnd }, outbox, now);
    const copy = await tx.storagePlacement.create({
      data: {
        planId: plan.id, shardId: shard.id, deviceId: pick.deviceId, sellerId: pick.memberId, contractId, status: 'PENDING',
        sourceDeviceId: source, fromPeriod, toPeriod: plan.periods, replacesId: lost.id,
      },
      select: { id: true },
    });
    await scheduleChallenges(tx, { ...plan, shardId: shard.id }, copy.id, pick.deviceId, fromPeriod);
    announce(outbox, [plan.memberId, pick.memberId, lost.sellerId, ...copies.map((c) => c.sellerId)], plan.id, 'placement');
    return true;
  });
}

/** Gives a new copy one unused challenge of its shard for each period from `fromPeriod` on (as many as are left). */
async function scheduleChallenges(tx: Tx, plan: { id: string; shardId: string; windowStart: Date; periodMs: number; periods: number }, placementId: string, deviceId: string, fromPeriod: number) {
  const slots = challengeSchedule({ startMs: plan.windowStart.getTime(), periodMs: plan.periodMs }, fromPeriod, plan.periods, secureRandom);
  const unused = await tx.storageChallenge.findMany({ where: { shardId: plan.shardId, status: 'UNUSED' }, select: { id: true }, take: slots.length, orderBy: { id: 'asc' } });
  for (let i = 0; i < unused.length; i++) {
    const slot = slots[i]!;
    const { count } = await tx.storageChallenge.updateMany({
      where: { id: unused[i]!.id, status: 'UNUSED' },
      data: { status: 'SCHEDULED', placementId, deviceId, period: slot.period, dueAt: new Date(slot.dueAt), closesAt: new Date(slot.closesAt) },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'Another repair of this shard ran at the same time: it is tried again in a moment.');
  }
}

// ---- the sweep --------------------------------------------------------------------------------------------

/**
 * The coordinator's timed storage work, run by the sweeper (before the market's, which would fail these
 * contracts at their window's end) and by tests with a chosen `now`: challenges missed are marked and their
 * copies lost; due challenges go out to the devices keeping stored copies; wanted repairs are placed; plans
 * whose window ended settle every contract pro rata. Safe to run in several processes at once.
 */
export async function sweepStorage(db: Db, now = new Date()) {
  const counts = { challengesMissed: 0, challengesIssued: 0, copiesRepaired: 0, plansEnded: 0 };

  const late = await db.storageChallenge.findMany({
    where: { OR: [{ status: 'ISSUED', deadline: { lte: now } }, { status: 'SCHEDULED', closesAt: { lte: now } }] },
    select: { id: true },
    take: 500,
  });
  for (const c of late) if (await missChallenge(db, c.id, now)) counts.challengesMissed++;

  const due = await db.storageChallenge.findMany({
    where: { status: 'SCHEDULED', dueAt: { lte: now }, closesAt: { gt: now } },
    select: { id: true, placementId: true, planId: true },
    take: 1_000,
  });
  if (due.length) {
    const ready = new Map((await db.storagePlacement.findMany({ where: { id: { in: due.map((d) => d.placementId!) }, status: { in: ['STORED', 'MOVING'] } }, select: { id: true, sellerId: true } })).map((p) => [p.id, p.sellerId]));
    const plans = new Map((await db.storagePlan.findMany({ where: { id: { in: [...new Set(due.map((d) => d.planId))] } }, select: { id: true, periodMs: true } })).map((p) => [p.id, p.periodMs]));
    for (const [planId, periodMs] of plans) {
      const issue = due.filter((d) => d.planId === planId && ready.has(d.placementId!));
      if (!issue.length) continue;
      counts.challengesIssued += await withOutbox(db, async (tx, outbox) => {
        // the answer window runs from when the challenge goes out, not from when this sweep began
        const issuedAt = Math.max(now.getTime(), Date.now());
        const { count } = await tx.storageChallenge.updateMany({
          where: { id: { in: issue.map((d) => d.id) }, status: 'SCHEDULED' },
          data: { status: 'ISSUED', issuedAt: new Date(issuedAt), deadline: new Date(issuedAt + answerWindowMs(periodMs)) },
        });
        announce(outbox, issue.map((d) => ready.get(d.placementId!)!), planId, 'challenge');
        return count;
      });
    }
  }

  counts.copiesRepaired = await repairWanted(db, now);

  const ended = await db.storagePlan.findMany({ where: { status: 'ACTIVE', windowEnd: { lte: now } }, select: { id: true }, take: 100 });
  for (const plan of ended) if (await endPlan(db, plan.id, now)) counts.plansEnded++;
  return counts;
}

/** Ends a plan whose window is over: its copies end, and each contract still open settles from its proofs. Once. */
async function endPlan(db: Db, planId: string, now: Date): Promise<boolean> {
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.storagePlan.updateMany({ where: { id: planId, status: 'ACTIVE' }, data: { status: 'ENDED', endedAt: now } });
    if (count !== 1) return false;
    await tx.storageChallenge.updateMany({ where: { planId, status: { in: ['ISSUED', 'SCHEDULED'] } }, data: { status: 'MISSED' } });
    await tx.storagePlacement.updateMany({ where: { planId, status: { in: [...LIVE_COPY] } }, data: { status: 'ENDED', endedAt: now } });
    await tx.storagePlacement.updateMany({ where: { planId, repair: 'WANTED' }, data: { repair: 'NONE' } });
    const placements = await tx.storagePlacement.findMany({ where: { planId }, select: { contractId: true, sellerId: true } });
    for (const contractId of new Set(placements.map((p) => p.contractId))) await settleIfDone(tx, contractId, outbox, now);
    announce(outbox, [await partiesOf(tx, planId), ...placements.map((p) => p.sellerId)], planId, 'plan');
    return true;
  });
}
