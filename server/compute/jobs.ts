import { createHash } from 'node:crypto';
import { DomainError } from '../errors';
import type { Db, Tx } from '../db/client';
import { toMicro } from '../money';
import { lockBook } from '../db/book-lock';
import { closeOrder } from '../market/lifecycle';
import { withOutbox, type Outbox } from '../live/outbox';
import { openOrder } from '../market/place-order';
import type { MarketCommunity } from '../market/fills';
import { findKernel, type AnyKernel } from '../../workers/kernels';
import type { Json } from '../../workers/kernels/types';
import { jsonInput } from '../db/json';
import { JOB_COST_MESSAGE, jobCostFits, MAX_DEADLINE_MS, MAX_UNITS, type SubmitJobInput } from './job-input';
import { settleJob } from './settle';
import { isTrusted, TRUST_STREAK, unitPhase, type UnitPhase } from './scheduler';
import { registryFor } from './writer';
import { planPlacement, writePlacement } from './placement';
import { queueResults } from './results';
import { MB_HOUR, openTerms, paysWorkUnits, planMemory, readFunding, settleTerms, termsView } from './terms';

export const COMPUTE_CATEGORY = 'COMPUTE';
export const WORK_UNIT = 'WORK_UNIT';

export const hashCanonical = (text: string) => createHash('sha256').update(text).digest('hex');

/** The kernel a job names; a job row naming no kernel is a broken invariant, not a user error. */
export function kernelOf(name: string): AnyKernel {
  const kernel = findKernel(name);
  if (!kernel) throw new DomainError('BAD_INPUT', `There is no kernel called "${name}".`);
  return kernel;
}

/**
 * A job is a BUY of COMPUTE in work units: one per replica it pays for. It asks for one replica per
 * unit more than the replication, so that disagreements can be settled by extra replicas; whatever is
 * not used is refunded when the job ends. Units may need up to replication + 2 replicas.
 */
export async function submitJob(db: Db, memberId: string, community: MarketCommunity, input: SubmitJobInput, now = new Date()) {
  const kernel = kernelOf(input.kernel);
  // code or data from content items, and where the results go (placement.ts)
  const placement = await planPlacement(db, memberId, community.id, input);
  const parsed = kernel.paramsSchema.safeParse(placement ? placement.params : input.params);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DomainError('BAD_INPUT', `Parameters for ${kernel.title}: ${issue ? `${issue.path.join('.') || 'params'} — ${issue.message}` : 'invalid'}`);
  }
  const deadline = new Date(input.deadline);
  if (deadline.getTime() <= now.getTime() + 60_000) throw new DomainError('BAD_INPUT', 'The deadline must be at least a minute away.');
  if (deadline.getTime() > now.getTime() + MAX_DEADLINE_MS) throw new DomainError('BAD_INPUT', 'The deadline can be at most a week away.');
  const inputs = kernel.split(parsed.data, input.units);
  if (inputs.length === 0) throw new DomainError('BAD_INPUT', 'These parameters give no work to do.');
  if (inputs.length > MAX_UNITS) {
    throw new DomainError('BAD_INPUT', `These parameters make ${inputs.length} work units; a job can have at most ${MAX_UNITS}.`);
  }
  // the kernel may round the units asked for: the cost is bounded again on the units it made
  if (!jobCostFits(inputs.length, input.replication, input.pricePerUnit)) throw new DomainError('BAD_INPUT', JOB_COST_MESSAGE);
  const workingSetMb = kernel.workingSetMb(parsed.data);

  return withOutbox(db, async (tx) => {
    await lockBook(tx, community.id, COMPUTE_CATEGORY);
    const funding = input.fundingContractId ? await readFunding(tx, memberId, community.id, input.fundingContractId, kernel, workingSetMb, deadline) : null;
    // a work-unit contract pays for as many units as it holds: a job cannot make the seller compute more for it
    if (funding?.unit === 'WORK_UNIT' && inputs.length > funding.quantity) {
      throw new DomainError('BAD_INPUT', `These parameters make ${inputs.length} work units, and the contract you spend holds ${funding.quantity}: ask for fewer units (${kernel.title} may round the number you ask for).`);
    }
    // a job spending a compute contract pays nothing per unit (the contract pays); one spending a memory
    // contract pays its units as usual and its memory from the contract instead of a MEMORY BUY
    const pricePerUnit = paysWorkUnits(funding?.unit) ? 0 : input.pricePerUnit;
    if (pricePerUnit === 0 && !paysWorkUnits(funding?.unit)) throw new DomainError('BAD_INPUT', 'The price must be more than zero: a memory contract pays for memory, not for the work units.');
    if (funding?.unit === MB_HOUR && input.memoryPrice) throw new DomainError('BAD_INPUT', 'This job pays its memory from your memory contract: leave the memory price out.');
    const memory = funding?.unit === MB_HOUR ? null : planMemory(kernel, parsed.data, inputs, input.replication, input.memoryPrice);
    const job = await tx.job.create({
      data: {
        communityId: community.id,
        memberId,
        title: input.title || kernel.title,
        kernel: input.kernel,
        params: jsonInput(parsed.data as Json),
        unitCount: inputs.length,
        replication: input.replication,
        quorum: input.quorum,
        maxReplicas: input.replication + 2,
        pricePerUnit: BigInt(pricePerUnit),
        deadline,
        units: { createMany: { data: inputs.map((unitInput, index) => ({ index, input: jsonInput(unitInput), requiredReplicas: input.replication })) } },
      },
      select: { id: true },
    });
    await openOrder(tx, memberId, community, {
      side: 'BUY',
      category: COMPUTE_CATEGORY,
      unit: WORK_UNIT,
      kind: 'STANDING',
      quantity: inputs.length * (input.replication + 1),
      price: pricePerUnit,
      windowStart: now,
      windowEnd: deadline,
      deviceId: null,
      constraints: {},
      negotiation: { mode: 'NONE', limit: null },
      jobId: job.id,
    }, now);
    await openTerms(tx, memberId, community, job.id, memory, funding, deadline, now);
    await writePlacement(tx, job.id, placement);
    return { jobId: job.id, units: inputs.length };
  }).then((made) => {
    registryFor(db).markJobsChanged(community.id);
    return made;
  });
}

/**
 * Ends a job inside the caller's transaction (which holds the community's compute book lock): assembles
 * its result when every unit was validated, drops the leases still out and closes its BUY so the unused
 * hold returns to the owner. Its contracts are settled afterwards, in short transactions of their own
 * (`settleJob`, settle.ts), so that a big job's settlement holds up nothing else in the community.
 * Returns whether it ended the job here (false when it had already ended).
 */
export async function finishJob(tx: Tx, jobId: string, status: 'COMPLETED' | 'EXPIRED' | 'CANCELLED', outbox: Outbox, now: Date): Promise<boolean> {
  const { count } = await tx.job.updateMany({ where: { id: jobId, status: 'OPEN' }, data: { status, completedAt: now } });
  if (count !== 1) return false;
  const job = await tx.job.findUniqueOrThrow({
    where: { id: jobId },
    select: { id: true, kernel: true, params: true, units: { orderBy: { index: 'asc' }, select: { status: true, output: true } }, orders: { where: { category: COMPUTE_CATEGORY }, select: { id: true } } },
  });
  const kernel = kernelOf(job.kernel);
  const complete = job.units.every((u) => u.status === 'VALIDATED');
  const result = complete && status === 'COMPLETED' ? kernel.assemble(job.params, job.units.map((u) => u.output as Json)) : null;
  await tx.replica.deleteMany({ where: { jobId, status: 'LEASED' } });
  for (const order of job.orders) await closeOrder(tx, order.id, status === 'COMPLETED' ? 'CANCELLED' : 'EXPIRED', null, outbox);
  if (result !== null) {
    await tx.job.update({ where: { id: jobId }, data: { result: jsonInput(result) } });
    await queueResults(tx, jobId, now, outbox);
  }
  return true;
}

/** Cancels one of the member's jobs (the router checked it is theirs); its contracts settle before it returns. */
export async function cancelJob(db: Db, job: { id: string; communityId: string; status: string }, now = new Date()) {
  if (job.status !== 'OPEN') throw new DomainError('CONFLICT', `This job is already ${job.status.toLowerCase()}.`);
  await withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, job.communityId, COMPUTE_CATEGORY);
    await finishJob(tx, job.id, 'CANCELLED', outbox, now);
  });
  registryFor(db).markJobsChanged(job.communityId);
  await settleJob(db, job.id, now);
}

/** A job with its progress; the owner also sees the result and the validated outputs so far. */
export async function jobView(db: Db, jobId: string, memberId: string, now = new Date()) {
  const job = await db.job.findUnique({
    where: { id: jobId },
    select: {
      id: true, communityId: true, memberId: true, title: true, kernel: true, params: true, unitCount: true, replication: true,
      quorum: true, pricePerUnit: true, deadline: true, status: true, result: true, createdAt: true, completedAt: true,
    },
  });
  if (!job) throw new DomainError('NOT_FOUND', 'No such job.');
  const membership = await db.membership.findUnique({ where: { memberId_communityId: { memberId, communityId: job.communityId } }, select: { role: true } });
  if (!membership) throw new DomainError('NOT_FOUND', 'No such job.');
  const [byStatus, replicas, firstValid, lastValid, awaiting, donating] = await Promise.all([
    db.workUnit.groupBy({ by: ['status'], where: { jobId }, _count: true }),
    db.replica.findMany({ where: { jobId, status: { in: ['SUBMITTED', 'VALID', 'INVALID'] } }, select: { deviceId: true, device: { select: { trustStreak: true } } } }),
    db.workUnit.findFirst({ where: { jobId, status: 'VALIDATED' }, orderBy: { validatedAt: 'asc' }, select: { validatedAt: true } }),
    db.workUnit.findFirst({ where: { jobId, status: 'VALIDATED' }, orderBy: { validatedAt: 'desc' }, select: { validatedAt: true } }),
    db.workUnit.count({ where: { jobId, status: 'PENDING', replicas: { some: { status: 'SUBMITTED' } } } }),
    // devices that could take this job's work: donating here at its price or less, and not the owner's (a member never serves their own job)
    job.status === 'OPEN'
      ? db.order.findMany({
          where: { communityId: job.communityId, donation: true, category: COMPUTE_CATEGORY, side: 'SELL', status: 'OPEN', price: { lte: job.pricePerUnit }, windowEnd: { gt: now }, memberId: { not: job.memberId } },
          distinct: ['deviceId'],
          select: { deviceId: true },
        })
      : Promise.resolve([]),
  ]);
  const terms = await termsView(db, job.id, kernelOf(job.kernel), job.communityId, job.memberId, job.status === 'OPEN', now);
  let donatingDevices = donating.length;
  if (terms?.funding?.unit === MB_HOUR && job.status === 'OPEN') donatingDevices = terms.memoryDevices;
  else if (terms?.funding && job.status === 'OPEN') {
    // only the spent contract's seller's devices take its units
    const seller = await db.contract.findUnique({ where: { id: terms.funding.contractId }, select: { sellerId: true } });
    donatingDevices = seller ? (await db.order.findMany({ where: { communityId: job.communityId, donation: true, category: COMPUTE_CATEGORY, status: 'OPEN', windowEnd: { gt: now }, memberId: seller.sellerId }, distinct: ['deviceId'], select: { deviceId: true } })).length : 0;
  } else if (terms && terms.workingSetMb > 0) donatingDevices = Math.min(donatingDevices, terms.memoryDevices);
  const count = (s: string) => byStatus.find((g) => g.status === s)?._count ?? 0;
  const validated = count('VALIDATED');
  const from = firstValid?.validatedAt ?? job.createdAt;
  const until = job.completedAt ?? lastValid?.validatedAt ?? now;
  const seconds = Math.max(1, (until.getTime() - Math.min(from.getTime(), job.createdAt.getTime())) / 1000);
  const streaks = new Map(replicas.map((r) => [r.deviceId, r.device.trustStreak]));
  return {
    id: job.id,
    communityId: job.communityId,
    title: job.title,
    kernel: job.kernel,
    params: job.params as Json,
    owner: job.memberId === memberId,
    unitCount: job.unitCount,
    replication: job.replication,
    quorum: job.quorum,
    pricePerUnit: toMicro(job.pricePerUnit),
    deadline: job.deadline.toISOString(),
    status: job.status,
    createdAt: job.createdAt.toISOString(),
    completedAt: job.completedAt?.toISOString() ?? null,
    progress: {
      validated,
      failed: count('FAILED'),
      pending: count('PENDING'),
      resultsReceived: replicas.length,
      donors: streaks.size,
      unitsPerSecond: Math.round((validated / seconds) * 100) / 100,
      /** pending units a device returned, waiting for a second device (or the owner) to confirm them */
      awaitingConfirmation: awaiting,
    },
    /**
     * Why units wait: each result needs `devicesPerResult` devices that agree (a device never confirms its
     * own); `donatingDevices` can take this job's work; `devicesMissing` more are needed for that. A device
     * is trusted after `trustAfter` confirmed results in a row; a trusted device's units mostly need no
     * second device. `donorsTrusted` of the job's donors are; `bestStreak` is the longest streak of those not yet.
     */
    confirmation: {
      devicesPerResult: job.quorum,
      donatingDevices,
      devicesMissing: Math.max(0, job.quorum - donatingDevices),
      trustAfter: TRUST_STREAK,
      donorsTrusted: [...streaks.values()].filter(isTrusted).length,
      bestStreak: Math.max(0, ...[...streaks.values()].filter((s) => !isTrusted(s))),
    },
    result: job.memberId === memberId ? ((job.result as Json | null) ?? null) : null,
    /**
     * What the job pays besides its work units: `workingSetMb` each unit uses (only devices selling that
     * much memory get them; `memoryDevices` donating here do) at `memoryPrice` µcredits per MB·hour, and
     * the GFLOP or CPU-second contract it spends (`funding`, with the FLOP and CPU µs counted so far).
     */
    terms,
  };
}

/** Validated outputs of one of the member's jobs from unit `fromIndex` on, for a result that fills in as it arrives. */
export async function validatedOutputs(db: Db, jobId: string, fromIndex: number) {
  const units = await db.workUnit.findMany({
    where: { jobId, status: 'VALIDATED', index: { gte: fromIndex } },
    orderBy: { index: 'asc' },
    take: 256,
    select: { index: true, input: true, output: true },
  });
  return units.map((u) => ({ index: u.index, input: u.input as Json, output: u.output as Json }));
}

/** Where each unit of a job stands (`unitPhase`), by index: what the job page shows unit by unit. */
export async function unitPhases(db: Db, jobId: string, memberId: string, now = new Date()): Promise<{ phases: UnitPhase[] }> {
  const job = await db.job.findUnique({ where: { id: jobId }, select: { communityId: true, unitCount: true } });
  const member = job && (await db.membership.findUnique({ where: { memberId_communityId: { memberId, communityId: job.communityId } }, select: { role: true } }));
  if (!job || !member) throw new DomainError('NOT_FOUND', 'No such job.');
  const units = await db.workUnit.findMany({
    where: { jobId },
    orderBy: { index: 'asc' },
    select: { index: true, status: true, replicas: { select: { status: true, expiresAt: true } } },
  });
  const phases: UnitPhase[] = Array.from({ length: job.unitCount }, () => 'waiting');
  for (const u of units) {
    phases[u.index] = unitPhase({ status: u.status, replicas: u.replicas.map((r) => ({ status: r.status, expiresAt: r.expiresAt.getTime() })) }, now.getTime());
  }
  return { phases };
}
