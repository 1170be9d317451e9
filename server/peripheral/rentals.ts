/**
 * Peripheral rentals: a PERIPHERAL contract delivered as a live WebRTC stream from the seller's device to the
 * buyer's, paid for what the buyer's device proves in signed receipts (the delivery rule, server/delivery/rule.ts).
 *
 * The seller starts the rental on one of their devices (camera, microphone or screen); the buyer's device joins
 * (it must have a registered device key) and every few seconds signs and sends a receipt for the media it
 * received at the agreed quality. Accepted receipts add to `provenMs`. The rental ends when the seller stops,
 * the buyer ends it, or the window closes; ending settles the contract once, paying provenMs / wholeMs of its
 * escrow (server/delivery/proof.ts).
 *
 * Concurrency: every change is a conditional write on the rental row — a receipt only against the rental still
 * LIVE with the `lastSeq` it was judged on, an end only from LIVE — so of concurrent duplicates one applies, on
 * SQLite and on PostgreSQL alike; the settlement reads `provenMs` after taking the row with its own write.
 */
import type { Db, Prisma, Queryable } from '../db/client';
import { settleFromProofIn } from '../delivery/proof';
import { signatureValid } from '../device/signature';
import { DomainError } from '../errors';
import { withOutbox, type Outbox } from '../live/outbox';
import { DEFAULT_QUALITY, receiptBytes, type ReceiptBody, type RentalKind } from './receipt-format';
import { judgeReceipt, rentalWholeMs } from './rules';
import { isUniqueViolation } from '../db/unique';

export const RENTAL_CATEGORY = 'PERIPHERAL';
export const RENTAL_UNIT = 'DEVICE_HOUR';
/** A rental may be started this long before its window opens (the stream is paid from the window's start only). */
export const EARLY_START_MS = 5 * 60_000;

const rentalSelect = {
  id: true, contractId: true, communityId: true, sellerId: true, buyerId: true, sellerDeviceId: true, buyerDeviceId: true, kind: true,
  minWidth: true, minHeight: true, minFps: true, state: true, startedAt: true, windowStart: true, windowEnd: true, wholeMs: true,
  provenMs: true, lastSeq: true, lastReceiptAt: true, endedAt: true, endedBy: true,
} satisfies Prisma.PeripheralRentalSelect;
type RentalRow = Prisma.PeripheralRentalGetPayload<{ select: typeof rentalSelect }>;

// duck-typed: the SQLite and PostgreSQL clients each have their own error classes

async function contractOf(db: Queryable, contractId: string) {
  const contract = await db.contract.findUnique({
    where: { id: contractId },
    select: { id: true, communityId: true, buyerId: true, sellerId: true, category: true, unit: true, quantity: true, state: true, windowStart: true, windowEnd: true },
  });
  if (!contract) throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  return contract;
}

function announce(outbox: Outbox, rental: { sellerId: string; buyerId: string; contractId: string }, state: string, action: string) {
  outbox.add([rental.sellerId, rental.buyerId], { type: 'contract', contractId: rental.contractId, state, action });
}

export function presentRental(row: RentalRow, viewer: { memberId: string }) {
  return {
    id: row.id,
    contractId: row.contractId,
    role: row.sellerId === viewer.memberId ? ('SELLER' as const) : ('BUYER' as const),
    kind: row.kind as RentalKind,
    sellerDeviceId: row.sellerDeviceId,
    buyerDeviceId: row.buyerDeviceId,
    quality: { minWidth: row.minWidth, minHeight: row.minHeight, minFps: row.minFps },
    state: row.state as 'LIVE' | 'ENDED',
    startedAt: row.startedAt.toISOString(),
    windowStart: row.windowStart.toISOString(),
    windowEnd: row.windowEnd.toISOString(),
    wholeMs: row.wholeMs,
    provenMs: row.provenMs,
    lastSeq: row.lastSeq,
    endedAt: row.endedAt?.toISOString() ?? null,
    endedBy: (row.endedBy ?? null) as 'SELLER' | 'BUYER' | 'WINDOW' | null,
  };
}
export type RentalView = ReturnType<typeof presentRental>;

export type StartInput = { contractId: string; deviceId: string; kind: RentalKind; minWidth?: number; minHeight?: number; minFps?: number };

/**
 * The seller starts streaming a contract's peripheral from one of their devices. Starting again from a device
 * (a reload, another device of the seller's) carries the same live rental on; an ended one cannot restart.
 */
export async function startRental(db: Db, memberId: string, input: StartInput, now = new Date()) {
  const contract = await contractOf(db, input.contractId);
  if (contract.sellerId !== memberId) {
    if (contract.buyerId === memberId) throw new DomainError('FORBIDDEN', 'Only the seller starts a rental: open it from the viewer instead.');
    throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  }
  if (contract.category !== RENTAL_CATEGORY || contract.unit !== RENTAL_UNIT) throw new DomainError('BAD_INPUT', 'Only a peripheral contract (device hours) can be rented out as a live stream.');
  const device = await db.device.count({ where: { id: input.deviceId, memberId } });
  if (!device) throw new DomainError('NOT_FOUND', 'You have no device with that id.');

  const existing = await db.peripheralRental.findUnique({ where: { contractId: contract.id }, select: rentalSelect });
  if (existing) return resume(db, existing, input, memberId);
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') throw new DomainError('PRECONDITION', 'This contract is no longer open: there is nothing left to stream.');
  if (now.getTime() >= contract.windowEnd.getTime()) throw new DomainError('PRECONDITION', "This contract's window has closed.");
  if (now.getTime() < contract.windowStart.getTime() - EARLY_START_MS) throw new DomainError('PRECONDITION', "This contract's window has not opened yet: start the rental at most 5 minutes before it.");

  const quality = { ...DEFAULT_QUALITY[input.kind] };
  if (input.kind !== 'MICROPHONE') {
    quality.minWidth = Math.max(quality.minWidth, input.minWidth ?? 0);
    quality.minHeight = Math.max(quality.minHeight, input.minHeight ?? 0);
    quality.minFps = Math.max(quality.minFps, input.minFps ?? 0);
  }
  try {
    return await withOutbox(db, async (tx, outbox) => {
      const row = await tx.peripheralRental.create({
        data: {
          contractId: contract.id, communityId: contract.communityId, sellerId: contract.sellerId, buyerId: contract.buyerId,
          sellerDeviceId: input.deviceId, kind: input.kind, ...quality, startedAt: now, windowStart: contract.windowStart, windowEnd: contract.windowEnd,
          wholeMs: rentalWholeMs(contract.quantity, contract.windowStart, contract.windowEnd),
        },
        select: rentalSelect,
      });
      announce(outbox, row, contract.state, 'RENTAL_STARTED');
      return presentRental(row, { memberId });
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // started at the same moment from another request: carry that one on
    const row = await db.peripheralRental.findUniqueOrThrow({ where: { contractId: contract.id }, select: rentalSelect });
    return resume(db, row, input, memberId);
  }
}

async function resume(db: Db, row: RentalRow, input: StartInput, memberId: string) {
  if (row.state !== 'LIVE') throw new DomainError('PRECONDITION', 'This rental has ended and its contract is settled: it cannot start again.');
  if (row.kind !== input.kind) throw new DomainError('CONFLICT', `This rental streams the ${row.kind.toLowerCase()}: start it with that.`);
  if (row.sellerDeviceId !== input.deviceId) {
    const { count } = await db.peripheralRental.updateMany({ where: { id: row.id, state: 'LIVE' }, data: { sellerDeviceId: input.deviceId } });
    if (count === 0) throw new DomainError('PRECONDITION', 'This rental has ended.');
    row = { ...row, sellerDeviceId: input.deviceId };
  }
  return presentRental(row, { memberId });
}

/**
 * The buyer's device joins a live rental as its receiving device (the one whose key signs receipts). Another of
 * the buyer's devices may take over later; receipt numbers go on from `lastSeq`.
 */
export async function joinRental(db: Db, memberId: string, input: { contractId: string; deviceId: string }) {
  const row = await db.peripheralRental.findUnique({ where: { contractId: input.contractId }, select: rentalSelect });
  if (!row || (row.buyerId !== memberId && row.sellerId !== memberId)) throw new DomainError('NOT_FOUND', 'No rental has started on this contract yet: the seller starts it.');
  if (row.buyerId !== memberId) throw new DomainError('FORBIDDEN', 'Only the buyer receives the stream.');
  if (row.state !== 'LIVE') return presentRental(row, { memberId });
  const device = await db.device.findFirst({ where: { id: input.deviceId, memberId }, select: { publicKey: true } });
  if (!device) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  if (!device.publicKey) throw new DomainError('PRECONDITION', 'This device has no registered key to sign receipts with: register its key first.');
  if (row.buyerDeviceId === input.deviceId) return presentRental(row, { memberId });
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.peripheralRental.updateMany({ where: { id: row.id, state: 'LIVE' }, data: { buyerDeviceId: input.deviceId } });
    if (count === 0) throw new DomainError('PRECONDITION', 'This rental has just ended.');
    announce(outbox, row, 'ACTIVE', 'RENTAL_JOINED');
    return presentRental({ ...row, buyerDeviceId: input.deviceId }, { memberId });
  });
}

/**
 * Counts a receipt signed by the rental's receiving device: its signature must verify against that device's
 * registered key, and the rules (server/peripheral/rules.ts) must accept it. Refused receipts change nothing.
 */
export async function submitReceipt(db: Db, memberId: string, body: ReceiptBody, signature: string, now = new Date()) {
  const row = await db.peripheralRental.findUnique({ where: { id: body.rentalId }, select: rentalSelect });
  if (!row || (row.buyerId !== memberId && row.sellerId !== memberId)) throw new DomainError('NOT_FOUND', 'There is no rental with that id.');
  if (row.buyerId !== memberId) throw new DomainError('FORBIDDEN', "Only the buyer's device sends receipts for a rental.");
  const device = await db.device.findFirst({ where: { id: body.deviceId, memberId }, select: { publicKey: true, keyAlgorithm: true } });
  if (!device) throw new DomainError('FORBIDDEN', 'That device is not yours, so it cannot sign for this rental.');
  const verdict = judgeReceipt({ ...row, kind: row.kind as RentalKind }, body, now);
  if (!verdict.ok) throw new DomainError(verdict.kind, verdict.message);
  if (!device.publicKey || !device.keyAlgorithm || !signatureValid(device.publicKey, device.keyAlgorithm, receiptBytes(body), signature)) {
    throw new DomainError('BAD_INPUT', "The receipt's signature does not verify with this device's key: it was altered or signed by another key.");
  }
  const contract = await db.contract.findUnique({ where: { id: row.contractId }, select: { state: true } });
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.peripheralRental.updateMany({
      where: { id: row.id, state: 'LIVE', lastSeq: row.lastSeq },
      data: { lastSeq: body.seq, provenMs: row.provenMs + verdict.mediaMs, lastReceiptAt: now },
    });
    if (count === 0) throw new DomainError('CONFLICT', 'Another receipt for this rental was counted at the same moment, or the rental ended: this one was not counted.');
    await tx.peripheralReceipt.create({
      data: { rentalId: row.id, seq: body.seq, mediaMs: verdict.mediaMs, frames: body.frames, width: body.width, height: body.height, signature, acceptedAt: now },
    });
    announce(outbox, row, contract?.state ?? 'ACTIVE', 'RECEIPT');
    return { seq: body.seq, acceptedMs: verdict.mediaMs, provenMs: row.provenMs + verdict.mediaMs, wholeMs: row.wholeMs };
  });
}

const END_NOTE: Record<'SELLER' | 'BUYER' | 'WINDOW', string> = {
  SELLER: 'The seller stopped the stream',
  BUYER: 'The buyer ended the stream',
  WINDOW: 'The window closed',
};

/**
 * Ends a live rental and settles its contract from the media proven: provenMs of wholeMs is paid to the seller,
 * the rest refunded. Exactly once: a rental already ended answers CONFLICT.
 */
export async function endRental(db: Db, contractId: string, by: 'SELLER' | 'BUYER' | 'WINDOW', now = new Date()) {
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.peripheralRental.updateMany({ where: { contractId, state: 'LIVE' }, data: { state: 'ENDED', endedAt: now, endedBy: by } });
    if (count === 0) throw new DomainError('CONFLICT', 'This rental has already ended.');
    // read after our write holds the row: every receipt counted before the end is in provenMs
    const row = await tx.peripheralRental.findUniqueOrThrow({ where: { contractId }, select: rentalSelect });
    const contract = await tx.contract.findUniqueOrThrow({ where: { id: contractId }, select: { state: true } });
    const seconds = Math.floor(row.provenMs / 1000);
    const note = `${END_NOTE[by]}: ${seconds} s of ${Math.floor(row.wholeMs / 1000)} s received, paid pro rata`;
    let state: string = contract.state;
    if (contract.state === 'MATCHED' || contract.state === 'ACTIVE') {
      state = await settleFromProofIn(tx, contractId, { part: row.provenMs, whole: row.wholeMs }, note, outbox, now);
    }
    announce(outbox, row, state, 'RENTAL_ENDED');
    return presentRental(row, { memberId: row.sellerId });
  });
}

/** The party's own ending: the seller stops, the buyer ends. */
export async function stopRental(db: Db, memberId: string, contractId: string, now = new Date()) {
  const row = await db.peripheralRental.findUnique({ where: { contractId }, select: { sellerId: true, buyerId: true, state: true } });
  if (!row || (row.sellerId !== memberId && row.buyerId !== memberId)) throw new DomainError('NOT_FOUND', 'No rental has started on this contract.');
  const ended = await endRental(db, contractId, row.sellerId === memberId ? 'SELLER' : 'BUYER', now);
  return { ...ended, role: row.sellerId === memberId ? ('SELLER' as const) : ('BUYER' as const) };
}

/** Ends the live rentals whose window closed (the sweeper, before the market fails undelivered contracts). */
export async function sweepRentals(db: Db, now = new Date()) {
  const due = await db.peripheralRental.findMany({ where: { state: 'LIVE', windowEnd: { lte: now } }, select: { contractId: true }, take: 500 });
  let ended = 0;
  for (const { contractId } of due) {
    try {
      await endRental(db, contractId, 'WINDOW', now);
      ended++;
    } catch (error) {
      // ended by a party (or another process) meanwhile
      if (!(error instanceof DomainError && error.kind === 'CONFLICT')) throw error;
    }
  }
  return { ended };
}

/** A party's view of a contract's rental (null when none has started), with the counterparty's handle. */
export async function rentalFor(db: Queryable, memberId: string, contractId: string) {
  const contract = await contractOf(db, contractId);
  if (contract.buyerId !== memberId && contract.sellerId !== memberId) throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  const [row, members] = await Promise.all([
    db.peripheralRental.findUnique({ where: { contractId }, select: rentalSelect }),
    db.member.findMany({ where: { id: { in: [contract.buyerId, contract.sellerId] } }, select: { id: true, handle: true } }),
  ]);
  const handle = (id: string) => members.find((m) => m.id === id)?.handle ?? '';
  return {
    contract: {
      id: contract.id,
      state: contract.state,
      quantity: contract.quantity,
      windowStart: contract.windowStart.toISOString(),
      windowEnd: contract.windowEnd.toISOString(),
      wholeMs: rentalWholeMs(contract.quantity, contract.windowStart, contract.windowEnd),
      rentable: contract.category === RENTAL_CATEGORY && contract.unit === RENTAL_UNIT,
    },
    role: contract.sellerId === memberId ? ('SELLER' as const) : ('BUYER' as const),
    seller: handle(contract.sellerId),
    buyer: handle(contract.buyerId),
    rental: row ? presentRental(row, { memberId }) : null,
  };
}

/** The member's peripheral contracts still open or with a rental, newest first (the Peripherals screen). */
export async function listRentals(db: Queryable, memberId: string) {
  const contracts = await db.contract.findMany({
    where: { category: RENTAL_CATEGORY, unit: RENTAL_UNIT, OR: [{ buyerId: memberId }, { sellerId: memberId }] },
    orderBy: { createdAt: 'desc' },
    take: 50,
    select: { id: true, state: true, quantity: true, windowStart: true, windowEnd: true, buyerId: true, sellerId: true, buyer: { select: { handle: true } }, seller: { select: { handle: true } } },
  });
  const rentals = await db.peripheralRental.findMany({ where: { contractId: { in: contracts.map((c) => c.id) } }, select: rentalSelect });
  const byContract = new Map(rentals.map((r) => [r.contractId, r]));
  return contracts.map((c) => {
    const rental = byContract.get(c.id);
    return {
      contractId: c.id,
      state: c.state,
      role: c.sellerId === memberId ? ('SELLER' as const) : ('BUYER' as const),
      counterparty: c.sellerId === memberId ? c.buyer.handle : c.seller.handle,
      windowStart: c.windowStart.toISOString(),
      windowEnd: c.windowEnd.toISOString(),
      wholeMs: rentalWholeMs(c.quantity, c.windowStart, c.windowEnd),
      rental: rental ? presentRental(rental, { memberId }) : null,
    };
  });
}
