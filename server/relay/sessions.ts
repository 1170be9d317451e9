/**
 * Relay sessions: a NETWORK/MB contract delivered by the seller's device relaying bytes between the buyer's
 * device (the sender) and another member's device (the receiver), paid for what both ends prove in signed
 * cumulative receipts (the delivery rule, server/delivery/rule.ts). The bytes are end-to-end encrypted between
 * the two ends (ECDH P-256 → AES-GCM in the browser, app/_lib/relay/); the relay forwards ciphertext only.
 *
 * The buyer opens a session from one of their devices to a receiving device (of a member of the contract's
 * community, or a device paired with the sending one); the receiver joins with one of their devices (it needs a
 * registered device key); the seller's device attaches as the relay. Each end's accepted receipts raise its
 * count; the session ends when a party ends it or the window closes, and the contract settles once, paying
 * min(sender's, receiver's) of quantity × 1,000,000 bytes.
 *
 * Concurrency: every change is a conditional write on the session row — a receipt only against the session
 * still LIVE with the end's `seq` it was judged on, an end only from LIVE — so of concurrent duplicates one
 * applies, on SQLite and PostgreSQL alike; the settlement reads the counts after taking the row with its write.
 */
import type { Db, Prisma, Queryable } from '../db/client';
import { settleFromProofIn } from '../delivery/proof';
import { signatureValid } from '../device/signature';
import { DomainError } from '../errors';
import { withOutbox, type Outbox } from '../live/outbox';
import { BYTES_PER_MB, relayReceiptBytes, type RelayReceipt, type RelayRole } from './receipt-format';
import { judgeRelayReceipt, provenBytes, relayWholeBytes } from './rules';
import { isUniqueViolation } from '../db/unique';

export const RELAY_CATEGORY = 'NETWORK';
export const RELAY_UNIT = 'MB';
/** A session may be opened this long before its window opens (bytes count from the window's start). */
export const EARLY_OPEN_MS = 5 * 60_000;

export type RelayEndedBy = 'SENDER' | 'RECEIVER' | 'RELAY' | 'WINDOW';

const sessionSelect = {
  id: true, contractId: true, communityId: true, sellerId: true, buyerId: true, receiverId: true, senderDeviceId: true, receiverDeviceId: true,
  relayDeviceId: true, state: true, openedAt: true, joinedAt: true, windowStart: true, windowEnd: true, wholeBytes: true, senderBytes: true,
  senderSeq: true, senderAt: true, receiverBytes: true, receiverSeq: true, receiverAt: true, provenBytes: true, endedAt: true, endedBy: true,
} satisfies Prisma.RelaySessionSelect;
type SessionRow = Prisma.RelaySessionGetPayload<{ select: typeof sessionSelect }>;


/** The row with its byte counts as numbers (they stay far below 2^53: at most quantity × 10^6). */
function numeric(row: SessionRow) {
  return {
    ...row,
    wholeBytes: Number(row.wholeBytes),
    senderBytes: Number(row.senderBytes),
    receiverBytes: Number(row.receiverBytes),
    provenBytes: row.provenBytes === null ? null : Number(row.provenBytes),
  };
}

function announce(outbox: Outbox, row: { id: string; sellerId: string; buyerId: string; receiverId: string; contractId: string }, state: string, action: string) {
  outbox.add([row.sellerId, row.buyerId], { type: 'contract', contractId: row.contractId, state, action });
  outbox.add([row.receiverId], { type: 'relay', sessionId: row.id, contractId: row.contractId, action });
}

export type RelayViewerRole = 'SENDER' | 'RECEIVER' | 'RELAY';

function viewerRole(row: { buyerId: string; sellerId: string; receiverId: string }, memberId: string): RelayViewerRole | null {
  if (row.buyerId === memberId) return 'SENDER';
  if (row.sellerId === memberId) return 'RELAY';
  if (row.receiverId === memberId) return 'RECEIVER';
  return null;
}

type Keys = Map<string, { publicKey: string | null; keyAlgorithm: string | null }>;
type Handles = Map<string, string>;

export function presentSession(row: SessionRow, viewer: { memberId: string }, handles: Handles, keys: Keys, price: number | null = null) {
  const n = numeric(row);
  const key = (deviceId: string) => {
    const k = keys.get(deviceId);
    return k?.publicKey && k.keyAlgorithm ? { publicKey: k.publicKey, algorithm: k.keyAlgorithm } : null;
  };
  return {
    id: n.id,
    contractId: n.contractId,
    role: viewerRole(n, viewer.memberId) ?? ('RECEIVER' as const),
    state: n.state as 'LIVE' | 'ENDED',
    sender: { handle: handles.get(n.buyerId) ?? '', deviceId: n.senderDeviceId, key: key(n.senderDeviceId), bytes: n.senderBytes, seq: n.senderSeq },
    receiver: { handle: handles.get(n.receiverId) ?? '', deviceId: n.receiverDeviceId, key: key(n.receiverDeviceId), bytes: n.receiverBytes, seq: n.receiverSeq, joined: n.joinedAt !== null },
    relay: { handle: handles.get(n.sellerId) ?? '', deviceId: n.relayDeviceId },
    openedAt: n.openedAt.toISOString(),
    windowStart: n.windowStart.toISOString(),
    windowEnd: n.windowEnd.toISOString(),
    wholeBytes: n.wholeBytes,
    /** what both ends confirm so far (and what was paid for, once ended) */
    provenBytes: n.provenBytes ?? provenBytes(n.senderBytes, n.receiverBytes),
    endedAt: n.endedAt?.toISOString() ?? null,
    endedBy: (n.endedBy ?? null) as RelayEndedBy | null,
    /** the contract's price per MB in micro-credits, for its parties (not the receiver) */
    pricePerMb: viewerRole(n, viewer.memberId) === 'RECEIVER' ? null : price,
  };
}
export type RelaySessionView = ReturnType<typeof presentSession>;

async function present(db: Queryable, row: SessionRow, memberId: string) {
  const [members, devices, contract] = await Promise.all([
    db.member.findMany({ where: { id: { in: [row.buyerId, row.sellerId, row.receiverId] } }, select: { id: true, handle: true } }),
    db.device.findMany({ where: { id: { in: [row.senderDeviceId, row.receiverDeviceId] } }, select: { id: true, publicKey: true, keyAlgorithm: true } }),
    db.contract.findUnique({ where: { id: row.contractId }, select: { price: true } }),
  ]);
  return presentSession(row, { memberId }, new Map(members.map((m) => [m.id, m.handle])), new Map(devices.map((d) => [d.id, d])), contract ? Number(contract.price) : null);
}

/** The session as a party sees it, or NOT_FOUND for anyone else (no hint that it exists). */
async function sessionFor(db: Queryable, memberId: string, where: { id: string } | { contractId: string }) {
  const row = await db.relaySession.findUnique({ where, select: sessionSelect });
  if (!row || !viewerRole(row, memberId)) throw new DomainError('NOT_FOUND', 'There is no relay session with that id for you.');
  return row;
}

async function keyedDevice(db: Queryable, memberId: string, deviceId: string, what: string) {
  const device = await db.device.findFirst({ where: { id: deviceId, memberId }, select: { publicKey: true } });
  if (!device) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  if (!device.publicKey) throw new DomainError('PRECONDITION', `This device has no registered key to sign ${what} with: register its key first.`);
}

export type OpenInput = { contractId: string; deviceId: string; toDeviceId: string };

/**
 * The buyer opens the contract's relay session from one of their devices (the sender, with a device key) to a
 * receiving device of another member — one in the contract's community, or a device paired with the sender.
 * Opening again with the same ends (a reload) returns the live session; other ends are refused while it lives.
 */
export async function openSession(db: Db, memberId: string, input: OpenInput, now = new Date()) {
  const contract = await db.contract.findUnique({
    where: { id: input.contractId },
    select: { id: true, communityId: true, buyerId: true, sellerId: true, category: true, unit: true, quantity: true, state: true, windowStart: true, windowEnd: true },
  });
  if (!contract || (contract.buyerId !== memberId && contract.sellerId !== memberId)) throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  if (contract.buyerId !== memberId) throw new DomainError('FORBIDDEN', 'Only the buyer opens a relay session: as the seller, your device relays once it is open.');
  if (contract.category !== RELAY_CATEGORY || contract.unit !== RELAY_UNIT) throw new DomainError('BAD_INPUT', 'Only a network contract in MB can be delivered as a relay.');
  await keyedDevice(db, memberId, input.deviceId, 'receipts');
  const target = await db.device.findUnique({ where: { id: input.toDeviceId }, select: { memberId: true } });
  const reachable =
    target &&
    target.memberId !== memberId &&
    target.memberId !== contract.sellerId &&
    ((await db.membership.count({ where: { memberId: target.memberId, communityId: contract.communityId } })) > 0 || (await db.devicePairing.count({ where: { OR: [{ deviceId: input.deviceId, pairedId: input.toDeviceId }, { deviceId: input.toDeviceId, pairedId: input.deviceId }] } })) > 0);
  if (!reachable) {
    if (target && target.memberId === contract.sellerId) throw new DomainError('BAD_INPUT', 'The relay cannot also be the receiver: choose another member’s device.');
    if (target && target.memberId === memberId) throw new DomainError('BAD_INPUT', 'A relay carries bytes to another member: choose a device that is not yours.');
    throw new DomainError('NOT_FOUND', "No device you can send to has that id: choose a device of a member of this contract's community, or pair with it first.");
  }

  const existing = await db.relaySession.findUnique({ where: { contractId: contract.id }, select: sessionSelect });
  if (existing) return reopen(db, existing, input, memberId);
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') throw new DomainError('PRECONDITION', 'This contract is no longer open: there is nothing left to relay.');
  if (now.getTime() >= contract.windowEnd.getTime()) throw new DomainError('PRECONDITION', "This contract's window has closed.");
  if (now.getTime() < contract.windowStart.getTime() - EARLY_OPEN_MS) throw new DomainError('PRECONDITION', "This contract's window has not opened yet: open the relay at most 5 minutes before it.");
  try {
    return await withOutbox(db, async (tx, outbox) => {
      const row = await tx.relaySession.create({
        data: {
          contractId: contract.id, communityId: contract.communityId, sellerId: contract.sellerId, buyerId: contract.buyerId, receiverId: target.memberId,
          senderDeviceId: input.deviceId, receiverDeviceId: input.toDeviceId, openedAt: now, windowStart: contract.windowStart, windowEnd: contract.windowEnd,
          wholeBytes: BigInt(relayWholeBytes(contract.quantity)),
        },
        select: sessionSelect,
      });
      announce(outbox, row, contract.state, 'RELAY_OPENED');
      return present(tx, row, memberId);
    });
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    const row = await db.relaySession.findUniqueOrThrow({ where: { contractId: contract.id }, select: sessionSelect });
    return reopen(db, row, input, memberId);
  }
}

async function reopen(db: Db, row: SessionRow, input: OpenInput, memberId: string) {
  if (row.state !== 'LIVE') throw new DomainError('PRECONDITION', 'This relay session has ended and its contract is settled: it cannot open again.');
  if (row.senderDeviceId !== input.deviceId) {
    throw new DomainError('CONFLICT', 'A relay session is already open on this contract from another device: end it first, or send from that device.');
  }
  if (row.receiverDeviceId !== input.toDeviceId && (await db.device.count({ where: { id: input.toDeviceId, memberId: row.receiverId } })) === 0) {
    throw new DomainError('CONFLICT', 'A relay session is already open on this contract to another member: end it first.');
  }
  return present(db, row, memberId);
}

/**
 * The receiving member joins with one of their devices (it needs a registered key: its receipts are signed).
 * Another of their devices may take over only before the first receipt of the receiving end.
 */
export async function joinSession(db: Db, memberId: string, input: { sessionId: string; deviceId: string }, now = new Date()) {
  const row = await sessionFor(db, memberId, { id: input.sessionId });
  if (row.receiverId !== memberId) throw new DomainError('FORBIDDEN', 'Only the receiving member joins a relay session with their device.');
  if (row.state !== 'LIVE') return present(db, row, memberId);
  await keyedDevice(db, memberId, input.deviceId, 'receipts');
  if (row.receiverDeviceId === input.deviceId && row.joinedAt) return present(db, row, memberId);
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.relaySession.updateMany({
      where: { id: row.id, state: 'LIVE', receiverSeq: 0 },
      data: { receiverDeviceId: input.deviceId, joinedAt: row.joinedAt ?? now },
    });
    if (count === 0) throw new DomainError('CONFLICT', 'This relay session has ended, or its receiving device has already counted bytes: join from that device.');
    announce(outbox, row, 'ACTIVE', 'RELAY_JOINED');
    return present(tx, { ...row, receiverDeviceId: input.deviceId, joinedAt: row.joinedAt ?? now }, memberId);
  });
}

/** The seller's device attaches as the relay (again from another of the seller's devices after a move). */
export async function serveSession(db: Db, memberId: string, input: { sessionId: string; deviceId: string }) {
  const row = await sessionFor(db, memberId, { id: input.sessionId });
  if (row.sellerId !== memberId) throw new DomainError('FORBIDDEN', 'Only the seller’s device relays this session.');
  if (row.state !== 'LIVE') return present(db, row, memberId);
  if ((await db.device.count({ where: { id: input.deviceId, memberId } })) === 0) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  if (row.relayDeviceId === input.deviceId) return present(db, row, memberId);
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.relaySession.updateMany({ where: { id: row.id, state: 'LIVE' }, data: { relayDeviceId: input.deviceId } });
    if (count === 0) throw new DomainError('PRECONDITION', 'This relay session has just ended.');
    announce(outbox, row, 'ACTIVE', 'RELAY_SERVING');
    return present(tx, { ...row, relayDeviceId: input.deviceId }, memberId);
  });
}

/**
 * Counts an end's cumulative receipt: signed by that end's device key, and accepted by the rules
 * (server/relay/rules.ts). Refused receipts change nothing.
 */
export async function submitRelayReceipt(db: Db, memberId: string, body: RelayReceipt, signature: string, now = new Date()) {
  const row = await sessionFor(db, memberId, { id: body.sessionId });
  const owner = body.role === 'SENDER' ? row.buyerId : row.receiverId;
  if (owner !== memberId) throw new DomainError('FORBIDDEN', body.role === 'SENDER' ? "Only the sender's device counts what it sent." : "Only the receiver's device counts what it received.");
  const device = await db.device.findFirst({ where: { id: body.deviceId, memberId }, select: { publicKey: true, keyAlgorithm: true } });
  if (!device) throw new DomainError('FORBIDDEN', 'That device is not yours, so it cannot sign for this session.');
  const n = numeric(row);
  const verdict = judgeRelayReceipt(n, body, now);
  if (!verdict.ok) throw new DomainError(verdict.kind, verdict.message);
  if (!device.publicKey || !device.keyAlgorithm || !signatureValid(device.publicKey, device.keyAlgorithm, relayReceiptBytes(body), signature)) {
    throw new DomainError('BAD_INPUT', "The receipt's signature does not verify with this device's key: it was altered or signed by another key.");
  }
  const sender = body.role === 'SENDER';
  const contract = await db.contract.findUnique({ where: { id: row.contractId }, select: { state: true } });
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.relaySession.updateMany({
      where: sender ? { id: row.id, state: 'LIVE', senderSeq: row.senderSeq } : { id: row.id, state: 'LIVE', receiverSeq: row.receiverSeq, receiverDeviceId: row.receiverDeviceId },
      data: sender
        ? { senderSeq: body.seq, senderBytes: BigInt(body.bytes), senderAt: now }
        : { receiverSeq: body.seq, receiverBytes: BigInt(body.bytes), receiverAt: now },
    });
    if (count === 0) throw new DomainError('CONFLICT', 'Another receipt of this end was counted at the same moment, or the session ended: this one was not counted.');
    await tx.relayReceipt.create({ data: { sessionId: row.id, role: body.role, seq: body.seq, bytes: BigInt(body.bytes), at: BigInt(body.at), signature, acceptedAt: now } });
    announce(outbox, row, contract?.state ?? 'ACTIVE', 'RELAY_RECEIPT');
    const senderBytes = sender ? body.bytes : n.senderBytes;
    const receiverBytes = sender ? n.receiverBytes : body.bytes;
    return { role: body.role, seq: body.seq, bytes: body.bytes, provenBytes: provenBytes(senderBytes, receiverBytes), wholeBytes: n.wholeBytes };
  });
}

const END_NOTE: Record<RelayEndedBy, string> = {
  SENDER: 'The sender ended the relay',
  RECEIVER: 'The receiver ended the relay',
  RELAY: 'The relay stopped',
  WINDOW: 'The window closed',
};

const mb = (bytes: number) => (bytes / BYTES_PER_MB).toLocaleString('en-US', { maximumFractionDigits: 2 });

/**
 * Ends a live session and settles its contract from what both ends confirm: min(sender, receiver) bytes of the
 * contract's quantity × 1,000,000 are paid to the seller, the rest refunded. Exactly once: a session already
 * ended answers CONFLICT.
 */
export async function endSession(db: Db, contractId: string, by: RelayEndedBy, now = new Date()) {
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.relaySession.updateMany({ where: { contractId, state: 'LIVE' }, data: { state: 'ENDED', endedAt: now, endedBy: by } });
    if (count === 0) throw new DomainError('CONFLICT', 'This relay session has already ended.');
    // read after our write holds the row: every receipt counted before the end is in the counts
    const row = numeric(await tx.relaySession.findUniqueOrThrow({ where: { contractId }, select: sessionSelect }));
    const proven = Math.min(provenBytes(row.senderBytes, row.receiverBytes), row.wholeBytes);
    await tx.relaySession.update({ where: { contractId }, data: { provenBytes: BigInt(proven) } });
    const contract = await tx.contract.findUniqueOrThrow({ where: { id: contractId }, select: { state: true } });
    const note = `${END_NOTE[by]}: ${mb(proven)} MB of ${mb(row.wholeBytes)} MB confirmed by both ends, paid pro rata`;
    let state: string = contract.state;
    if (contract.state === 'MATCHED' || contract.state === 'ACTIVE') {
      state = await settleFromProofIn(tx, contractId, { part: proven, whole: row.wholeBytes }, note, outbox, now);
    }
    announce(outbox, row, state, 'RELAY_ENDED');
    return { contractId, state: 'ENDED' as const, endedBy: by, provenBytes: proven, wholeBytes: row.wholeBytes, contractState: state };
  });
}

/** A party ends the session: the sender (buyer), the receiver, or the relay (seller). */
export async function stopSession(db: Db, memberId: string, sessionId: string, now = new Date()) {
  const row = await sessionFor(db, memberId, { id: sessionId });
  const role = viewerRole(row, memberId)!;
  return endSession(db, row.contractId, role, now);
}

/** Ends the live sessions whose window closed (the sweeper, before the market fails undelivered contracts). */
export async function sweepRelays(db: Db, now = new Date()) {
  const due = await db.relaySession.findMany({ where: { state: 'LIVE', windowEnd: { lte: now } }, select: { contractId: true }, take: 500 });
  let ended = 0;
  for (const { contractId } of due) {
    try {
      await endSession(db, contractId, 'WINDOW', now);
      ended++;
    } catch (error) {
      if (!(error instanceof DomainError && error.kind === 'CONFLICT')) throw error;
    }
  }
  return { ended };
}

/** One session as a party sees it. */
export async function getSession(db: Queryable, memberId: string, sessionId: string) {
  return present(db, await sessionFor(db, memberId, { id: sessionId }), memberId);
}

/** A contract's relay as its party sees it (null session until the buyer opens one). */
export async function relayForContract(db: Queryable, memberId: string, contractId: string) {
  const contract = await db.contract.findUnique({
    where: { id: contractId },
    select: { id: true, buyerId: true, sellerId: true, category: true, unit: true, quantity: true, state: true, windowStart: true, windowEnd: true, seller: { select: { handle: true } }, buyer: { select: { handle: true } } },
  });
  if (!contract || (contract.buyerId !== memberId && contract.sellerId !== memberId)) throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  const row = await db.relaySession.findUnique({ where: { contractId }, select: sessionSelect });
  return {
    contract: {
      id: contract.id,
      state: contract.state,
      quantity: contract.quantity,
      wholeBytes: relayWholeBytes(contract.quantity),
      windowStart: contract.windowStart.toISOString(),
      windowEnd: contract.windowEnd.toISOString(),
      relayable: contract.category === RELAY_CATEGORY && contract.unit === RELAY_UNIT,
    },
    role: contract.sellerId === memberId ? ('RELAY' as const) : ('SENDER' as const),
    seller: contract.seller.handle,
    buyer: contract.buyer.handle,
    session: row ? await present(db, row, memberId) : null,
  };
}

/** The member's relay sessions in any role (sending, receiving, relaying), newest first. */
export async function listSessions(db: Queryable, memberId: string) {
  const rows = await db.relaySession.findMany({
    where: { OR: [{ buyerId: memberId }, { sellerId: memberId }, { receiverId: memberId }] },
    orderBy: { openedAt: 'desc' },
    take: 50,
    select: sessionSelect,
  });
  return Promise.all(rows.map((row) => present(db, row, memberId)));
}

/** Whether two devices are the relay and an end of one live session (they may signal each other for it). */
export async function relayLinked(db: Queryable, a: string, b: string): Promise<boolean> {
  const count = await db.relaySession.count({
    where: {
      state: 'LIVE',
      OR: [
        { relayDeviceId: a, OR: [{ senderDeviceId: b }, { receiverDeviceId: b }] },
        { relayDeviceId: b, OR: [{ senderDeviceId: a }, { receiverDeviceId: a }] },
      ],
    },
  });
  return count > 0;
}

/**
 * Devices the buyer may send to through a contract's relay: those of the other members of its community (not the
 * buyer's, not the seller's), recently seen first, and devices paired with the sending device.
 */
export async function receiversFor(db: Queryable, memberId: string, contractId: string, deviceId: string) {
  const contract = await db.contract.findUnique({ where: { id: contractId }, select: { buyerId: true, sellerId: true, communityId: true } });
  if (!contract || (contract.buyerId !== memberId && contract.sellerId !== memberId)) throw new DomainError('NOT_FOUND', 'You have no contract with that id.');
  if (contract.buyerId !== memberId) throw new DomainError('FORBIDDEN', 'Only the buyer chooses where the relay sends.');
  const pairings = await db.devicePairing.findMany({ where: { OR: [{ deviceId, pairedId: { not: null } }, { pairedId: deviceId }] }, select: { deviceId: true, pairedId: true } });
  const paired = pairings.map((p) => (p.deviceId === deviceId ? p.pairedId! : p.deviceId));
  const devices = await db.device.findMany({
    where: {
      memberId: { notIn: [contract.buyerId, contract.sellerId] },
      OR: [{ member: { memberships: { some: { communityId: contract.communityId } } } }, { id: { in: paired } }],
    },
    select: { id: true, name: true, publicKey: true, member: { select: { handle: true } }, presence: { select: { lastSeen: true } } },
    take: 200,
  });
  return devices
    .map((d) => ({ deviceId: d.id, name: d.name, handle: d.member.handle, keyed: Boolean(d.publicKey), lastSeen: d.presence?.lastSeen.toISOString() ?? null }))
    .sort((a, b) => (b.lastSeen ?? '').localeCompare(a.lastSeen ?? '') || a.handle.localeCompare(b.handle))
    .slice(0, 50);
}
