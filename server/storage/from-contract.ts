/**
 * A plan kept under a STORAGE contract the member already holds (a barter's storage leg, or one bought on the
 * market) instead of room bought when the plan is made. Its seller's lending device keeps every shard (one copy:
 * a contract is one member's room), the contract's escrow pays for the periods its challenges prove, exactly as
 * for room bought with the plan, and a contract keeps at most one plan.
 */
import { DomainError } from '../errors';
import type { Tx } from '../db/client';
import { mbHours, type Candidate } from './domain';
import { ONLINE_WINDOW_MS } from '../content/signaling';
import { STORAGE_CATEGORY, STORAGE_UNIT } from './market';

/**
 * Checks the contract inside the plan's transaction, under the STORAGE book's lock (so that two plans racing for
 * one contract are serialized, and the second finds the first's copies): the member's own, in the community,
 * STORAGE MB-hours, matched or active, its window covering the plan's, with MB-hours enough for the plan's bytes
 * over its window, used by no other plan, and its seller lending room from a device (online ones first).
 */
export async function contractRoom(
  tx: Tx,
  memberId: string,
  communityId: string,
  contractId: string,
  plan: { start: Date; end: Date; sizeBytes: number; replicas: number },
  now: Date,
): Promise<{ contractId: string; candidate: Candidate }> {
  const contract = await tx.contract.findUnique({
    where: { id: contractId },
    select: { id: true, buyerId: true, sellerId: true, communityId: true, category: true, unit: true, quantity: true, state: true, windowStart: true, windowEnd: true, seller: { select: { handle: true } } },
  });
  if (!contract || contract.buyerId !== memberId || contract.communityId !== communityId) throw new DomainError('NOT_FOUND', 'You hold no contract with that id in this community.');
  if (contract.category !== STORAGE_CATEGORY || contract.unit !== STORAGE_UNIT) throw new DomainError('BAD_INPUT', 'Only a storage contract (MB·hours) can keep a stored file.');
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') throw new DomainError('CONFLICT', `That contract is ${contract.state.toLowerCase()}: it has no room left to use.`);
  if (plan.replicas !== 1) throw new DomainError('BAD_INPUT', `A contract is @${contract.seller.handle}'s room alone: keep 1 copy under it, or store without the contract to keep more.`);
  if (contract.windowStart.getTime() > plan.start.getTime() || contract.windowEnd.getTime() < plan.end.getTime()) {
    throw new DomainError('BAD_INPUT', `The contract's window ends ${contract.windowEnd.toISOString().slice(0, 16).replace('T', ' ')} UTC: choose fewer or shorter periods so the file is kept within it.`);
  }
  const need = mbHours(plan.sizeBytes, plan.end.getTime() - plan.start.getTime());
  if (need > contract.quantity) {
    throw new DomainError('BAD_INPUT', `Keeping this for that long takes ${need} MB·hours and the contract holds ${contract.quantity}: choose a smaller file or fewer periods.`);
  }
  const used = await tx.storagePlacement.count({ where: { contractId: contract.id } });
  if (used > 0) throw new DomainError('CONFLICT', 'Another stored file already uses that contract.');
  // the seller's lending devices: an open STORAGE ask of theirs names a device that keeps shards and answers challenges
  const asks = await tx.order.findMany({
    where: { communityId, memberId: contract.sellerId, side: 'SELL', category: STORAGE_CATEGORY, unit: STORAGE_UNIT, status: 'OPEN', deviceId: { not: null } },
    select: { id: true, deviceId: true },
    orderBy: { seq: 'asc' },
    take: 50,
  });
  const online = new Set(
    (await tx.presence.findMany({ where: { deviceId: { in: asks.map((a) => a.deviceId!) }, lastSeen: { gt: new Date(now.getTime() - ONLINE_WINDOW_MS) } }, select: { deviceId: true } })).map((p) => p.deviceId),
  );
  const ask = [...asks].sort((a, b) => Number(online.has(b.deviceId!)) - Number(online.has(a.deviceId!)))[0];
  const device = ask ? { orderId: ask.id, deviceId: ask.deviceId!, memberId: contract.sellerId, online: online.has(ask.deviceId!) } : null;
  if (!device) {
    throw new DomainError('PRECONDITION', `@${contract.seller.handle} lends room from no device right now: ask them to turn on lending (Storage) on a device, then try again.`);
  }
  return { contractId: contract.id, candidate: { ...device, price: 0, remaining: contract.quantity } };
}
