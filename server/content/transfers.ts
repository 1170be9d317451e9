import { DomainError } from '../errors';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';
import { kindOf, type Db, type Prisma, type Tx } from '../db/client';
import { toMicro } from '../money';
import { lockBook } from '../db/book-lock';
import { applyContractActions } from '../market/contracts';
import { executeFill } from '../market/fills';
import { withOutbox, type Outbox } from '../live/outbox';
import { openOrder } from '../market/place-order';
import { earnTransferTicket } from '../money/sweepstakes';
import { FILE_CATEGORY, itemSelect, maySee, presentItem } from './items';
import { markResultsDelivered } from '../compute/results-device';
import { checkFileLeg, fileLegDelivered } from './file-legs';

/** A transfer that has not completed a day after it was requested fails, and its credits are refunded. */
export const TRANSFER_TTL_MS = 24 * 3_600_000;

const transferSelect = {
  id: true, itemId: true, communityId: true, senderDeviceId: true, receiverDeviceId: true, senderId: true, receiverId: true,
  contractId: true, status: true, verifiedChunks: true, createdAt: true, updatedAt: true, completedAt: true,
  item: { select: itemSelect },
} satisfies Prisma.TransferSelect;

type TransferRow = Prisma.TransferGetPayload<{ select: typeof transferSelect }>;

function presentTransfer(row: TransferRow, now: Date, receiverHandle: string) {
  return {
    id: row.id,
    itemId: row.itemId,
    communityId: row.communityId,
    senderDeviceId: row.senderDeviceId,
    receiverDeviceId: row.receiverDeviceId,
    senderId: row.senderId,
    receiverId: row.receiverId,
    receiver: { handle: receiverHandle },
    contractId: row.contractId,
    status: row.status,
    verifiedChunks: row.verifiedChunks,
    createdAt: row.createdAt.toISOString(),
    completedAt: row.completedAt?.toISOString() ?? null,
    item: presentItem(row.item, { address: null }, now, true),
  };
}

function notifyParties(outbox: Outbox, row: { id: string; itemId: string; senderId: string; receiverId: string }, status: string, verifiedChunks: number) {
  outbox.add([row.senderId, row.receiverId], { type: 'transfer', transferId: row.id, itemId: row.itemId, status, verifiedChunks });
}

async function handleOf(db: Db | Tx, memberId: string) {
  return (await db.member.findUniqueOrThrow({ where: { id: memberId }, select: { handle: true } })).handle;
}

const OPEN_TRANSFER = ['REQUESTED', 'ACTIVE'] as const;

/** Whether the member already received a verified copy of the item (bought it, or was given it). */
export async function hasCopy(db: Db | Tx, memberId: string, itemId: string): Promise<boolean> {
  return (await db.transfer.count({ where: { itemId, receiverId: memberId, status: 'COMPLETED' } })) > 0;
}

/**
 * Asks for a copy of an item onto one of the member's devices. A priced item is bought first: a FILE
 * BUY at the item's price fills against the item's standing SELL, escrowing the credits until the
 * receiver's hash verifies. A gift needs no market step.
 *
 * Exactly once: under the FILE book lock, a request is refused (CONFLICT) while the same device is
 * still getting the item, and, for a priced item not yet bought, while any of the member's devices is
 * still buying it — so a double tap or a retried request never buys twice. A member who already has
 * a verified copy of a priced item gets another copy (a re-download, another device) free: no second
 * purchase, no contract, no sweepstakes ticket.
 */
export async function requestItem(db: Db, memberId: string, input: { itemId: string; deviceId: string; contractId?: string }, now = new Date()) {
  const device = { id: input.deviceId };
  const item = await db.contentItem.findUnique({
    where: { id: input.itemId },
    select: {
      id: true, communityId: true, memberId: true, recipientId: true, recipientDeviceId: true, deviceId: true, pricing: true, price: true, withdrawn: true,
      orders: { where: { status: 'OPEN', side: 'SELL' }, select: { id: true } },
    },
  });
  // a private gift for someone else is "not found", as an unknown id is
  if (!item || !(await maySee(db, memberId, item))) {
    if (item?.communityId && item.recipientId === null) throw new DomainError('FORBIDDEN', "Join this item's community to request it.");
    throw new DomainError('NOT_FOUND', 'No such item.');
  }
  if (item.withdrawn) throw new DomainError('NOT_FOUND', item.recipientId ? 'This gift is no longer offered.' : 'Its owner has withdrawn this item.');
  // one's own item is already on one's device, except a gift sent on purpose to another of one's devices
  if (item.memberId === memberId && item.recipientDeviceId !== device.id) throw new DomainError('BAD_INPUT', 'This is your own item: it is already on your device.');
  if (item.communityId === null) {
    if (input.contractId) throw new DomainError('BAD_INPUT', 'A private gift counts towards no contract.');
    return requestGift(db, memberId, { id: item.id, memberId: item.memberId, deviceId: item.deviceId }, device, now);
  }
  const { communityId } = item;
  const membership = await db.membership.findUniqueOrThrow({ where: { memberId_communityId: { memberId, communityId } }, select: { community: { select: { id: true, commissionBps: true, creditLimit: true } } } });
  const community = { ...membership.community, creditLimit: toMicro(membership.community.creditLimit) };

  return withOutbox(db, async (tx, outbox) => {
    // every request of the community's files is serialized by the book lock: the checks below hold until commit
    await lockBook(tx, communityId, FILE_CATEGORY);
    const current = await tx.contentItem.findUniqueOrThrow({ where: { id: item.id }, select: { withdrawn: true } });
    if (current.withdrawn) throw new DomainError('NOT_FOUND', 'Its owner has withdrawn this item.');
    const open = await tx.transfer.findMany({
      where: { itemId: item.id, receiverId: memberId, status: { in: [...OPEN_TRANSFER] } },
      select: { receiverDeviceId: true, contractId: true },
    });
    if (open.some((t) => t.receiverDeviceId === device.id)) {
      throw new DomainError('CONFLICT', 'You are already getting this file on this device: see Transfers.');
    }
    // a copy taken against a barter's file leg: no purchase, the leg's contract is what it proves (file-legs.ts)
    const leg = input.contractId ? await checkFileLeg(tx, memberId, input.contractId, { id: item.id, memberId: item.memberId, communityId }) : null;
    if (leg) {
      const transfer = await tx.transfer.create({
        data: { itemId: item.id, communityId, senderDeviceId: item.deviceId, receiverDeviceId: device.id, senderId: item.memberId, receiverId: memberId, contractId: leg.id },
        select: transferSelect,
      });
      notifyParties(outbox, transfer, 'REQUESTED', 0);
      return { transfer: presentTransfer(transfer, now, await handleOf(tx, memberId)), contractId: leg.id, alreadyBought: false };
    }
    const bought = item.pricing === 'CREDITS' && (await hasCopy(tx, memberId, item.id));
    if (item.pricing === 'CREDITS' && !bought && open.length > 0) {
      throw new DomainError('CONFLICT', 'You are already buying this file on another of your devices: see Transfers. Once it arrives, copies to your other devices are free.');
    }
    let contractId: string | null = null;
    if (item.pricing === 'CREDITS' && !bought) {
      const sell = item.orders[0];
      if (!sell) throw new DomainError('NOT_FOUND', 'This item is no longer offered.');
      const buy = await openOrder(tx, memberId, community, {
        side: 'BUY', category: FILE_CATEGORY, unit: 'ITEM', kind: 'STANDING', quantity: 1, price: toMicro(item.price),
        windowStart: now, windowEnd: new Date(now.getTime() + TRANSFER_TTL_MS), deviceId: device.id,
        constraints: {}, negotiation: { mode: 'NONE', limit: null }, contentItemId: item.id,
      }, now);
      ({ contractId } = await executeFill(tx, community, { buyOrderId: buy.id, sellOrderId: sell.id, quantity: 1, price: toMicro(item.price), pricing: 'CROSS' }, outbox));
    }
    const transfer = await tx.transfer.create({
      data: {
        itemId: item.id, communityId: item.communityId, senderDeviceId: item.deviceId, receiverDeviceId: device.id,
        senderId: item.memberId, receiverId: memberId, contractId,
      },
      select: transferSelect,
    });
    notifyParties(outbox, transfer, 'REQUESTED', 0);
    // alreadyBought: a free copy of a priced item the member had already bought (no contract, nothing charged)
    return { transfer: presentTransfer(transfer, now, await handleOf(tx, memberId)), contractId, alreadyBought: bought };
  });
}

/** Holds the item's row until the transaction ends (PostgreSQL; SQLite serializes every transaction). */
async function lockItem(tx: Tx, itemId: string) {
  if (kindOf(tx) === 'postgres') await tx.$executeRaw`SELECT 1 FROM "ContentItem" WHERE "id" = ${itemId} FOR UPDATE`;
}

/**
 * A copy of a private gift (no community, no market): under the item's row lock, refused while this device
 * is already getting it.
 */
async function requestGift(db: Db, memberId: string, item: { id: string; memberId: string; deviceId: string }, device: { id: string }, now: Date) {
  return withOutbox(db, async (tx, outbox) => {
    await lockItem(tx, item.id);
    const current = await tx.contentItem.findUniqueOrThrow({ where: { id: item.id }, select: { withdrawn: true } });
    if (current.withdrawn) throw new DomainError('NOT_FOUND', 'This gift is no longer offered.');
    const open = await tx.transfer.count({ where: { itemId: item.id, receiverDeviceId: device.id, status: { in: [...OPEN_TRANSFER] } } });
    if (open > 0) throw new DomainError('CONFLICT', 'You are already getting this file on this device: see Transfers.');
    const transfer = await tx.transfer.create({
      data: { itemId: item.id, communityId: null, senderDeviceId: item.deviceId, receiverDeviceId: device.id, senderId: item.memberId, receiverId: memberId, contractId: null },
      select: transferSelect,
    });
    notifyParties(outbox, transfer, 'REQUESTED', 0);
    return { transfer: presentTransfer(transfer, now, await handleOf(tx, memberId)), contractId: null, alreadyBought: false };
  });
}

async function presentRows(db: Db, rows: TransferRow[], now: Date) {
  const handles = new Map((await db.member.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.receiverId))] } }, select: { id: true, handle: true } })).map((m) => [m.id, m.handle]));
  return rows.map((row) => presentTransfer(row, now, handles.get(row.receiverId) ?? ''));
}

const ofDevice = (deviceId: string) => ({ OR: [{ senderDeviceId: deviceId }, { receiverDeviceId: deviceId }] });

/** How many finished transfers the transfer manager loads besides the open ones; older ones page (`transferHistory`). */
const RECENT_FINISHED = 100;

/**
 * The transfers of one of the member's devices that its transfer manager works with (the router checked the
 * device is theirs): every open one, however many, so that none is left unresumed, and the newest finished ones.
 */
export async function deviceTransfers(db: Db, deviceId: string, now = new Date()) {
  const [open, finished] = await Promise.all([
    db.transfer.findMany({ where: { ...ofDevice(deviceId), status: { in: [...OPEN_TRANSFER] } }, orderBy: { createdAt: 'desc' }, select: transferSelect }),
    db.transfer.findMany({ where: { ...ofDevice(deviceId), status: { notIn: [...OPEN_TRANSFER] } }, orderBy: { createdAt: 'desc' }, take: RECENT_FINISHED, select: transferSelect }),
  ]);
  return presentRows(db, [...open, ...finished].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()), now);
}

/** Every transfer of one of the member's devices, newest first, a page at a time. */
export async function transferHistory(db: Db, deviceId: string, page: PageRequest, now = new Date()) {
  const rows = await db.transfer.findMany({
    where: { AND: [ofDevice(deviceId), afterCursor(page.cursor, 'desc')] },
    orderBy: pageOrder('desc'),
    take: page.limit + 1,
    select: transferSelect,
  });
  const presented = await presentRows(db, rows, now);
  const byId = new Map(presented.map((p) => [p.id, p]));
  return toPage(rows, page.limit, (row) => byId.get(row.id)!);
}

const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * A device's report on a transfer (the device is the member's: the router checked). The receiver records the chunks it has verified (the resume point)
 * and, once the whole file's SHA-256 matched, completes it: the contract is delivered and signed off,
 * paying the seller less commission. Either side may cancel; a failed or cancelled sale is refunded.
 */
export async function updateTransfer(
  db: Db,
  memberId: string,
  input: { transferId: string; deviceId: string; verifiedChunks: number; status?: 'ACTIVE' | 'COMPLETED' | 'FAILED' | 'CANCELLED' },
  now = new Date(),
) {
  const row = await db.transfer.findUnique({ where: { id: input.transferId }, select: transferSelect });
  const device = { id: input.deviceId };
  if (!row || (row.receiverDeviceId !== device.id && row.senderDeviceId !== device.id)) {
    throw new DomainError('NOT_FOUND', 'This device has no transfer with that id.');
  }
  const isReceiver = row.receiverDeviceId === device.id;
  if (FINAL.includes(row.status)) throw new DomainError('CONFLICT', `This transfer is already ${row.status.toLowerCase()}.`);
  const chunkCount = (row.item.chunkHashes as string[]).length;
  if (input.verifiedChunks > chunkCount) throw new DomainError('BAD_INPUT', `The file has only ${chunkCount} chunks.`);
  const status = input.status ?? 'ACTIVE';
  if (!isReceiver && (status === 'ACTIVE' || status === 'COMPLETED')) {
    throw new DomainError('FORBIDDEN', 'Only the receiving device reports progress and completion.');
  }
  if (status === 'COMPLETED' && input.verifiedChunks !== chunkCount) {
    throw new DomainError('BAD_INPUT', `A transfer completes when all ${chunkCount} chunks are verified.`);
  }
  return withOutbox(db, async (tx, outbox) => {
    const verifiedChunks = isReceiver ? input.verifiedChunks : row.verifiedChunks;
    const { count } = await tx.transfer.updateMany({
      where: { id: row.id, status: { notIn: ['COMPLETED', 'FAILED', 'CANCELLED'] } },
      data: { status, verifiedChunks, ...(status === 'COMPLETED' ? { completedAt: now } : {}) },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'This transfer changed meanwhile: refresh and try again.');
    const leg = row.contractId ? await tx.contract.findUnique({ where: { id: row.contractId }, select: { barterDealId: true } }) : null;
    if (row.contractId && leg?.barterDealId) {
      // a barter's file leg: each verified copy proves one item; a failed one leaves the leg open for another
      if (status === 'COMPLETED') await fileLegDelivered(tx, row.contractId, outbox);
    } else if (row.contractId && status === 'COMPLETED') {
      await applyContractActions(tx, row.contractId, [
        { action: 'REPORT_DELIVERED', actor: 'SELLER', actorId: null, note: 'All chunks and the file hash verified by the receiver' },
        { action: 'SIGN_OFF', actor: 'BUYER', actorId: memberId, note: 'Signed off on the verified file' },
      ], outbox);
    } else if (row.contractId && (status === 'FAILED' || status === 'CANCELLED')) {
      await applyContractActions(tx, row.contractId, [
        { action: 'FAIL', actor: 'SYSTEM', actorId: null, note: `Transfer ${status.toLowerCase()}` },
        { action: 'REFUND', actor: 'SYSTEM', actorId: null, note: 'Escrow returned to the buyer' },
      ], outbox);
    }
    // a ticket only for a paid transfer (the buyer paid and signed off), never for a gift
    if (status === 'COMPLETED' && row.communityId) await earnTransferTicket(tx, { ...row, communityId: row.communityId });
    // a job's results sent to this device: delivered once its whole-file hash verified
    if (status === 'COMPLETED' && !row.communityId) await markResultsDelivered(tx, row, outbox, now);
    notifyParties(outbox, row, status, verifiedChunks);
    return presentTransfer(await tx.transfer.findUniqueOrThrow({ where: { id: row.id }, select: transferSelect }), now, await handleOf(tx, row.receiverId));
  });
}

/** Transfers left unfinished past their time fail; their contracts are refunded by the market's sweep. */
export async function sweepTransfers(db: Db, now = new Date()) {
  const { count } = await db.transfer.updateMany({
    where: { status: { in: ['REQUESTED', 'ACTIVE'] }, createdAt: { lte: new Date(now.getTime() - TRANSFER_TTL_MS) } },
    data: { status: 'FAILED' },
  });
  return { transfersFailed: count };
}
