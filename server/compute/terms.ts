/**
 * What a job pays besides its work units (issue 12), and how it is proven:
 *
 * - **Memory.** A kernel with a working set (`Kernel.workingSetMb`, e.g. the hash join) allocates and
 *   uses that many MB in every unit. Its job pays MEMORY (MB·hour) at its memory price: each donor device
 *   is paid MB × the run time of its validated replicas, the run time being the unit's counted reference
 *   CPU time (`Kernel.cost`), never the donor's word. Units go only to devices selling at least the
 *   working set (a MemoryOffer beside their donation; the feeder filters in memory and the writer checks
 *   the database at commit). The job holds credits for the most its memory can cost from submission in a
 *   MEMORY BUY; when it ends, each device's MEMORY contract is filled from that BUY and settled from the
 *   proof at once, and the rest of the hold goes back.
 * - **A compute contract (GFLOP, CPU seconds or work units).** A member who bought COMPUTE spends it by
 *   running a job against it: the job's work units carry no price, go only to that contract's seller's
 *   devices, and when the job ends the contract settles pro rata from the counted FLOP (or CPU time, or
 *   number) of the validated units (`settleFromProof`, exactly once).
 * - **A MEMORY contract.** A member who bought MEMORY spends it on a job whose units declare a working
 *   set: the units go only to the seller's devices that offer that much memory, the job pays its work
 *   units as usual, and when it ends the contract settles pro rata from the validated replicas' MB × run
 *   time instead of the job opening a MEMORY BUY.
 */
import type { Db, Tx } from '../db/client';
import { lockBook } from '../db/book-lock';
import { DomainError } from '../errors';
import { fillAmounts } from '../market/commission';
import { holdAdjustment, type MarketCommunity } from '../market/fills';
import { closeOrder } from '../market/lifecycle';
import { openOrder } from '../market/place-order';
import { orderCostFits } from '../market/order-input';
import { releasedHold } from '../market/reservation';
import { memberBalance, postEntry } from '../ledger/repository';
import { withOutbox, type Outbox } from '../live/outbox';
import { settleFromProof, settleFromProofIn } from '../delivery/proof';
import { formatCredits, MAX_MICRO, toMicro } from '../money';
import type { AnyKernel } from '../../workers/kernels';
import type { Json, UnitCost } from '../../workers/kernels/types';
import { isUniqueViolation } from '../db/unique';

export const MEMORY_CATEGORY = 'MEMORY';
export const MB_HOUR = 'MB_HOUR';
/** MB·µs in one MB·hour: the measure MEMORY contracts are proven in. */
export const MB_US_PER_MB_HOUR = 3_600_000_000;
/** Proofs for a GFLOP contract are counted in kFLOP (so that big contracts stay within safe integers). */
export const KFLOP_PER_GFLOP = 1_000_000;
export const US_PER_CPU_SECOND = 1_000_000;
/** Units of a COMPUTE contract a job can spend. */
export const COMPUTE_FUNDING_UNITS = ['GFLOP', 'CPU_SECOND', 'WORK_UNIT'] as const;
export type FundingUnit = (typeof COMPUTE_FUNDING_UNITS)[number] | typeof MB_HOUR;

/** What a contract can pay for when a job spends it; null when no job can spend it. */
export function fundingUnitOf(contract: { category: string; unit: string }): FundingUnit | null {
  if (contract.category === 'COMPUTE' && (COMPUTE_FUNDING_UNITS as readonly string[]).includes(contract.unit)) return contract.unit as FundingUnit;
  if (contract.category === MEMORY_CATEGORY && contract.unit === MB_HOUR) return MB_HOUR;
  return null;
}

/** Whether a spent contract pays the job's work units (a compute contract) rather than its memory. */
export const paysWorkUnits = (unit: FundingUnit | string | null | undefined) => !!unit && unit !== MB_HOUR;
/** Kernels whose units execute floating-point operations: only they can spend GFLOP. */
export const FLOP_KERNELS = ['mandelbrot', 'montecarlo-pi'];

export type TermsInput = { memoryPrice?: number; fundingContractId?: string };

export type MemoryPlan = { workingSetMb: number; memoryPrice: number; quantity: number };

/** A unit's cost as it is paid: its counted cost, its CPU time capped at what the kernel holds credits for. */
export function paidCost(kernel: AnyKernel, input: Json, output: Json): UnitCost {
  const cost = kernel.cost(input, output);
  const cap = kernel.maxCpuUs?.(input);
  return cap === undefined ? cost : { flop: cost.flop, cpuUs: Math.min(cost.cpuUs, cap) };
}

/**
 * The memory a job pays for: none for a kernel without a working set; otherwise a price is required and
 * the MEMORY BUY holds the most its replicas can use (each unit's `maxCpuUs` × MB, for every replica the
 * job can pay), in whole MB·hours.
 */
export function planMemory(kernel: AnyKernel, params: unknown, inputs: Json[], replication: number, memoryPrice: number | undefined): MemoryPlan | null {
  const workingSetMb = kernel.workingSetMb(params);
  if (workingSetMb <= 0) {
    if (memoryPrice) throw new DomainError('BAD_INPUT', `${kernel.title} units need no working set to speak of: this job pays no memory price.`);
    return null;
  }
  if (!memoryPrice || memoryPrice <= 0) {
    throw new DomainError('BAD_INPUT', `Each unit of this job uses ${workingSetMb} MB of memory: give the price you pay per MB·hour of it.`);
  }
  let bound = 0;
  for (const input of inputs) bound += workingSetMb * (kernel.maxCpuUs?.(input) ?? 0);
  const quantity = Math.max(1, Math.ceil((bound * (replication + 1)) / MB_US_PER_MB_HOUR));
  if (!orderCostFits(quantity, memoryPrice)) {
    throw new DomainError('BAD_INPUT', `This job's memory could cost more than ${formatCredits(MAX_MICRO)} credits: lower the memory price.`);
  }
  return { workingSetMb, memoryPrice, quantity };
}

/**
 * The contract a job spends, checked inside the submission's transaction: the member's own (as buyer), in
 * this community, matched or active, spent by no other job (a unique index), with a window that covers
 * the job's deadline; a compute contract in GFLOP (for a kernel that computes in floating point), CPU
 * seconds or work units, or a MEMORY contract for a job whose units declare a working set.
 */
export async function readFunding(tx: Tx, memberId: string, communityId: string, contractId: string, kernel: AnyKernel, workingSetMb: number, deadline: Date) {
  const contract = await tx.contract.findUnique({
    where: { id: contractId },
    select: { id: true, buyerId: true, sellerId: true, communityId: true, category: true, unit: true, state: true, quantity: true, windowEnd: true },
  });
  if (!contract || contract.buyerId !== memberId || contract.communityId !== communityId) throw new DomainError('NOT_FOUND', 'You hold no contract with that id in this community.');
  const unit = fundingUnitOf(contract);
  if (!unit) throw new DomainError('BAD_INPUT', 'A job can only spend a compute contract (GFLOP, CPU seconds or work units) or a memory contract.');
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') throw new DomainError('CONFLICT', `That contract is ${contract.state.toLowerCase()}: there is nothing left to spend.`);
  if ((unit === 'GFLOP' || unit === 'CPU_SECOND') && kernel.name === 'custom') {
    throw new DomainError('BAD_INPUT', "Members' own code is not counted: it cannot spend a GFLOP or CPU-second contract (a work-unit contract it can).");
  }
  if (unit === 'GFLOP' && !FLOP_KERNELS.includes(kernel.name)) {
    throw new DomainError('BAD_INPUT', `${kernel.title} does integer work only (no floating-point operations): spend a CPU-second contract on it instead.`);
  }
  if (unit === MB_HOUR && workingSetMb <= 0) {
    throw new DomainError('BAD_INPUT', `${kernel.title} units need no working set to speak of: a memory contract pays only for units that use memory (the hash join does).`);
  }
  if (deadline.getTime() > contract.windowEnd.getTime()) throw new DomainError('BAD_INPUT', "The job's deadline must fall within the contract's window.");
  const taken = await tx.jobTerms.findUnique({ where: { fundingContractId: contract.id }, select: { jobId: true } });
  if (taken) throw new DomainError('CONFLICT', 'Another job already spends that contract.');
  return { contractId: contract.id, sellerId: contract.sellerId, unit, workingSetMb, quantity: contract.quantity };
}

export type Funding = Awaited<ReturnType<typeof readFunding>>;

/** Writes a new job's terms and, for memory, opens its MEMORY BUY (inside the submission's transaction, under the compute lock). */
export async function openTerms(tx: Tx, memberId: string, community: MarketCommunity, jobId: string, memory: MemoryPlan | null, funding: Funding | null, deadline: Date, now: Date) {
  if (!memory && !funding) return;
  let memoryOrderId: string | null = null;
  if (memory) {
    await lockBook(tx, community.id, MEMORY_CATEGORY);
    const order = await openOrder(tx, memberId, community, {
      side: 'BUY', category: MEMORY_CATEGORY, unit: MB_HOUR, kind: 'STANDING', quantity: memory.quantity, price: memory.memoryPrice,
      windowStart: now, windowEnd: deadline, deviceId: null, constraints: {}, negotiation: { mode: 'NONE', limit: null }, jobId,
    }, now);
    memoryOrderId = order.id;
  }
  try {
    await tx.jobTerms.create({
      data: {
        jobId, workingSetMb: memory?.workingSetMb ?? (funding?.unit === MB_HOUR ? funding.workingSetMb : 0), memoryPrice: BigInt(memory?.memoryPrice ?? 0), memoryOrderId,
        fundingContractId: funding?.contractId ?? null, fundingSellerId: funding?.sellerId ?? null, fundingUnit: funding?.unit ?? null,
      },
    });
  } catch (error) {
    // two jobs racing for one contract: the unique index lets one have it
    if (funding && uniqueRefused(error)) throw new DomainError('CONFLICT', 'Another job already spends that contract.');
    throw error;
  }
}

/** A unique index refused the write: Prisma's code, or the driver's message when the error comes from a raw statement. */
const uniqueRefused = (error: unknown) =>
  isUniqueViolation(error) || (typeof error === 'object' && error !== null && /unique/i.test(String((error as { message?: unknown }).message)));

/** The counted cost of each validated unit of a job, by unit id. */
async function validatedCosts(db: Db | Tx, jobId: string, kernel: AnyKernel): Promise<Map<string, UnitCost>> {
  const units = await db.workUnit.findMany({ where: { jobId, status: 'VALIDATED' }, select: { id: true, input: true, output: true } });
  return new Map(units.map((u) => [u.id, paidCost(kernel, u.input as Json, u.output as Json)]));
}

/**
 * Settles what a finished job owes besides its work units: each device's MEMORY (its validated replicas'
 * MB × counted run time; the BUY's rest returns to the owner) and the GFLOP or CPU-second contract it
 * spent (the validated units' counted cost, pro rata). Each part happens once: the memory under the
 * MEMORY book's lock and only while the job's MEMORY BUY is open, the contract through a conditional
 * settlement (a second settlement finds it settled and leaves it).
 */
export async function settleTerms(db: Db, jobId: string, kernelOf: (name: string) => AnyKernel, now = new Date()) {
  const terms = await db.jobTerms.findUnique({ where: { jobId } });
  if (!terms) return;
  const job = await db.job.findUnique({ where: { id: jobId }, select: { status: true, kernel: true, communityId: true, title: true } });
  if (!job || job.status === 'OPEN') return;
  const kernel = kernelOf(job.kernel);
  const costs = await validatedCosts(db, jobId, kernel);
  if (terms.memoryOrderId) {
    const memoryOrderId = terms.memoryOrderId;
    await withOutbox(db, (tx, outbox) => settleMemory(tx, job.communityId, jobId, memoryOrderId, terms.workingSetMb, costs, outbox, now));
  }
  if (terms.fundingContractId) {
    const contract = await db.contract.findUnique({ where: { id: terms.fundingContractId }, select: { quantity: true, state: true } });
    if (!contract || (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE')) return;
    const { proven, note } = await spentProof(db, jobId, terms.fundingUnit as FundingUnit, terms.workingSetMb, contract.quantity, costs, job.title);
    try {
      await settleFromProof(db, terms.fundingContractId, proven, note, now);
    } catch (error) {
      // settled by another process meanwhile: once is enough
      const after = await db.contract.findUnique({ where: { id: terms.fundingContractId }, select: { state: true } });
      if (!(error instanceof DomainError && error.kind === 'CONFLICT' && after && after.state !== 'MATCHED' && after.state !== 'ACTIVE')) throw error;
    }
  }
}

/** What a job has spent of the contract it spends so far, in the contract's own measure. */
export type Spent = { flop: number; cpuUs: number; units: number; mbUs: number };

async function spentOf(db: Db | Tx, jobId: string, workingSetMb: number, costs: Map<string, UnitCost>): Promise<Spent> {
  const spent: Spent = { flop: 0, cpuUs: 0, units: costs.size, mbUs: 0 };
  for (const c of costs.values()) {
    spent.flop += c.flop;
    spent.cpuUs += c.cpuUs;
  }
  if (workingSetMb > 0) {
    // memory is used by every validated replica, not once per unit
    for (const r of await db.replica.findMany({ where: { jobId, status: 'VALID' }, select: { unitId: true } })) spent.mbUs += workingSetMb * (costs.get(r.unitId)?.cpuUs ?? 0);
  }
  return spent;
}

/** The share of a spent contract the validated units prove, and the line its timeline records. */
async function spentProof(db: Db, jobId: string, unit: FundingUnit, workingSetMb: number, quantity: number, costs: Map<string, UnitCost>, title: string) {
  const spent = await spentOf(db, jobId, workingSetMb, costs);
  const by = `validated units of "${title}" (counted by the kernel)`;
  switch (unit) {
    case 'GFLOP':
      return { proven: { part: Math.floor(spent.flop / 1000), whole: quantity * KFLOP_PER_GFLOP }, note: `${(spent.flop / 1e9).toFixed(3)} GFLOP of ${quantity} spent by ${spent.units} ${by}` };
    case 'CPU_SECOND':
      return { proven: { part: spent.cpuUs, whole: quantity * US_PER_CPU_SECOND }, note: `${(spent.cpuUs / 1e6).toFixed(3)} CPU seconds of ${quantity} spent by ${spent.units} ${by}` };
    case 'WORK_UNIT':
      return { proven: { part: spent.units, whole: quantity }, note: `${spent.units} of ${quantity} work units spent: the ${by}` };
    case MB_HOUR:
      return {
        proven: { part: spent.mbUs, whole: quantity * MB_US_PER_MB_HOUR },
        note: `${(spent.mbUs / MB_US_PER_MB_HOUR).toFixed(6)} MB·hours of ${quantity} spent: ${workingSetMb} MB × the run time of each validated replica of the ${by}`,
      };
  }
}

async function settleMemory(tx: Tx, communityId: string, jobId: string, memoryOrderId: string, workingSetMb: number, costs: Map<string, UnitCost>, outbox: Outbox, now: Date) {
  await lockBook(tx, communityId, MEMORY_CATEGORY);
  const buy = await tx.order.findUnique({ where: { id: memoryOrderId }, select: { id: true, memberId: true, status: true, remaining: true, reserved: true, price: true, windowStart: true, windowEnd: true } });
  if (!buy || buy.status !== 'OPEN') return;
  const community = await tx.community.findUniqueOrThrow({ where: { id: communityId }, select: { id: true, commissionBps: true, creditLimit: true } });
  const market: MarketCommunity = { id: community.id, commissionBps: community.commissionBps, creditLimit: toMicro(community.creditLimit) };
  const valid = await tx.replica.findMany({ where: { jobId, status: 'VALID' }, select: { unitId: true, deviceId: true, memberId: true } });
  const byDevice = new Map<string, { memberId: string; mbUs: number; replicas: number }>();
  for (const r of valid) {
    const cost = costs.get(r.unitId);
    if (!cost) continue;
    const d = byDevice.get(r.deviceId) ?? { memberId: r.memberId, mbUs: 0, replicas: 0 };
    d.mbUs += workingSetMb * cost.cpuUs;
    d.replicas++;
    byDevice.set(r.deviceId, d);
  }
  const offers = byDevice.size
    ? await tx.memoryOffer.findMany({ where: { deviceId: { in: [...byDevice.keys()] }, order: { communityId } }, orderBy: { order: { createdAt: 'desc' } }, select: { deviceId: true, orderId: true } })
    : [];
  const price = toMicro(buy.price);
  let remaining = buy.remaining;
  let reserved = toMicro(buy.reserved);
  for (const [deviceId, d] of [...byDevice].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (d.mbUs <= 0) continue;
    // each contract is whole MB·hours, rounded up: what the hold no longer covers of that rounding is held
    // from the owner's credits for a moment (the proof pays only the exact share, the rest comes back at once)
    let quantity = Math.ceil(d.mbUs / MB_US_PER_MB_HOUR);
    const fromHold = Math.min(remaining, quantity);
    const released = fromHold > 0 ? releasedHold(reserved, remaining, fromHold) : 0;
    let amounts = fillAmounts(quantity, price, market.commissionBps);
    if (amounts.buyerPays > released) {
      const { available } = await memberBalance(tx, communityId, buy.memberId);
      if (available + market.creditLimit < amounts.buyerPays - released) {
        // the owner cannot cover the rounding: the device is paid what the hold still covers
        quantity = fromHold;
        amounts = fillAmounts(quantity, price, market.commissionBps);
      }
    }
    if (quantity <= 0) continue;
    const sellOrderId = offers.find((o) => o.deviceId === deviceId)?.orderId ?? null;
    const adjustment = holdAdjustment(buy, sellOrderId ?? deviceId, released - amounts.buyerPays);
    if (adjustment) await postEntry(tx, communityId, adjustment, market);
    if (fromHold > 0) {
      const { count } = await tx.order.updateMany({
        where: { id: buy.id, status: 'OPEN', remaining, reserved: BigInt(reserved) },
        data: { remaining: remaining - fromHold, reserved: BigInt(reserved - released) },
      });
      if (count !== 1) throw new DomainError('CONFLICT', "The job's memory order changed while it was being settled: try again.");
    }
    remaining -= fromHold;
    reserved -= released;
    const contract = await tx.contract.create({
      data: {
        communityId, buyOrderId: buy.id, sellOrderId, buyerId: buy.memberId, sellerId: d.memberId, category: MEMORY_CATEGORY, unit: MB_HOUR,
        quantity, price: buy.price, pricing: 'CROSS', windowStart: buy.windowStart, windowEnd: buy.windowEnd, commissionBps: market.commissionBps,
        buyerCommission: BigInt(amounts.buyerShare), sellerCommission: BigInt(amounts.sellerShare), escrowed: BigInt(amounts.buyerPays),
        events: { create: { action: 'MATCH', fromState: null, toState: 'MATCHED', note: `${quantity} MB_HOUR at ${price} µcredits: room for ${d.replicas} validated units of ${workingSetMb} MB` } },
      },
      select: { id: true },
    });
    const hours = d.mbUs / MB_US_PER_MB_HOUR;
    await settleFromProofIn(tx, contract.id, { part: d.mbUs, whole: quantity * MB_US_PER_MB_HOUR },
      `${hours.toFixed(6)} MB·hours proven: ${d.replicas} validated units × ${workingSetMb} MB × their counted run time`, outbox, now);
  }
  await closeOrder(tx, buy.id, 'CANCELLED', null, outbox, now);
  outbox.book(communityId, MEMORY_CATEGORY);
}

/** What the job page says about a job's terms: the working set, the memory price, the contract it spends and how much so far. */
export async function termsView(db: Db, jobId: string, kernel: AnyKernel, communityId: string, ownerId: string, open: boolean, now: Date) {
  const terms = await db.jobTerms.findUnique({ where: { jobId } });
  if (!terms) return null;
  let memoryDevices = 0;
  if (terms.workingSetMb > 0 && open && terms.fundingUnit !== MB_HOUR) {
    const offers = await db.memoryOffer.findMany({
      where: { memoryMb: { gte: terms.workingSetMb }, order: { communityId, status: 'OPEN', windowEnd: { gt: now }, price: { lte: terms.memoryPrice }, memberId: { not: ownerId } } },
      distinct: ['deviceId'],
      select: { deviceId: true },
    });
    memoryDevices = offers.length;
  }
  let funding = null;
  if (terms.fundingContractId) {
    const contract = await db.contract.findUnique({ where: { id: terms.fundingContractId }, select: { id: true, quantity: true, unit: true, state: true, sellerId: true, seller: { select: { handle: true } } } });
    if (contract) {
      const spent = await spentOf(db, jobId, terms.workingSetMb, await validatedCosts(db, jobId, kernel));
      funding = { contractId: contract.id, unit: contract.unit, quantity: contract.quantity, state: contract.state, seller: contract.seller.handle, ...spent };
      if (contract.unit === MB_HOUR && open) {
        // a memory contract's seller's devices that offer the working set run it
        const offers = await db.memoryOffer.findMany({ where: { memoryMb: { gte: terms.workingSetMb }, order: { communityId, status: 'OPEN', windowEnd: { gt: now }, memberId: contract.sellerId } }, distinct: ['deviceId'], select: { deviceId: true } });
        memoryDevices = offers.length;
      }
    }
  }
  return { workingSetMb: terms.workingSetMb, memoryPrice: toMicro(terms.memoryPrice), memoryDevices, funding };
}

/** The member's compute and memory contracts in a community that a job could spend: open, and spent by no job yet. */
export async function spendableContracts(db: Db, memberId: string, communityId: string) {
  const rows = await db.contract.findMany({
    where: {
      buyerId: memberId, communityId, state: { in: ['MATCHED', 'ACTIVE'] },
      OR: [{ category: 'COMPUTE', unit: { in: [...COMPUTE_FUNDING_UNITS] } }, { category: MEMORY_CATEGORY, unit: MB_HOUR }],
    },
    orderBy: { createdAt: 'desc' },
    take: 50,
    select: { id: true, unit: true, quantity: true, price: true, windowEnd: true, seller: { select: { handle: true } } },
  });
  const spent = await db.jobTerms.findMany({ where: { fundingContractId: { in: rows.map((r) => r.id) } }, select: { fundingContractId: true } });
  const taken = new Set(spent.map((s) => s.fundingContractId));
  return rows.filter((r) => !taken.has(r.id)).map((r) => ({ id: r.id, unit: r.unit, quantity: r.quantity, price: toMicro(r.price), windowEnd: r.windowEnd.toISOString(), seller: r.seller.handle }));
}
