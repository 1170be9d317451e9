/**
 * Storage plans: a member's encrypted file or folder kept as shards on other members' devices. The
 * coordinator records sizes, hashes, the buyer's prepared challenges and who keeps which copy; the bytes
 * travel device to device over WebRTC and never reach it.
 */
import { randomInt } from 'node:crypto';
import { DomainError } from '../errors';
import type { Db, Prisma, Queryable } from '../db/client';
import { newId } from '../db/ids';
import { toMicro } from '../money';
import { withOutbox, type Outbox } from '../live/outbox';
import type { MarketCommunity } from '../market/fills';
import {
  challengeProblem, challengeSchedule, challengesNeeded, mbHours, placeShards, shardProblem,
  type PreparedChallenge, type ShardSpec,
} from './domain';
import { buyRoom, lendingAsks, lockStorageBook } from './market';
import { contractRoom } from './from-contract';

export type CreatePlanInput = {
  deviceId: string;
  name: string;
  meta: Record<string, unknown>;
  replicas: number;
  periodSeconds: number;
  periods: number;
  /** the most the buyer pays per MB-hour, micro-credits */
  maxPrice: number;
  shards: ShardSpec[];
  challenges: PreparedChallenge[];
  /** keep it under a STORAGE contract the member already holds (a barter's storage leg) instead of buying room */
  contractId?: string;
};

/** A uniform draw in [0, 1) from the system's cryptographic source: sellers cannot predict when a challenge comes. */
export const secureRandom = () => randomInt(0, 2 ** 47) / 2 ** 47;

export const LIVE_COPY = ['PENDING', 'STORED', 'MOVING'] as const;

/**
 * Creates a plan: checks the shards and the prepared challenges, puts each shard on `replicas` lending devices of
 * distinct members, buys each seller's room through the STORAGE book (one contract per seller, its escrow the
 * price of the MB-hours it keeps), and gives each copy one of its shard's challenges per period at a random time.
 * Every seller's device is told to fetch its shards from the buyer's device.
 */
export async function createPlan(db: Db, memberId: string, community: MarketCommunity, input: CreatePlanInput, now = new Date()) {
  const problem = shardProblem(input.shards) ?? challengeProblem(input.challenges, input.shards, challengesNeeded(input.periods, input.replicas));
  if (problem) throw new DomainError('BAD_INPUT', problem);
  const periodMs = input.periodSeconds * 1000;
  const windowMs = periodMs * input.periods;
  const start = now;
  const end = new Date(now.getTime() + windowMs);
  const sizeBytes = input.shards.reduce((sum, s) => sum + s.sizeBytes, 0);

  return withOutbox(db, async (tx, outbox) => {
    await lockStorageBook(tx, community.id);
    const held = input.contractId ? await contractRoom(tx, memberId, community.id, input.contractId, { start, end, sizeBytes, replicas: input.replicas }, now) : null;
    const asks = held ? [held.candidate] : await lendingAsks(tx, community.id, start, end, now);
    const placed = placeShards(input.shards, input.replicas, asks, { buyerId: memberId, windowMs, maxPrice: held ? 0 : input.maxPrice });
    if (!placed.ok) throw new DomainError('PRECONDITION', placed.reason);

    const plan = await tx.storagePlan.create({
      data: {
        communityId: community.id, memberId, deviceId: input.deviceId, name: input.name, sizeBytes, meta: input.meta as object,
        replicas: input.replicas, periodMs, periods: input.periods, windowStart: start, windowEnd: end, maxPrice: BigInt(input.maxPrice),
      },
      select: { id: true },
    });
    const shardIds = new Map(input.shards.map((s) => [s.index, newId()]));
    await tx.storageShard.createMany({ data: input.shards.map((s) => ({ id: shardIds.get(s.index)!, planId: plan.id, index: s.index, sizeBytes: s.sizeBytes, sha256: s.sha256 })) });

    const contractOf = new Map<string, string>();
    for (const [orderId, seller] of placed.bySeller) {
      if (held) {
        contractOf.set(orderId, held.contractId);
        continue;
      }
      contractOf.set(orderId, await buyRoom(tx, community, { memberId, deviceId: input.deviceId }, seller.candidate, seller.quantity, { start, end }, outbox, now));
    }

    // each copy takes one prepared challenge of its shard per period; the rest stay for repairs
    const pool = new Map<number, PreparedChallenge[]>();
    for (const c of input.challenges) pool.set(c.shardIndex, [...(pool.get(c.shardIndex) ?? []), c]);
    const challengeRows: Prisma.StorageChallengeCreateManyInput[] = [];
    const placementRows: Prisma.StoragePlacementCreateManyInput[] = [];
    for (const p of placed.placements) {
      const id = newId();
      const shardId = shardIds.get(p.shardIndex)!;
      placementRows.push({
        id, planId: plan.id, shardId, deviceId: p.candidate.deviceId, sellerId: p.candidate.memberId, contractId: contractOf.get(p.candidate.orderId)!,
        status: 'PENDING', sourceDeviceId: input.deviceId, fromPeriod: 0, toPeriod: input.periods,
      });
      const slots = challengeSchedule({ startMs: start.getTime(), periodMs }, 0, input.periods, secureRandom);
      const mine = pool.get(p.shardIndex)!.splice(0, slots.length);
      slots.forEach((slot, i) => {
        const c = mine[i]!;
        challengeRows.push({
          planId: plan.id, shardId, offset: c.offset, length: c.length, nonce: c.nonce, expected: c.expected, status: 'SCHEDULED',
          placementId: id, deviceId: p.candidate.deviceId, period: slot.period, dueAt: new Date(slot.dueAt), closesAt: new Date(slot.closesAt),
        });
      });
    }
    for (const [shardIndex, rest] of pool) {
      for (const c of rest) challengeRows.push({ planId: plan.id, shardId: shardIds.get(shardIndex)!, offset: c.offset, length: c.length, nonce: c.nonce, expected: c.expected });
    }
    await tx.storagePlacement.createMany({ data: placementRows });
    await tx.storageChallenge.createMany({ data: challengeRows });
    announce(outbox, [memberId, ...placementRows.map((p) => p.sellerId)], plan.id, 'placement');
    return planView(tx, memberId, plan.id, now);
  });
}

export function announce(outbox: Outbox, memberIds: string[], planId: string, what: 'challenge' | 'placement' | 'plan') {
  outbox.add(memberIds, { type: 'storage', planId, what });
}

/** The quantity a repair buys: the shard's MiB for the hours left in the window. */
export const repairQuantity = (shardBytes: number, plan: { windowEnd: Date }, now: Date) => mbHours(shardBytes, plan.windowEnd.getTime() - now.getTime());

// ---- what the buyer sees ----------------------------------------------------------------------------------

/** One of the member's plans: its shards, who keeps each copy, and the proofs so far. NOT_FOUND for anyone else. */
export async function planView(db: Queryable, memberId: string, planId: string, now = new Date()) {
  const plan = await db.storagePlan.findUnique({
    where: { id: planId },
    select: {
      id: true, memberId: true, communityId: true, deviceId: true, name: true, sizeBytes: true, meta: true, replicas: true, periodMs: true, periods: true,
      windowStart: true, windowEnd: true, maxPrice: true, status: true, createdAt: true,
      shards: { select: { id: true, index: true, sizeBytes: true, sha256: true }, orderBy: { index: 'asc' } },
    },
  });
  if (!plan || plan.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You have no stored file with that id.');
  const placements = await db.storagePlacement.findMany({
    where: { planId },
    select: { id: true, shardId: true, deviceId: true, sellerId: true, contractId: true, status: true, repair: true, repairNote: true, fromPeriod: true, toPeriod: true, createdAt: true },
    orderBy: { createdAt: 'asc' },
  });
  const counts = await db.storageChallenge.groupBy({ by: ['placementId', 'status'], where: { planId, placementId: { not: null } }, _count: true });
  const count = (placementId: string, status: string) => counts.find((c) => c.placementId === placementId && c.status === status)?._count ?? 0;
  const sellers = new Map((await db.member.findMany({ where: { id: { in: [...new Set(placements.map((p) => p.sellerId))] } }, select: { id: true, handle: true } })).map((m) => [m.id, m.handle]));
  const contracts = new Map((await db.contract.findMany({ where: { id: { in: [...new Set(placements.map((p) => p.contractId))] } }, select: { id: true, state: true, quantity: true, price: true, escrowed: true } })).map((c) => [c.id, c]));
  const online = new Set((await db.presence.findMany({ where: { deviceId: { in: placements.map((p) => p.deviceId) }, lastSeen: { gt: new Date(now.getTime() - 30_000) } }, select: { deviceId: true } })).map((p) => p.deviceId));
  return {
    id: plan.id,
    communityId: plan.communityId,
    deviceId: plan.deviceId,
    name: plan.name,
    sizeBytes: plan.sizeBytes,
    meta: plan.meta as Record<string, unknown>,
    replicas: plan.replicas,
    periodSeconds: plan.periodMs / 1000,
    periods: plan.periods,
    windowStart: plan.windowStart.toISOString(),
    windowEnd: plan.windowEnd.toISOString(),
    maxPrice: toMicro(plan.maxPrice),
    status: plan.status,
    createdAt: plan.createdAt.toISOString(),
    shards: plan.shards.map((s) => ({
      id: s.id,
      index: s.index,
      sizeBytes: s.sizeBytes,
      sha256: s.sha256,
      copies: placements
        .filter((p) => p.shardId === s.id)
        .map((p) => {
          const contract = contracts.get(p.contractId);
          return {
            placementId: p.id,
            deviceId: p.deviceId,
            seller: { id: p.sellerId, handle: sellers.get(p.sellerId) ?? '' },
            status: p.status,
            online: online.has(p.deviceId),
            repair: p.repair,
            repairNote: p.repairNote,
            fromPeriod: p.fromPeriod,
            toPeriod: p.toPeriod,
            passed: count(p.id, 'PASSED'),
            failed: count(p.id, 'FAILED') + count(p.id, 'MISSED'),
            contract: contract ? { id: contract.id, state: contract.state, quantity: contract.quantity, price: toMicro(contract.price) } : null,
          };
        }),
    })),
  };
}

export async function memberPlans(db: Queryable, memberId: string, now = new Date()) {
  const rows = await db.storagePlan.findMany({ where: { memberId }, orderBy: { createdAt: 'desc' }, take: 50, select: { id: true } });
  return Promise.all(rows.map((r) => planView(db, memberId, r.id, now)));
}

export async function memberCommunity(db: Db, memberId: string, communityId: string): Promise<MarketCommunity> {
  const m = await db.membership.findUnique({ where: { memberId_communityId: { memberId, communityId } }, select: { community: { select: { id: true, commissionBps: true, creditLimit: true } } } });
  if (!m) throw new DomainError('FORBIDDEN', 'You are not a member of this community: join it first.');
  return { ...m.community, creditLimit: toMicro(m.community.creditLimit) };
}
