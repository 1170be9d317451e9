/** A device's side of storage: lending room, what it keeps and must answer, whom it may serve, stopping. */
import { DomainError } from '../errors';
import type { Db, Queryable } from '../db/client';
import { toMicro } from '../money';
import { withOutbox } from '../live/outbox';
import { cancelOrder, placeOrder } from '../market/book-writer';
import type { MarketCommunity } from '../market/fills';
import { MIB } from './domain';
import { STORAGE_CATEGORY, STORAGE_UNIT } from './market';
import { announce } from './plans';
import { repairWanted } from './proofs';

/** Offers room on a device: a standing STORAGE ask of `mb` MiB for `hours` at `price` micro-credits per MB-hour. */
export async function lend(db: Db, memberId: string, community: MarketCommunity, input: { deviceId: string; mb: number; hours: number; price: number }, now = new Date()) {
  const quantity = input.mb * input.hours;
  const result = await placeOrder(db, memberId, community, {
    communityId: community.id, side: 'SELL', category: STORAGE_CATEGORY, unit: STORAGE_UNIT, quantity, price: input.price,
    windowStart: new Date(now.getTime() - 60_000).toISOString(), windowEnd: new Date(now.getTime() + input.hours * 3_600_000).toISOString(),
    kind: 'STANDING', deviceId: input.deviceId, constraints: {}, negotiation: { mode: 'NONE', limit: null },
  }, now);
  return { orderId: result.order.id, remaining: result.order.remaining };
}

/**
 * Stops lending from a device: its open STORAGE asks are cancelled, and the copies it keeps are moved first —
 * each is copied from it onto another lender, and only then released (paid for the periods it proved).
 * Copies still arriving are given to another lender at once.
 */
export async function stopLending(db: Db, memberId: string, deviceId: string, now = new Date()) {
  const asks = await db.order.findMany({ where: { memberId, deviceId, side: 'SELL', category: STORAGE_CATEGORY, status: 'OPEN' }, select: { id: true, communityId: true, category: true } });
  for (const ask of asks) {
    await cancelOrder(db, memberId, ask).catch((error: unknown) => {
      if (!(error instanceof DomainError && error.kind === 'CONFLICT')) throw error;
    });
  }
  const moving = await withOutbox(db, async (tx, outbox) => {
    const stored = await tx.storagePlacement.updateMany({ where: { deviceId, sellerId: memberId, status: 'STORED' }, data: { status: 'MOVING', repair: 'WANTED' } });
    const pending = await tx.storagePlacement.findMany({ where: { deviceId, sellerId: memberId, status: 'PENDING' }, select: { id: true } });
    if (pending.length) {
      await tx.storagePlacement.updateMany({ where: { id: { in: pending.map((p) => p.id) }, status: 'PENDING' }, data: { status: 'MOVED', repair: 'WANTED', endedAt: now } });
      await tx.storageChallenge.updateMany({ where: { placementId: { in: pending.map((p) => p.id) }, status: { in: ['SCHEDULED', 'ISSUED'] } }, data: { status: 'UNUSED', placementId: null, deviceId: null, period: null, dueAt: null, closesAt: null } });
    }
    const plans = await tx.storagePlacement.findMany({ where: { deviceId, status: { in: ['MOVING', 'MOVED'] }, repair: 'WANTED' }, select: { planId: true } });
    for (const planId of new Set(plans.map((p) => p.planId))) announce(outbox, [memberId, (await tx.storagePlan.findUniqueOrThrow({ where: { id: planId }, select: { memberId: true } })).memberId], planId, 'placement');
    return stored.count + pending.length;
  });
  await repairWanted(db, now);
  return { asksCancelled: asks.length, copiesMoving: moving };
}

/**
 * What a device has to do: challenges to answer now, copies to fetch (from which device), copies it keeps,
 * copies it must serve to another device, and copies it may delete.
 */
export async function deviceWork(db: Queryable, deviceId: string) {
  const [challenges, mine, serving] = await Promise.all([
    db.storageChallenge.findMany({ where: { deviceId, status: 'ISSUED' }, select: { id: true, shardId: true, offset: true, length: true, nonce: true, deadline: true }, take: 500 }),
    db.storagePlacement.findMany({ where: { deviceId }, select: { id: true, shardId: true, status: true, sourceDeviceId: true, planId: true }, orderBy: { createdAt: 'desc' }, take: 1_000 }),
    db.storagePlacement.findMany({ where: { sourceDeviceId: deviceId, status: 'PENDING' }, select: { id: true, shardId: true, deviceId: true }, take: 500 }),
  ]);
  const shards = new Map((await db.storageShard.findMany({ where: { id: { in: [...new Set(mine.map((p) => p.shardId))] } }, select: { id: true, sizeBytes: true, sha256: true } })).map((s) => [s.id, s]));
  const live = new Set(mine.filter((p) => ['PENDING', 'STORED', 'MOVING'].includes(p.status)).map((p) => p.shardId));
  return {
    challenges: challenges.map((c) => ({ id: c.id, shardId: c.shardId, offset: c.offset, length: c.length, nonce: c.nonce, deadline: c.deadline!.toISOString() })),
    incoming: mine.filter((p) => p.status === 'PENDING').map((p) => ({ placementId: p.id, shardId: p.shardId, sizeBytes: shards.get(p.shardId)!.sizeBytes, sha256: shards.get(p.shardId)!.sha256, sourceDeviceId: p.sourceDeviceId })),
    keeping: mine.filter((p) => p.status === 'STORED' || p.status === 'MOVING').map((p) => ({ placementId: p.id, shardId: p.shardId, sizeBytes: shards.get(p.shardId)!.sizeBytes, status: p.status })),
    serving: serving.map((p) => ({ placementId: p.id, shardId: p.shardId, toDeviceId: p.deviceId })),
    release: [...new Set(mine.filter((p) => !live.has(p.shardId)).map((p) => p.shardId))],
  };
}

/**
 * Whether `holderDeviceId` may send its copy of a shard to `toDeviceId` (asked by the holder before it sends):
 * to a device given a copy to fetch from it, or to any device of the buyer while the holder keeps a stored copy.
 */
export async function mayServe(db: Queryable, holderDeviceId: string, input: { shardId: string; toDeviceId: string }) {
  const shard = await db.storageShard.findUnique({ where: { id: input.shardId }, select: { id: true, sizeBytes: true, sha256: true, plan: { select: { memberId: true, deviceId: true } } } });
  if (!shard) throw new DomainError('NOT_FOUND', 'No such shard.');
  const asked = await db.storagePlacement.count({ where: { shardId: shard.id, deviceId: input.toDeviceId, sourceDeviceId: holderDeviceId, status: 'PENDING' } });
  if (asked) return { sizeBytes: shard.sizeBytes, sha256: shard.sha256 };
  const keeps = await db.storagePlacement.count({ where: { shardId: shard.id, deviceId: holderDeviceId, status: { in: ['STORED', 'MOVING'] } } });
  const buyerDevice = await db.device.count({ where: { id: input.toDeviceId, memberId: shard.plan.memberId } });
  if (keeps && buyerDevice) return { sizeBytes: shard.sizeBytes, sha256: shard.sha256 };
  throw new DomainError('FORBIDDEN', 'That device may not have this shard from this one.');
}

/** How much room a device lends and how it has kept it. */
export async function lendingView(db: Queryable, memberId: string, deviceId: string) {
  const [asks, keeping, reliability, contracts] = await Promise.all([
    db.order.findMany({ where: { memberId, deviceId, side: 'SELL', category: STORAGE_CATEGORY, status: 'OPEN' }, select: { id: true, communityId: true, quantity: true, remaining: true, price: true, windowEnd: true } }),
    db.storagePlacement.findMany({ where: { deviceId, sellerId: memberId, status: { in: ['PENDING', 'STORED', 'MOVING'] } }, select: { id: true, shardId: true, status: true } }),
    db.storageReliability.findUnique({ where: { deviceId }, select: { passed: true, failed: true } }),
    db.storagePlacement.findMany({ where: { deviceId, sellerId: memberId }, select: { contractId: true }, distinct: ['contractId'] }),
  ]);
  const sizes = new Map((await db.storageShard.findMany({ where: { id: { in: keeping.map((k) => k.shardId) } }, select: { id: true, sizeBytes: true } })).map((s) => [s.id, s.sizeBytes]));
  const settled = await db.contract.findMany({ where: { id: { in: contracts.map((c) => c.contractId) } }, select: { state: true } });
  return {
    asks: asks.map((a) => ({ orderId: a.id, communityId: a.communityId, mbHours: a.quantity, remainingMbHours: a.remaining, price: toMicro(a.price), windowEnd: a.windowEnd.toISOString() })),
    copies: keeping.map((k) => ({ placementId: k.id, status: k.status, sizeBytes: sizes.get(k.shardId) ?? 0 })),
    keptBytes: keeping.reduce((sum, k) => sum + (sizes.get(k.shardId) ?? 0), 0),
    keptMb: Math.ceil(keeping.reduce((sum, k) => sum + (sizes.get(k.shardId) ?? 0), 0) / MIB),
    proofs: { passed: reliability?.passed ?? 0, failed: reliability?.failed ?? 0 },
    contracts: { open: settled.filter((c) => c.state === 'MATCHED' || c.state === 'ACTIVE').length, settled: settled.filter((c) => c.state === 'SETTLED').length },
  };
}
