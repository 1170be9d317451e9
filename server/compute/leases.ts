import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import { toMicro } from '../money';
import { lockBook } from '../db/book-lock';
import { comparePriority, isEligible } from '../market/engine';
import { executeFill } from '../market/fills';
import { withOutbox, type Outbox } from '../live/outbox';
import { toBookOrder } from '../market/place-order';
import type { Json } from '../../workers/kernels/types';
import { jsonInput } from '../db/json';
import { earnTicket } from '../money/sweepstakes';
import { COMPUTE_CATEGORY, finishJob, hashCanonical, kernelOf, WORK_UNIT } from './jobs';
import { initialReplicas, isTrusted, judge, pickUnits, type ReplicaView, type UnitView } from './scheduler';

/** How long a donor has to return a leased unit before it goes back to the pool (COMPUTE_LEASE_TTL_MS, default 2 min). */
export const LEASE_TTL_MS = Number(process.env.COMPUTE_LEASE_TTL_MS) > 0 ? Number(process.env.COMPUTE_LEASE_TTL_MS) : 2 * 60_000;
export const MAX_LEASE_BATCH = 16;

const bookOrderSelect = {
  id: true, memberId: true, side: true, unit: true, price: true, remaining: true, locked: true, windowStart: true,
  windowEnd: true, seq: true, constraints: true, negotiationMode: true, negotiationLimit: true, device: { select: { profile: true } },
} as const;

/** One of the member's devices, already checked to be theirs (see deviceOwnerProcedure). */
type DonorDevice = { id: string; memberId: string; validResults: number; invalidResults: number };

async function unitViews(tx: Tx, jobId: string): Promise<UnitView[]> {
  const units = await tx.workUnit.findMany({
    where: { jobId, status: 'PENDING' },
    orderBy: { index: 'asc' },
    select: { id: true, index: true, status: true, requiredReplicas: true, replicas: { select: { id: true, deviceId: true, memberId: true, status: true, outputHash: true, expiresAt: true } } },
  });
  return units.map((u) => ({ ...u, replicas: u.replicas.map((r) => ({ ...r, expiresAt: r.expiresAt.getTime() })) }));
}

export type Lease = { leaseId: string; jobId: string; kernel: string; unitIndex: number; input: Json; expiresAt: string };

/**
 * Hands the device up to `max` work units of the jobs its donation can serve. Pulling work is how a
 * donation meets a job on the market: each batch fills the job's BUY against the device's standing
 * SELL at the job's price (the resting order's), creating the contract the units are paid through.
 * Jobs are served highest price first, then oldest, as an incoming SELL would take bids.
 */
/** `kernels` limits the work to those kernels (a donor that will not run members' own code, say). */
export async function leaseUnits(db: Db, device: DonorDevice, max: number, now = new Date(), kernels?: string[]): Promise<Lease[]> {
  const { id: deviceId, memberId } = device;
  const donations = await db.order.findMany({
    where: { deviceId, memberId, donation: true, status: 'OPEN', windowEnd: { gt: now } },
    select: { id: true, communityId: true, community: { select: { id: true, commissionBps: true, creditLimit: true } } },
  });
  if (donations.length === 0) {
    throw new DomainError('PRECONDITION', 'This device is not donating: switch donating on first.');
  }
  const leases: Lease[] = [];
  for (const donation of donations) {
    if (leases.length >= max) break;
    const community = { ...donation.community, creditLimit: toMicro(donation.community.creditLimit) };
    const batch = await withOutbox(db, async (tx, outbox) => {
      await lockBook(tx, community.id, COMPUTE_CATEGORY);
      const sell = toBookOrder(await tx.order.findUniqueOrThrow({ where: { id: donation.id }, select: bookOrderSelect }));
      const jobOrders = await tx.order.findMany({
        where: { communityId: community.id, category: COMPUTE_CATEGORY, unit: WORK_UNIT, side: 'BUY', status: 'OPEN', jobId: { not: null }, job: { status: 'OPEN', ...(kernels ? { kernel: { in: kernels } } : {}) }, remaining: { gt: 0 } },
        orderBy: [{ price: 'desc' }, { seq: 'asc' }],
        take: 50,
        select: { ...bookOrderSelect, jobId: true, job: { select: { kernel: true, replication: true, maxReplicas: true } } },
      });
      const taken: Lease[] = [];
      // what is left of a job's window is what a donor must cover: from now to the deadline
      const candidates = jobOrders.map((o) => {
        const book = toBookOrder(o);
        return { row: o, book: { ...book, windowStart: Math.max(book.windowStart, now.getTime()) } };
      });
      for (const row of candidates.sort((a, b) => comparePriority(a.book, b.book))) {
        const room = max - leases.length - taken.length;
        if (room <= 0) break;
        // jobs come highest price first: once one pays less than the donor's floor, so do the rest
        if (row.book.price < sell.price) break;
        if (!isEligible(row.book, sell)) continue;
        taken.push(...(await leaseFromJob(tx, community, row.row, donation.id, { deviceId, memberId, trusted: isTrusted(device.validResults, device.invalidResults) }, Math.min(room, row.book.remaining - row.book.locked), now, outbox)));
      }
      return taken;
    });
    leases.push(...batch);
  }
  return leases;
}

async function leaseFromJob(
  tx: Tx,
  community: { id: string; commissionBps: number; creditLimit: number },
  order: { id: string; price: bigint; jobId: string | null; job: { kernel: string; replication: number; maxReplicas: number } | null },
  donationOrderId: string,
  donor: { deviceId: string; memberId: string; trusted: boolean },
  max: number,
  now: Date,
  outbox: Outbox,
): Promise<Lease[]> {
  if (!order.jobId || !order.job || max <= 0) return [];
  const picked = pickUnits(await unitViews(tx, order.jobId), donor, max, now.getTime());
  if (picked.length === 0) return [];
  const { contractId } = await executeFill(tx, community, { buyOrderId: order.id, sellOrderId: donationOrderId, quantity: picked.length, price: toMicro(order.price), pricing: 'CROSS' }, outbox);
  const expiresAt = new Date(now.getTime() + LEASE_TTL_MS);
  const required = initialReplicas(order.job.replication, order.job.maxReplicas, donor.trusted);
  const leases: Lease[] = [];
  for (const unit of picked) {
    // a returned or expired lease of this device on this unit leaves no row behind (see sweepCompute)
    const replica = await tx.replica.create({
      data: { unitId: unit.id, jobId: order.jobId, contractId, deviceId: donor.deviceId, memberId: donor.memberId, expiresAt },
      select: { id: true, unit: { select: { input: true } } },
    });
    if (required > unit.requiredReplicas) await tx.workUnit.update({ where: { id: unit.id }, data: { requiredReplicas: required } });
    leases.push({ leaseId: replica.id, jobId: order.jobId, kernel: order.job.kernel, unitIndex: unit.index, input: replica.unit.input as Json, expiresAt: expiresAt.toISOString() });
  }
  return leases;
}

/**
 * Takes a donor's result for a leased unit. The output is checked against the kernel's bounds and
 * hashed in canonical form; the unit is then judged: a quorum of equal hashes validates it (dissenting
 * devices lose reliability), a disagreement plans another replica, and the job finishes with its last unit.
 */
export async function submitResult(db: Db, memberId: string, leaseId: string, output: unknown, now = new Date()) {
  const lease = await db.replica.findUnique({
    where: { id: leaseId },
    select: { id: true, memberId: true, status: true, expiresAt: true, unitId: true, jobId: true, job: { select: { kernel: true, communityId: true, quorum: true, maxReplicas: true } } },
  });
  if (!lease || lease.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You hold no lease with that id.');
  if (lease.status !== 'LEASED') throw new DomainError('CONFLICT', 'A result for this lease was already submitted.');
  if (lease.expiresAt <= now) {
    await db.replica.deleteMany({ where: { id: leaseId, status: 'LEASED' } });
    throw new DomainError('CONFLICT', 'This lease expired: the unit went back to the pool. Lease new work.');
  }
  const kernel = kernelOf(lease.job.kernel);
  const parsed = kernel.outputSchema.safeParse(output);
  if (!parsed.success) throw new DomainError('BAD_INPUT', `That is not a valid ${kernel.title} result.`);
  const outputHash = hashCanonical(kernel.canonical(parsed.data));

  return withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, lease.job.communityId, COMPUTE_CATEGORY);
    const { count } = await tx.replica.updateMany({
      where: { id: leaseId, status: 'LEASED' },
      data: { status: 'SUBMITTED', output: jsonInput(parsed.data as Json), outputHash, submittedAt: now },
    });
    if (count !== 1) {
      const still = await tx.replica.count({ where: { id: leaseId } });
      throw still
        ? new DomainError('CONFLICT', 'A result for this lease was already submitted.')
        : new DomainError('NOT_FOUND', 'This lease is no longer held: the job may have finished. Lease new work.');
    }
    const unit = await tx.workUnit.findUniqueOrThrow({
      where: { id: lease.unitId },
      select: { id: true, status: true, requiredReplicas: true, replicas: { select: { id: true, deviceId: true, memberId: true, status: true, outputHash: true, expiresAt: true, output: true } } },
    });
    if (unit.status === 'PENDING') {
      const views: ReplicaView[] = unit.replicas.map((r) => ({ ...r, expiresAt: r.expiresAt.getTime() }));
      const verdict = judge(views, unit.requiredReplicas, lease.job.quorum, lease.job.maxReplicas, now.getTime());
      if (verdict.status === 'VALIDATED') {
        const canonical = unit.replicas.find((r) => r.id === verdict.valid[0])!;
        await tx.workUnit.update({ where: { id: unit.id }, data: { status: 'VALIDATED', canonicalHash: verdict.canonicalHash, output: jsonInput(canonical.output as Json), validatedAt: now } });
        await judgeReplicas(tx, lease.job.communityId, unit.replicas, verdict.valid, verdict.invalid);
      } else if (verdict.status === 'FAILED') {
        await tx.workUnit.update({ where: { id: unit.id }, data: { status: 'FAILED' } });
        await judgeReplicas(tx, lease.job.communityId, unit.replicas, [], verdict.invalid);
      } else if (verdict.requiredReplicas !== unit.requiredReplicas) {
        await tx.workUnit.update({ where: { id: unit.id }, data: { requiredReplicas: verdict.requiredReplicas } });
      }
    } else {
      // the unit was settled before this result arrived: judge it against the canonical hash
      const canonicalHash = (await tx.workUnit.findUniqueOrThrow({ where: { id: unit.id }, select: { canonicalHash: true } })).canonicalHash;
      const agrees = unit.status === 'VALIDATED' && canonicalHash === outputHash;
      await judgeReplicas(tx, lease.job.communityId, unit.replicas.filter((r) => r.id === leaseId), agrees ? [leaseId] : [], agrees ? [] : [leaseId]);
    }
    const pending = await tx.workUnit.count({ where: { jobId: lease.jobId, status: 'PENDING' } });
    if (pending === 0) await finishJob(tx, lease.jobId, 'COMPLETED', outbox, now);
    const after = await tx.replica.findUniqueOrThrow({ where: { id: leaseId }, select: { status: true, unit: { select: { status: true } } } });
    return { leaseId, status: after.status, unitStatus: after.unit.status };
  });
}

async function judgeReplicas(tx: Tx, communityId: string, replicas: { id: string; deviceId: string; memberId: string }[], valid: string[], invalid: string[]) {
  if (valid.length) await tx.replica.updateMany({ where: { id: { in: valid } }, data: { status: 'VALID' } });
  if (invalid.length) await tx.replica.updateMany({ where: { id: { in: invalid } }, data: { status: 'INVALID' } });
  for (const r of replicas) {
    if (valid.includes(r.id)) {
      await tx.device.update({ where: { id: r.deviceId }, data: { validResults: { increment: 1 } } });
      await earnTicket(tx, communityId, r.memberId, 'COMPUTE_UNIT', r.id);
    }
    if (invalid.includes(r.id)) await tx.device.update({ where: { id: r.deviceId }, data: { invalidResults: { increment: 1 } } });
  }
}

/** Gives back every unit the device holds and has not answered (switching donation off, closing the app). */
export async function returnLeases(db: Db, device: { id: string; memberId: string }) {
  const { count } = await db.replica.deleteMany({ where: { deviceId: device.id, memberId: device.memberId, status: 'LEASED' } });
  return { returned: count };
}
