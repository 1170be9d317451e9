import { kindOf, type Db, type Queryable } from '../db/client';
import { rawQuery } from '../db/direct';
import { rawTransaction } from '../db/transaction';
import { Prisma } from '../db/generated/sqlite/client';
import { RESTING_COLUMNS, restingBookOrder, type RestingRow } from '../market/order-batch';
import { comparePriority, isEligible, type BookOrder } from '../market/engine';
import type { Json } from '../../workers/kernels/types';
import { readUnits } from './batch-reads';
import { COMPUTE_CATEGORY, WORK_UNIT } from './jobs';
import { isLive, type ReplicaView } from './scheduler';

/**
 * The scheduler's memory (BOINC's feeder): for each community, the open jobs with their pending units and
 * the replicas those hold, loaded from the database and refreshed when a change is announced, when the
 * work runs out, and every few seconds (another coordinator process may have changed the jobs). Leases
 * are picked here, then checked against the database under the book's lock when their batch commits
 * (commit.ts): this memory only proposes, the database decides.
 */

/** How often the list of open jobs is read again, in case another process added or ended one. */
export const JOBS_REFRESH_MS = 2_000;
/**
 * How long a device's facts (owner, trust, donations) are kept before they are read again. This process
 * keeps them current itself (donating forgets them, judged results count into them); a donation switched
 * off through another process is refused at commit (its SELL is read under the lock) until then.
 */
export const DEVICE_TTL_MS = 30_000;

export type MemUnit = {
  id: string;
  jobId: string;
  index: number;
  input: Json;
  status: 'PENDING' | 'VALIDATED' | 'FAILED';
  requiredReplicas: number;
  replicas: ReplicaView[];
};

export type UnitState = { replicas: ReplicaView[]; requiredReplicas: number };

export type MemJob = {
  id: string;
  kernel: string;
  replication: number;
  quorum: number;
  maxReplicas: number;
  ownerId: string;
  order: BookOrder;
  /**
   * MB each unit needs (0: none to speak of): only devices selling that much memory, at most at
   * `memoryPrice` (any price when a memory contract pays it), get its units
   */
  workingSetMb: number;
  memoryPrice: number;
  memoryFromContract: boolean;
  /** a job spending a contract: only that contract's seller's devices get its units (at no price per unit for a compute contract) */
  onlyMemberId: string | null;
  /** pending units by index */
  units: MemUnit[];
};

export type Donation = { communityId: string; order: BookOrder };

/** The memory a device sells in a community: MB per unit, at least at `price` per MB·hour. */
export type MemorySale = { orderId: string; mb: number; price: number };

export type DonorFacts = {
  id: string; memberId: string; validResults: number; invalidResults: number; trustStreak: number; donations: Donation[];
  /** by community */
  memory: Record<string, MemorySale>;
  readAt: number;
};

export type Donor = { deviceId: string; memberId: string };

/**
 * Units the donor may lease in `units`, at most `max`, as `pickUnits` (scheduler.ts) picks them: pending,
 * short of live replicas, holding no replica of this device or member; closest to completion first, then
 * by index. `viewOf` gives a unit's replicas and required replicas as the batch sees them (with what it has already taken).
 */
export function pickFrom(units: MemUnit[], viewOf: (u: MemUnit) => UnitState, donor: Donor, max: number, now: number): MemUnit[] {
  if (max <= 0) return [];
  const buckets: MemUnit[][] = [];
  for (const u of units) {
    if (u.status !== 'PENDING') continue;
    const view = viewOf(u);
    let live = 0;
    let mine = false;
    for (const r of view.replicas) {
      const same = r.deviceId === donor.deviceId || r.memberId === donor.memberId;
      const counts = isLive(r, now);
      if (same && (r.status !== 'LEASED' || counts)) {
        mine = true;
        break;
      }
      if (counts) live++;
    }
    if (mine || live >= view.requiredReplicas) continue;
    (buckets[live] ??= []).push(u);
  }
  const out: MemUnit[] = [];
  for (let live = buckets.length - 1; live >= 0 && out.length < max; live--) {
    for (const u of buckets[live] ?? []) {
      out.push(u);
      if (out.length >= max) break;
    }
  }
  return out;
}

/** A community's open jobs, each with its BUY as the book holds it and its terms. */
export const openJobsQuery = (communityId: string) => Prisma.sql`
  SELECT ${RESTING_COLUMNS}, o."jobId", o.unit, j.kernel, j.replication, j.quorum, j."maxReplicas",
         t."workingSetMb", t."memoryPrice", t."fundingSellerId", t."fundingUnit"
  FROM "Order" o JOIN "Job" j ON j.id = o."jobId" LEFT JOIN "Device" d ON d.id = o."deviceId" LEFT JOIN "JobTerms" t ON t."jobId" = j.id
  WHERE o."communityId" = ${communityId} AND o.category = ${COMPUTE_CATEGORY} AND o.unit = ${WORK_UNIT} AND o.side = 'BUY'
    AND o.status = 'OPEN' AND j.status = 'OPEN'`;

type JobOrderRow = RestingRow & {
  jobId: string; unit: string; kernel: string; replication: unknown; quorum: unknown; maxReplicas: unknown;
  workingSetMb: unknown; memoryPrice: unknown; fundingSellerId: string | null; fundingUnit: string | null;
};

/**
 * Runs the feeder's reads. On SQLite they go to the database's own thread in a read-only transaction of raw
 * statements: through the ORM on the main connection, reading a new job's units stopped the event loop for
 * 15–150 ms while every request waited.
 */
function readOnly<T>(db: Db, read: (q: Queryable) => Promise<T>): Promise<T> {
  return kindOf(db) === 'sqlite' ? rawTransaction(db, read, { answerWhenDurable: false }) : read(db);
}

/**
 * Whether a job's units may go to a donor (the memory gate and a spent contract's seller), from memory: a
 * device must sell at least the job's working set, at a price the job pays; a job spending a contract goes
 * to that contract's seller only, and otherwise pays at least the donation's floor price.
 */
export function mayServe(job: MemoryNeed & Pick<MemJob, 'onlyMemberId' | 'order'>, donor: Pick<DonorFacts, 'memberId'>, memory: MemorySale | undefined, donationPrice: number): boolean {
  if (!memoryFits(job, memory)) return false;
  if (job.onlyMemberId !== null) return donor.memberId === job.onlyMemberId;
  return job.order.price >= donationPrice;
}

type MemoryNeed = Pick<MemJob, 'workingSetMb' | 'memoryPrice' | 'memoryFromContract'>;

/** Whether the memory a device sells is enough for a job's units, at a price the job pays (a memory contract pays any). */
export function memoryFits(job: MemoryNeed, memory: Pick<MemorySale, 'mb' | 'price'> | undefined): boolean {
  if (job.workingSetMb <= 0) return true;
  return !!memory && memory.mb >= job.workingSetMb && (job.memoryFromContract || memory.price <= job.memoryPrice);
}

/** One community's open jobs as the scheduler holds them. */
export class CommunityWork {
  readonly jobs = new Map<string, MemJob>();
  private stale = true;
  private checkedAt = 0;

  constructor(
    readonly db: Db,
    readonly communityId: string,
  ) {}

  /** Everything is read again before the next batch (after a change made outside the batch loop). */
  markStale(): void {
    this.stale = true;
  }

  /** The list of jobs is read again before the next batch (a job was added or ended). */
  markJobsChanged(): void {
    this.checkedAt = 0;
  }

  /** Reads what is due: everything when stale, else the list of open jobs when it is old (or `force`). */
  async refresh(now: number, force = false): Promise<void> {
    if (!this.stale && !force && now - this.checkedAt < JOBS_REFRESH_MS) return;
    const full = this.stale;
    this.stale = false;
    this.checkedAt = now;
    const toLoad: string[] = [];
    const units = await readOnly(this.db, async (q) => {
      const rows = await rawQuery<JobOrderRow>(q, openJobsQuery(this.communityId));
      const open = new Set<string>();
      for (const row of rows) {
        open.add(row.jobId);
        const order = restingBookOrder(row, 'BUY', row.unit);
        const known = this.jobs.get(row.jobId);
        if (known && !full) {
          known.order = order;
          continue;
        }
        this.jobs.set(row.jobId, {
          id: row.jobId, kernel: row.kernel, replication: Number(row.replication), quorum: Number(row.quorum), maxReplicas: Number(row.maxReplicas),
          ownerId: row.memberId, order, units: [],
          workingSetMb: Number(row.workingSetMb ?? 0), memoryPrice: Number(row.memoryPrice ?? 0), memoryFromContract: row.fundingUnit === 'MB_HOUR',
          onlyMemberId: row.fundingSellerId,
        });
        toLoad.push(row.jobId);
      }
      for (const id of this.jobs.keys()) if (!open.has(id)) this.jobs.delete(id);
      return toLoad.length ? readUnits(q, { pendingOf: toLoad }, { input: true }) : new Map<string, never>();
    });
    for (const u of units.values()) {
      const job = this.jobs.get(u.jobId);
      if (!job) continue;
      job.units.push({ id: u.id, jobId: u.jobId, index: u.index, input: u.input, status: u.status, requiredReplicas: u.requiredReplicas, replicas: u.replicas });
    }
    // pending units by index (`MemJob.units`)
    for (const id of toLoad) this.jobs.get(id)?.units.sort((a, b) => a.index - b.index);
  }

  /** Open jobs the donation can serve, best first (highest price, then oldest), as an incoming SELL takes bids. */
  jobsFor(donation: BookOrder, donor: Pick<DonorFacts, 'memberId' | 'memory'>, now: number, kernels?: string[]): MemJob[] {
    const out: { job: MemJob; book: BookOrder }[] = [];
    const memory = donor.memory[this.communityId];
    for (const job of this.jobs.values()) {
      if (kernels && !kernels.includes(job.kernel)) continue;
      if (!mayServe(job, donor, memory, donation.price)) continue;
      // what is left of a job's window is what a donor must cover: from now to the deadline
      const book = { ...job.order, windowStart: Math.max(job.order.windowStart, now) };
      if (!isEligible(book, donation)) continue;
      out.push({ job, book });
    }
    return out.sort((a, b) => comparePriority(a.book, b.book)).map((x) => x.job);
  }

  hasWork(): boolean {
    for (const job of this.jobs.values()) if (job.units.length > 0) return true;
    return false;
  }

  /** Puts what a batch read or wrote for a unit into memory; a unit no longer pending leaves it. */
  updateUnit(jobId: string, unitId: string, state: { status: MemUnit['status']; requiredReplicas: number; replicas: ReplicaView[] }): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const at = job.units.findIndex((u) => u.id === unitId);
    if (at < 0) return;
    if (state.status !== 'PENDING') {
      job.units.splice(at, 1);
      return;
    }
    const unit = job.units[at]!;
    unit.requiredReplicas = state.requiredReplicas;
    unit.replicas = state.replicas;
  }

  dropJob(jobId: string): void {
    this.jobs.delete(jobId);
  }

  unit(jobId: string, unitId: string): MemUnit | undefined {
    return this.jobs.get(jobId)?.units.find((u) => u.id === unitId);
  }
}

/**
 * A device with its open donations, in one raw statement, not the ORM's three (a device and its open
 * donations, each with the device's profile): a thousand donors re-read every DEVICE_TTL_MS were a tenth of
 * the scheduler's time. The donations are found by the device's index (tests/integration/query-plans).
 */
export const donorQuery = (deviceId: string) => Prisma.sql`
  SELECT d.id AS "deviceId", d."memberId" AS "deviceMemberId", d."validResults", d."invalidResults", d."trustStreak",
         o."communityId", o.category, o.side, o.unit, ${RESTING_COLUMNS}
  FROM "Device" d LEFT JOIN "Order" o ON o."deviceId" = d.id AND o.donation = ${true} AND o.status = 'OPEN'
  WHERE d.id = ${deviceId}`;

/** A device's owner, trust and open donations, read at most every DEVICE_TTL_MS. */
export async function readDonor(db: Db, deviceId: string, now: number): Promise<DonorFacts | null> {
  const rows = await rawQuery<RestingRow & { deviceId: string; deviceMemberId: string; validResults: unknown; invalidResults: unknown; trustStreak: unknown; communityId: string | null; category: string | null; side: 'BUY' | 'SELL'; unit: string }>(
    db,
    donorQuery(deviceId),
  );
  const device = rows[0];
  if (!device) return null;
  const row = {
    id: device.deviceId,
    memberId: device.deviceMemberId,
    validResults: Number(device.validResults),
    invalidResults: Number(device.invalidResults),
    trustStreak: Number(device.trustStreak),
    orders: rows
      .filter((o) => o.id !== null)
      .map((o) => ({ id: o.id, communityId: o.communityId!, category: o.category!, price: Number(o.price), windowEnd: new Date(o.windowEnd as string), book: restingBookOrder(o, o.side, o.unit) })),
  };
  const memory: Record<string, MemorySale> = {};
  const sales = row.orders.filter((o) => o.category === 'MEMORY' && o.windowEnd.getTime() > now);
  if (sales.length) {
    const offers = await db.memoryOffer.findMany({ where: { orderId: { in: sales.map((o) => o.id) } }, select: { orderId: true, memoryMb: true } });
    for (const o of sales) {
      const offer = offers.find((f) => f.orderId === o.id);
      if (offer) memory[o.communityId] = { orderId: o.id, mb: offer.memoryMb, price: o.price };
    }
  }
  return {
    id: row.id,
    memberId: row.memberId,
    validResults: row.validResults,
    invalidResults: row.invalidResults,
    trustStreak: row.trustStreak,
    donations: row.orders.filter((o) => o.category === COMPUTE_CATEGORY).map((o) => ({ communityId: o.communityId, order: o.book })),
    memory,
    readAt: now,
  };
}
