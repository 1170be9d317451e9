/**
 * Broadcasts: one member's device streams live camera audio/video to the members of a community through a relay
 * tree of viewers' devices (the tree: ./tree.ts; the money: ./rules.ts). The coordinator keeps the tree: each
 * joining viewer gets the free place nearest the broadcaster; a viewer that leaves (its page says so, or its
 * heartbeat stops for VIEWER_TIMEOUT_MS) is taken out and its children are re-parented at once. Every change of a
 * parent is a new link (parent → child); the media flows over WebRTC between the two devices (signaling through
 * `signal.*`), and the child's signed cumulative receipts count what it received over the link. A relay's link is
 * paid once when it closes.
 *
 * Concurrency: a tree change first bumps the broadcast's `version` (a write that takes the row: on PostgreSQL,
 * concurrent tree changes of one broadcast wait for each other) and reads the tree after it; a receipt is a
 * conditional write on its link (still OPEN, at the number it was judged on); a link settles by the conditional
 * write OPEN → SETTLED and then reads its counts, so of concurrent settlements one pays, and no receipt counted
 * before it is missed. The end of the broadcast is LIVE → ENDED, likewise once.
 */
import type { Db, Prisma, Queryable, Tx } from '../db/client';
import { transaction } from '../db/transaction';
import { signatureValid } from '../device/signature';
import { DomainError } from '../errors';
import { communityAccount, escrowAccount, memberAccount, type PostingLine } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { withOutbox, type Outbox } from '../live/outbox';
import { toMicro } from '../money';
import {
  BROADCASTER_TIMEOUT_MS,
  broadcastReceiptBytes,
  BYTES_PER_MB,
  VIEWER_TIMEOUT_MS,
  type BroadcastReceipt,
} from './receipt-format';
import { judgeBroadcastReceipt, linkPay } from './rules';
import { planTree, shrinkNode, type Tree } from './tree';

const ACTIVE = ['WATCHING', 'WAITING'];

const broadcastSelect = {
  id: true, communityId: true, broadcasterId: true, deviceId: true, title: true, state: true, fanOut: true, pricePerMb: true, budget: true,
  spent: true, commissionBps: true, startedAt: true, lastSeen: true, endedAt: true,
} satisfies Prisma.BroadcastSelect;
type BroadcastRow = Prisma.BroadcastGetPayload<{ select: typeof broadcastSelect }>;

const viewerSelect = {
  id: true, broadcastId: true, memberId: true, deviceId: true, relay: true, fanOut: true, parentId: true, linkId: true, state: true, joinedAt: true,
  lastSeen: true, earned: true,
} satisfies Prisma.BroadcastViewerSelect;
type ViewerRow = Prisma.BroadcastViewerGetPayload<{ select: typeof viewerSelect }>;

const linkSelect = {
  id: true, broadcastId: true, childId: true, parentId: true, parentMemberId: true, parentDeviceId: true, childMemberId: true, childDeviceId: true,
  state: true, openedAt: true, closedAt: true, bytes: true, mediaMs: true, seq: true, receiptAt: true, paid: true,
} satisfies Prisma.BroadcastLinkSelect;

export type StartInput = { communityId: string; deviceId: string; title: string; fanOut: number; pricePerMb: number; budget: number };
export type JoinInput = { broadcastId: string; deviceId: string; relay: boolean; fanOut: number };

function event(outbox: Outbox, memberIds: string[], broadcastId: string, action: string) {
  outbox.add(memberIds, { type: 'broadcast', broadcastId, action });
}

async function community(db: Queryable, communityId: string) {
  return db.community.findUniqueOrThrow({ where: { id: communityId }, select: { id: true, name: true, slug: true, creditLimit: true, commissionBps: true } });
}

async function isMember(db: Queryable, memberId: string, communityId: string) {
  return (await db.membership.count({ where: { memberId, communityId } })) > 0;
}

/** The broadcast for a member of its community, or NOT_FOUND (no hint that it exists to anyone else). */
async function broadcastFor(db: Queryable, memberId: string, broadcastId: string): Promise<BroadcastRow> {
  const row = await db.broadcast.findUnique({ where: { id: broadcastId }, select: broadcastSelect });
  if (!row || !(await isMember(db, memberId, row.communityId))) throw new DomainError('NOT_FOUND', 'There is no broadcast with that id in your communities.');
  return row;
}

/** Takes the broadcast's row for a change of its tree (see the file's comment) and reads it after. */
async function lockTree(tx: Tx, broadcastId: string): Promise<BroadcastRow> {
  const { count } = await tx.broadcast.updateMany({ where: { id: broadcastId, state: 'LIVE' }, data: { version: { increment: 1 } } });
  if (count === 0) throw new DomainError('PRECONDITION', 'This broadcast has ended.');
  return tx.broadcast.findUniqueOrThrow({ where: { id: broadcastId }, select: broadcastSelect });
}

/**
 * Closes a link and, for a relay's link, pays what its child proved (./rules.ts `linkPay`) out of the broadcaster's
 * escrow. Once: a link already closed pays nothing more. Call with the broadcast's row taken (lockTree or the end).
 */
async function settleLink(tx: Tx, b: BroadcastRow, linkId: string, outbox: Outbox, now: Date): Promise<number> {
  const { count } = await tx.broadcastLink.updateMany({ where: { id: linkId, state: 'OPEN' }, data: { state: 'SETTLED', closedAt: now } });
  if (count === 0) return 0;
  // read after our write holds the row: every receipt counted before the close is in the counts
  const link = await tx.broadcastLink.findUniqueOrThrow({ where: { id: linkId }, select: linkSelect });
  if (link.parentId === null) {
    await tx.broadcastLink.update({ where: { id: linkId }, data: { paid: 0n } });
    return 0;
  }
  const money = await tx.broadcast.findUniqueOrThrow({ where: { id: b.id }, select: { spent: true, budget: true } });
  const pay = linkPay(Number(link.bytes), toMicro(b.pricePerMb), toMicro(money.budget) - toMicro(money.spent), b.commissionBps);
  await tx.broadcastLink.update({ where: { id: linkId }, data: { paid: BigInt(pay.gross) } });
  if (pay.gross === 0) return 0;
  await tx.broadcast.update({ where: { id: b.id }, data: { spent: { increment: BigInt(pay.gross) } } });
  const lines: PostingLine[] = [{ account: escrowAccount(b.broadcasterId), amount: -pay.gross }];
  if (pay.relay > 0) lines.push({ account: memberAccount(link.parentMemberId), amount: pay.relay });
  if (pay.commission > 0) lines.push({ account: communityAccount('COMMISSION'), amount: pay.commission });
  const c = await community(tx, b.communityId);
  const mb = (Number(link.bytes) / BYTES_PER_MB).toLocaleString('en-US', { maximumFractionDigits: 2 });
  await postEntry(tx, b.communityId, { kind: 'BROADCAST_RELAY', memo: `Relayed "${b.title}": ${mb} MB received by a viewer`, reference: b.id, onceKey: `broadcast-link:${link.id}`, lines }, { creditLimit: toMicro(c.creditLimit) });
  await tx.broadcastViewer.update({ where: { id: link.parentId }, data: { earned: { increment: BigInt(pay.relay) } } });
  event(outbox, [link.parentMemberId, b.broadcasterId], b.id, 'PAID');
  return pay.gross;
}

/** Viewers lose their parent: their links settle and they wait for a new place. */
async function detach(tx: Tx, b: BroadcastRow, viewers: ViewerRow[], outbox: Outbox, now: Date) {
  for (const v of viewers) {
    if (v.linkId) await settleLink(tx, b, v.linkId, outbox, now);
    await tx.broadcastViewer.update({ where: { id: v.id }, data: { state: 'WAITING', parentId: null, linkId: null } });
    event(outbox, [v.memberId], b.id, 'TREE');
  }
}

const asTree = (b: BroadcastRow, viewers: ViewerRow[]): Tree => ({
  rootFanOut: b.fanOut,
  nodes: viewers.map((v) => ({ id: v.id, parent: v.parentId, attached: v.state === 'WATCHING', relay: v.relay, fanOut: v.fanOut, joinedAt: v.joinedAt.getTime() })),
});

/** Gives every waiting viewer the best free place (./tree.ts), opening a link for each move. */
async function placeWaiting(tx: Tx, b: BroadcastRow, outbox: Outbox, now: Date) {
  const viewers = await tx.broadcastViewer.findMany({ where: { broadcastId: b.id, state: { in: ACTIVE } }, select: viewerSelect, orderBy: { joinedAt: 'asc' } });
  const byId = new Map(viewers.map((v) => [v.id, v]));
  const { moves } = planTree(asTree(b, viewers));
  for (const move of moves) {
    const child = byId.get(move.id)!;
    const parent = move.parent === null ? null : byId.get(move.parent)!;
    if (child.linkId) await settleLink(tx, b, child.linkId, outbox, now);
    const link = await tx.broadcastLink.create({
      data: {
        broadcastId: b.id, childId: child.id, parentId: parent?.id ?? null, parentMemberId: parent?.memberId ?? b.broadcasterId,
        parentDeviceId: parent?.deviceId ?? b.deviceId, childMemberId: child.memberId, childDeviceId: child.deviceId, openedAt: now,
      },
      select: { id: true },
    });
    await tx.broadcastViewer.update({ where: { id: child.id }, data: { state: 'WATCHING', parentId: parent?.id ?? null, linkId: link.id } });
    event(outbox, [child.memberId, parent?.memberId ?? b.broadcasterId, b.broadcasterId], b.id, 'TREE');
  }
  return moves.length;
}

/** Takes viewers out of the tree (LEFT): their own links and their children's settle, the children are re-placed. */
async function removeViewers(tx: Tx, b: BroadcastRow, gone: ViewerRow[], outbox: Outbox, now: Date) {
  if (gone.length === 0) return;
  const ids = gone.map((v) => v.id);
  for (const v of gone) {
    if (v.linkId) await settleLink(tx, b, v.linkId, outbox, now);
    await tx.broadcastViewer.update({ where: { id: v.id }, data: { state: 'LEFT', leftAt: now, parentId: null, linkId: null } });
  }
  const orphans = await tx.broadcastViewer.findMany({ where: { broadcastId: b.id, parentId: { in: ids }, state: 'WATCHING' }, select: viewerSelect });
  await detach(tx, b, orphans, outbox, now);
  event(outbox, [b.broadcasterId], b.id, 'TREE');
  await placeWaiting(tx, b, outbox, now);
}

/** Starts a broadcast from one of the member's devices, moving the relay budget to their escrow. */
export async function startBroadcast(db: Db, memberId: string, input: StartInput, now = new Date()) {
  if (!(await isMember(db, memberId, input.communityId))) throw new DomainError('NOT_FOUND', 'You are not a member of that community.');
  const device = await db.device.findFirst({ where: { id: input.deviceId, memberId }, select: { id: true } });
  if (!device) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  const c = await community(db, input.communityId);
  const id = await withOutbox(db, async (tx) => {
    const created = await tx.broadcast.create({
      data: {
        communityId: c.id, broadcasterId: memberId, deviceId: input.deviceId, title: input.title.trim(), fanOut: input.fanOut,
        pricePerMb: BigInt(input.pricePerMb), budget: BigInt(input.budget), commissionBps: c.commissionBps, startedAt: now, lastSeen: now,
      },
      select: { id: true },
    });
    if (input.budget > 0) {
      await postEntry(
        tx,
        c.id,
        { kind: 'BROADCAST_BUDGET', memo: `Relay budget of the broadcast "${input.title.trim()}"`, reference: created.id, onceKey: `broadcast-fund:${created.id}`, lines: [{ account: memberAccount(memberId), amount: -input.budget }, { account: escrowAccount(memberId), amount: input.budget }] },
        { creditLimit: toMicro(c.creditLimit) },
      );
    }
    return created.id;
  });
  return nodeView(db, memberId, id, input.deviceId);
}

/**
 * A member's device joins (or, after a reload, rejoins) a broadcast as a viewer, relaying for others when
 * `relay` (to `fanOut` children). It needs a registered device key: its receipts are signed.
 */
export async function joinBroadcast(db: Db, memberId: string, input: JoinInput, now = new Date()) {
  const b = await broadcastFor(db, memberId, input.broadcastId);
  if (b.state !== 'LIVE') throw new DomainError('PRECONDITION', 'This broadcast has ended.');
  const device = await db.device.findFirst({ where: { id: input.deviceId, memberId }, select: { publicKey: true } });
  if (!device) throw new DomainError('NOT_FOUND', 'You have no device with that id.');
  if (input.deviceId === b.deviceId) throw new DomainError('BAD_INPUT', 'This device is sending the broadcast: watch it from another device.');
  if (!device.publicKey) throw new DomainError('PRECONDITION', 'This device has no registered key to sign its receipts with: register its key first.');
  const fanOut = input.relay ? input.fanOut : 0;
  await withOutbox(db, async (tx, outbox) => {
    const locked = await lockTree(tx, b.id);
    const existing = await tx.broadcastViewer.findUnique({ where: { broadcastId_deviceId: { broadcastId: b.id, deviceId: input.deviceId } }, select: viewerSelect });
    if (!existing) {
      await tx.broadcastViewer.create({ data: { broadcastId: b.id, memberId, deviceId: input.deviceId, relay: input.relay, fanOut, state: 'WAITING', joinedAt: now, lastSeen: now } });
    } else if (existing.state === 'LEFT') {
      await tx.broadcastViewer.update({ where: { id: existing.id }, data: { relay: input.relay, fanOut, state: 'WAITING', joinedAt: now, lastSeen: now, leftAt: null } });
    } else {
      await tx.broadcastViewer.update({ where: { id: existing.id }, data: { lastSeen: now } });
      await applyRelay(tx, locked, existing, input.relay, fanOut, outbox, now);
    }
    event(outbox, [b.broadcasterId], b.id, 'TREE');
    await placeWaiting(tx, locked, outbox, now);
  });
  return nodeView(db, memberId, b.id, input.deviceId);
}

async function applyRelay(tx: Tx, b: BroadcastRow, viewer: ViewerRow, relay: boolean, fanOut: number, outbox: Outbox, now: Date) {
  const children = await tx.broadcastViewer.findMany({ where: { broadcastId: b.id, parentId: viewer.id, state: 'WATCHING' }, select: viewerSelect });
  const tree: Tree = { rootFanOut: b.fanOut, nodes: [viewer, ...children].map((v) => ({ id: v.id, parent: v.id === viewer.id ? null : viewer.id, attached: true, relay: v.relay, fanOut: v.fanOut, joinedAt: v.joinedAt.getTime() })) };
  const { orphans } = shrinkNode(tree, viewer.id, relay, fanOut);
  await tx.broadcastViewer.update({ where: { id: viewer.id }, data: { relay, fanOut } });
  await detach(tx, b, children.filter((c) => orphans.includes(c.id)), outbox, now);
}

/** A viewer turns relaying for others on or off (its extra children, if any, are re-placed). */
export async function setRelay(db: Db, memberId: string, input: JoinInput, now = new Date()) {
  const b = await broadcastFor(db, memberId, input.broadcastId);
  await withOutbox(db, async (tx, outbox) => {
    const locked = await lockTree(tx, b.id);
    const viewer = await tx.broadcastViewer.findFirst({ where: { broadcastId: b.id, deviceId: input.deviceId, memberId, state: { in: ACTIVE } }, select: viewerSelect });
    if (!viewer) throw new DomainError('PRECONDITION', 'This device is not watching the broadcast: join it first.');
    await applyRelay(tx, locked, viewer, input.relay, input.relay ? input.fanOut : 0, outbox, now);
    event(outbox, [b.broadcasterId], b.id, 'TREE');
    await placeWaiting(tx, locked, outbox, now);
  });
  return nodeView(db, memberId, b.id, input.deviceId);
}

/** A viewer's device leaves (its page closes): its children are re-parented at once. */
export async function leaveBroadcast(db: Db, memberId: string, input: { broadcastId: string; deviceId: string }, now = new Date()) {
  const b = await broadcastFor(db, memberId, input.broadcastId);
  const viewer = await db.broadcastViewer.findFirst({ where: { broadcastId: b.id, deviceId: input.deviceId, memberId }, select: { id: true } });
  if (!viewer) throw new DomainError('NOT_FOUND', 'This device is not in that broadcast.');
  if (b.state !== 'LIVE') return { left: false };
  const left = await withOutbox(db, async (tx, outbox) => {
    const locked = await lockTree(tx, b.id);
    const still = await tx.broadcastViewer.findMany({ where: { id: viewer.id, state: { in: ACTIVE } }, select: viewerSelect });
    await removeViewers(tx, locked, still, outbox, now);
    return still.length > 0;
  });
  return { left };
}

/**
 * Takes out the viewers whose heartbeat stopped (VIEWER_TIMEOUT_MS), and ends the broadcast when the broadcaster's
 * stopped (BROADCASTER_TIMEOUT_MS). Run on every heartbeat of the broadcast and by the sweeper.
 */
export async function expireStale(db: Db, broadcastId: string, now = new Date()) {
  const b = await db.broadcast.findUnique({ where: { id: broadcastId }, select: broadcastSelect });
  if (!b || b.state !== 'LIVE') return { expired: 0 };
  if (b.lastSeen.getTime() < now.getTime() - BROADCASTER_TIMEOUT_MS) {
    await endBroadcastIn(db, b.id, 'The broadcaster stopped answering', now).catch(ignoreConflict);
    return { expired: 0 };
  }
  const cutoff = new Date(now.getTime() - VIEWER_TIMEOUT_MS);
  const stale = await db.broadcastViewer.count({ where: { broadcastId, state: { in: ACTIVE }, lastSeen: { lt: cutoff } } });
  if (stale === 0) return { expired: 0 };
  return withOutbox(db, async (tx, outbox) => {
    const locked = await lockTree(tx, broadcastId);
    // read under the lock: another heartbeat may have taken them out already
    const gone = await tx.broadcastViewer.findMany({ where: { broadcastId, state: { in: ACTIVE }, lastSeen: { lt: cutoff } }, select: viewerSelect });
    await removeViewers(tx, locked, gone, outbox, now);
    return { expired: gone.length };
  }).catch((error: unknown) => {
    if (error instanceof DomainError && error.kind === 'PRECONDITION') return { expired: 0 };
    throw error;
  });
}

function ignoreConflict(error: unknown) {
  if (!(error instanceof DomainError && error.kind === 'CONFLICT')) throw error;
}

/**
 * The page of the broadcaster or of a viewer says it is still there (every BROADCAST_HEARTBEAT_MS), and learns its
 * place: its parent's device and link, and its children's (whom it must send to).
 */
export async function heartbeat(db: Db, memberId: string, input: { broadcastId: string; deviceId: string }, now = new Date()) {
  const b = await broadcastFor(db, memberId, input.broadcastId);
  if (b.state === 'LIVE') {
    if (b.broadcasterId === memberId && b.deviceId === input.deviceId) {
      await db.broadcast.updateMany({ where: { id: b.id, state: 'LIVE' }, data: { lastSeen: now } });
    } else {
      await db.broadcastViewer.updateMany({ where: { broadcastId: b.id, deviceId: input.deviceId, memberId, state: { in: ACTIVE } }, data: { lastSeen: now } });
    }
    await expireStale(db, b.id, now);
  }
  return nodeView(db, memberId, b.id, input.deviceId);
}

/** Ends the broadcast: every open link settles, the rest of the budget goes back to the broadcaster. Once. */
async function endBroadcastIn(db: Db, broadcastId: string, why: string, now: Date) {
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.broadcast.updateMany({ where: { id: broadcastId, state: 'LIVE' }, data: { state: 'ENDED', endedAt: now } });
    if (count === 0) throw new DomainError('CONFLICT', 'This broadcast has already ended.');
    const b = await tx.broadcast.findUniqueOrThrow({ where: { id: broadcastId }, select: broadcastSelect });
    const open = await tx.broadcastLink.findMany({ where: { broadcastId, state: 'OPEN' }, select: { id: true }, orderBy: { openedAt: 'asc' } });
    for (const link of open) await settleLink(tx, b, link.id, outbox, now);
    const viewers = await tx.broadcastViewer.findMany({ where: { broadcastId, state: { in: ACTIVE } }, select: { memberId: true } });
    await tx.broadcastViewer.updateMany({ where: { broadcastId, state: { in: ACTIVE } }, data: { state: 'LEFT', leftAt: now, linkId: null } });
    const money = await tx.broadcast.findUniqueOrThrow({ where: { id: broadcastId }, select: { budget: true, spent: true } });
    const refund = toMicro(money.budget) - toMicro(money.spent);
    if (refund > 0) {
      const c = await community(tx, b.communityId);
      await postEntry(
        tx,
        b.communityId,
        { kind: 'BROADCAST_REFUND', memo: `${why}: what is left of the relay budget of "${b.title}"`, reference: b.id, onceKey: `broadcast-refund:${b.id}`, lines: [{ account: escrowAccount(b.broadcasterId), amount: -refund }, { account: memberAccount(b.broadcasterId), amount: refund }] },
        { creditLimit: toMicro(c.creditLimit) },
      );
    }
    event(outbox, [b.broadcasterId, ...viewers.map((v) => v.memberId)], b.id, 'ENDED');
    return { id: b.id, state: 'ENDED' as const, spent: toMicro(money.spent), refunded: Math.max(0, refund) };
  });
}

/** The broadcaster ends the broadcast. */
export async function endBroadcast(db: Db, memberId: string, broadcastId: string, now = new Date()) {
  const b = await broadcastFor(db, memberId, broadcastId);
  if (b.broadcasterId !== memberId) throw new DomainError('FORBIDDEN', 'Only the broadcaster ends a broadcast: close the page to stop watching.');
  return endBroadcastIn(db, b.id, 'The broadcaster ended the broadcast', now);
}

/** Ends broadcasts whose broadcaster went silent and takes out silent viewers (the sweeper). */
export async function sweepBroadcasts(db: Db, now = new Date()) {
  const live = await db.broadcast.findMany({ where: { state: 'LIVE' }, select: { id: true }, take: 200, orderBy: { lastSeen: 'asc' } });
  let expired = 0;
  for (const { id } of live) expired += (await expireStale(db, id, now)).expired;
  return { expired };
}

/**
 * A viewer's receipt for the media it received over its link: signed by its device key, judged by ./rules.ts,
 * counted with a conditional write. Refused receipts change nothing.
 */
export async function submitBroadcastReceipt(db: Db, memberId: string, body: BroadcastReceipt, signature: string, now = new Date()) {
  const link = await db.broadcastLink.findUnique({ where: { id: body.linkId }, select: linkSelect });
  if (!link || link.broadcastId !== body.broadcastId || link.childMemberId !== memberId) throw new DomainError('NOT_FOUND', 'There is no link with that id for you: only the viewer receiving over it sends its receipts.');
  const device = await db.device.findFirst({ where: { id: body.deviceId, memberId }, select: { publicKey: true, keyAlgorithm: true } });
  if (!device) throw new DomainError('FORBIDDEN', 'That device is not yours, so it cannot sign for this link.');
  const counts = { ...link, bytes: Number(link.bytes) };
  const verdict = judgeBroadcastReceipt(counts, body, now);
  if (!verdict.ok) throw new DomainError(verdict.kind, verdict.message);
  if (!device.publicKey || !device.keyAlgorithm || !signatureValid(device.publicKey, device.keyAlgorithm, broadcastReceiptBytes(body), signature)) {
    throw new DomainError('BAD_INPUT', "The receipt's signature does not verify with this device's key: it was altered or signed by another key.");
  }
  await transaction(db, async (tx) => {
    const { count } = await tx.broadcastLink.updateMany({
      where: { id: link.id, state: 'OPEN', seq: link.seq },
      data: { seq: body.seq, bytes: BigInt(body.bytes), mediaMs: body.mediaMs, receiptAt: now },
    });
    if (count === 0) throw new DomainError('CONFLICT', 'Another receipt for this link was counted at the same moment, or the link closed: this one was not counted.');
    await tx.broadcastReceipt.create({ data: { linkId: link.id, seq: body.seq, bytes: BigInt(body.bytes), mediaMs: body.mediaMs, at: BigInt(body.at), signature, acceptedAt: now } });
  });
  return { linkId: link.id, seq: body.seq, bytes: body.bytes, mediaMs: body.mediaMs };
}

/** Live broadcasts of the member's communities, newest first. */
export async function listBroadcasts(db: Queryable, memberId: string) {
  const memberships = await db.membership.findMany({ where: { memberId }, select: { communityId: true, community: { select: { name: true, slug: true } } } });
  const names = new Map(memberships.map((m) => [m.communityId, m.community]));
  const rows = await db.broadcast.findMany({ where: { state: 'LIVE', communityId: { in: [...names.keys()] } }, orderBy: { startedAt: 'desc' }, take: 50, select: broadcastSelect });
  const [handles, counts] = await Promise.all([
    handlesOf(db, rows.map((r) => r.broadcasterId)),
    db.broadcastViewer.groupBy({ by: ['broadcastId'], where: { broadcastId: { in: rows.map((r) => r.id) }, state: { in: ACTIVE } }, _count: { _all: true } }),
  ]);
  const viewers = new Map(counts.map((c) => [c.broadcastId, c._count._all]));
  return rows.map((r) => ({ ...summary(r, handles, memberId), community: names.get(r.communityId) ?? null, viewers: viewers.get(r.id) ?? 0 }));
}

async function handlesOf(db: Queryable, ids: string[]) {
  const members = await db.member.findMany({ where: { id: { in: [...new Set(ids)] } }, select: { id: true, handle: true } });
  return new Map(members.map((m) => [m.id, m.handle]));
}

function summary(b: BroadcastRow, handles: Map<string, string>, memberId: string) {
  return {
    id: b.id,
    communityId: b.communityId,
    title: b.title,
    broadcaster: handles.get(b.broadcasterId) ?? '',
    broadcasterDeviceId: b.deviceId,
    mine: b.broadcasterId === memberId,
    state: b.state as 'LIVE' | 'ENDED',
    fanOut: b.fanOut,
    pricePerMb: toMicro(b.pricePerMb),
    startedAt: b.startedAt.toISOString(),
    endedAt: b.endedAt?.toISOString() ?? null,
  };
}

/** One broadcast for a member of its community. */
export async function getBroadcast(db: Queryable, memberId: string, broadcastId: string) {
  const b = await broadcastFor(db, memberId, broadcastId);
  return summary(b, await handlesOf(db, [b.broadcasterId]), memberId);
}

/**
 * What one device of the member does in a broadcast: the broadcaster's device sends to its children; a viewer's
 * device receives over its link (from its parent's device) and, relaying, sends to its children.
 */
export async function nodeView(db: Queryable, memberId: string, broadcastId: string, deviceId: string) {
  const b = await broadcastFor(db, memberId, broadcastId);
  const sending = b.broadcasterId === memberId && b.deviceId === deviceId;
  const viewer = sending ? null : await db.broadcastViewer.findFirst({ where: { broadcastId, deviceId, memberId }, select: viewerSelect });
  const link = viewer?.linkId ? await db.broadcastLink.findUnique({ where: { id: viewer.linkId }, select: linkSelect }) : null;
  const childLinks = sending || (viewer && viewer.state !== 'LEFT') ? await db.broadcastLink.findMany({ where: { broadcastId, parentDeviceId: deviceId, state: 'OPEN' }, select: linkSelect, orderBy: { openedAt: 'asc' } }) : [];
  const relayed = viewer ? await db.broadcastLink.aggregate({ where: { parentId: viewer.id }, _sum: { bytes: true } }) : null;
  const handles = await handlesOf(db, [b.broadcasterId, ...(link ? [link.parentMemberId] : []), ...childLinks.map((l) => l.childMemberId)]);
  return {
    broadcast: summary(b, handles, memberId),
    role: sending ? ('BROADCASTER' as const) : ('VIEWER' as const),
    viewer: viewer
      ? {
          id: viewer.id,
          state: viewer.state as 'WATCHING' | 'WAITING' | 'LEFT',
          relay: viewer.relay,
          fanOut: viewer.fanOut,
          earned: toMicro(viewer.earned),
          /** bytes its children proved they received from it, over all its links */
          relayedBytes: Number(relayed?._sum.bytes ?? 0n),
          /** what its open links will pay when they settle, before commission (while the budget lasts) */
          due: childLinks.reduce((sum, l) => sum + linkPay(Number(l.bytes), toMicro(b.pricePerMb), Number.MAX_SAFE_INTEGER, 0).gross, 0),
        }
      : null,
    link: link && link.state === 'OPEN' ? { id: link.id, parentDeviceId: link.parentDeviceId, parentHandle: handles.get(link.parentMemberId) ?? '', fromBroadcaster: link.parentId === null, seq: link.seq, bytes: Number(link.bytes), mediaMs: link.mediaMs } : null,
    children: childLinks.map((l) => ({ linkId: l.id, deviceId: l.childDeviceId, handle: handles.get(l.childMemberId) ?? '' })),
  };
}
export type BroadcastNode = Awaited<ReturnType<typeof nodeView>>;

/** The broadcaster's view: every viewer with its place, what it received over its link and what its relaying earned. */
export async function broadcastTree(db: Queryable, memberId: string, broadcastId: string) {
  const b = await broadcastFor(db, memberId, broadcastId);
  if (b.broadcasterId !== memberId) throw new DomainError('FORBIDDEN', 'Only the broadcaster sees who watches and the relay tree.');
  const viewers = await db.broadcastViewer.findMany({ where: { broadcastId, state: { in: ACTIVE } }, select: viewerSelect, orderBy: { joinedAt: 'asc' } });
  const links = await db.broadcastLink.findMany({ where: { id: { in: viewers.flatMap((v) => (v.linkId ? [v.linkId] : [])) } }, select: { id: true, bytes: true, mediaMs: true } });
  const byLink = new Map(links.map((l) => [l.id, l]));
  const handles = await handlesOf(db, [b.broadcasterId, ...viewers.map((v) => v.memberId)]);
  const money = await db.broadcast.findUniqueOrThrow({ where: { id: b.id }, select: { budget: true, spent: true } });
  return {
    broadcast: summary(b, handles, memberId),
    budget: toMicro(money.budget),
    spent: toMicro(money.spent),
    viewers: viewers.map((v) => ({
      id: v.id,
      handle: handles.get(v.memberId) ?? '',
      state: v.state as 'WATCHING' | 'WAITING',
      parentId: v.parentId,
      relay: v.relay,
      fanOut: v.fanOut,
      earned: toMicro(v.earned),
      bytes: v.linkId ? Number(byLink.get(v.linkId)?.bytes ?? 0n) : 0,
    })),
  };
}
