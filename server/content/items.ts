import { DomainError } from '../errors';
import type { Db, Prisma, Queryable } from '../db/client';
import { maySignal, ONLINE_WINDOW_MS } from './signaling';
import { toMicro } from '../money';
import { lockBook } from '../db/book-lock';
import type { MarketCommunity } from '../market/fills';
import { closeOrder } from '../market/lifecycle';
import { withOutbox } from '../live/outbox';
import { openOrder } from '../market/place-order';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';
import { resolveRates, valueFile } from '../valuation';
import type { ContentHeader } from './header';
import { jobOnlyAccess } from '../compute/job-only';
import { BUNDLE_MEDIA_TYPE, bundleSizeProblem, countEntries, type BundleEntry } from './bundle-manifest';

export const FILE_CATEGORY = 'FILE';
export { ONLINE_WINDOW_MS };
/** Copies a priced item's standing SELL offers: as many as anyone will buy. */
const COPIES = 1_000_000;

export const itemSelect = {
  id: true, communityId: true, memberId: true, recipientId: true, recipientDeviceId: true, deviceId: true, title: true, description: true, audience: true, purpose: true,
  environment: true, mediaType: true, sizeBytes: true, sha256: true, chunkSize: true, chunkHashes: true, pricing: true, price: true,
  withdrawn: true, createdAt: true,
  bundle: { select: { entries: true, fileCount: true, textCount: true } },
  device: { select: { name: true, member: { select: { handle: true } }, presence: { select: { lastSeen: true, publicAddress: true } } } },
} satisfies Prisma.ContentItemSelect;

type ItemRow = Prisma.ContentItemGetPayload<{ select: typeof itemSelect }>;

export function presentItem(row: ItemRow, viewer: { address: string | null }, now: Date, withManifest = false) {
  const presence = row.device.presence;
  const online = Boolean(presence && presence.lastSeen.getTime() > now.getTime() - ONLINE_WINDOW_MS);
  return {
    id: row.id,
    communityId: row.communityId,
    deviceId: row.deviceId,
    deviceName: row.device.name,
    owner: { id: row.memberId, handle: row.device.member.handle },
    /** a private gift: only its sender and `recipientId` ever see it */
    privateGift: row.recipientId !== null,
    recipientId: row.recipientId,
    recipientDeviceId: row.recipientDeviceId,
    title: row.title,
    description: row.description,
    audience: row.audience,
    purpose: row.purpose,
    environment: row.environment,
    mediaType: row.mediaType,
    sizeBytes: toMicro(row.sizeBytes),
    sha256: row.sha256,
    chunkSize: row.chunkSize,
    chunkCount: (row.chunkHashes as string[]).length,
    ...(withManifest ? { chunkHashes: row.chunkHashes as string[] } : {}),
    pricing: row.pricing,
    price: toMicro(row.price),
    withdrawn: row.withdrawn,
    createdAt: row.createdAt.toISOString(),
    /** several files and snippets sent as one transfer; `entries` (in stream order) with the manifest only */
    bundle: row.bundle
      ? { fileCount: row.bundle.fileCount, textCount: row.bundle.textCount, ...(withManifest ? { entries: row.bundle.entries as BundleEntry[] } : {}) }
      : null,
    online,
    nearby: Boolean(online && viewer.address && viewer.address !== 'unknown' && presence?.publicAddress === viewer.address),
  };
}

/** The columns of an item that come from its header as the device described it. */
function headerColumns(header: ContentHeader) {
  return {
    title: header.title,
    description: header.description,
    audience: header.audience,
    purpose: header.purpose,
    environment: header.environment,
    mediaType: header.mediaType,
    sizeBytes: BigInt(header.sizeBytes),
    sha256: header.sha256,
    chunkSize: header.chunkSize,
    chunkHashes: header.chunkHashes,
  };
}

/**
 * Publishes a content item's header from one of the member's devices (the router checked it is theirs);
 * a priced item also gets a standing FILE SELL that requests buy from.
 */
export async function publishItem(
  db: Db,
  memberId: string,
  community: MarketCommunity & { valuationRates: unknown },
  input: { deviceId: string; header: ContentHeader; pricing: { mode: 'GIFT' } | { mode: 'CREDITS'; price: number } },
  now = new Date(),
) {
  const device = { id: input.deviceId };
  const { header } = input;
  const price = input.pricing.mode === 'CREDITS' ? input.pricing.price : 0;
  return withOutbox(db, async (tx) => {
    await lockBook(tx, community.id, FILE_CATEGORY);
    const item = await tx.contentItem.create({
      data: {
        communityId: community.id,
        memberId,
        deviceId: device.id,
        ...headerColumns(header),
        searchText: `${header.title} ${header.description} ${header.purpose} ${header.audience}`.toLowerCase(),
        pricing: input.pricing.mode,
        price: BigInt(price),
      },
      select: { id: true },
    });
    if (price > 0) {
      await openOrder(tx, memberId, community, {
        side: 'SELL', category: FILE_CATEGORY, unit: 'ITEM', kind: 'STANDING', quantity: COPIES, price,
        windowStart: now, windowEnd: new Date(now.getTime() + 365 * 86_400_000), deviceId: device.id,
        constraints: {}, negotiation: { mode: 'NONE', limit: null }, contentItemId: item.id,
      }, now);
    }
    const valued = valueFile({ sizeBytes: header.sizeBytes, mediaType: header.mediaType, title: header.title, purpose: header.purpose, audience: header.audience, environment: header.environment }, resolveRates(community.valuationRates));
    return { id: item.id, valuation: valued };
  });
}

export async function withdrawItem(db: Db, memberId: string, itemId: string) {
  const item = await db.contentItem.findUnique({ where: { id: itemId }, select: { memberId: true, communityId: true, withdrawn: true } });
  if (!item || item.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You have no item with that id.');
  if (item.withdrawn) throw new DomainError('CONFLICT', 'This item is already withdrawn.');
  const { communityId } = item;
  if (communityId === null) {
    // a private gift: no book, no orders
    const { count } = await db.contentItem.updateMany({ where: { id: itemId, withdrawn: false }, data: { withdrawn: true } });
    if (count !== 1) throw new DomainError('CONFLICT', 'This item is already withdrawn.');
    return { ok: true };
  }
  await withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, communityId, FILE_CATEGORY);
    await tx.contentItem.update({ where: { id: itemId }, data: { withdrawn: true } });
    const orders = await tx.order.findMany({ where: { contentItemId: itemId, status: 'OPEN' }, select: { id: true } });
    for (const order of orders) await closeOrder(tx, order.id, 'CANCELLED', memberId, outbox);
  });
  return { ok: true };
}

type CatalogViewer = { deviceId?: string; address: string };
type CatalogFilters = { text?: string; mediaType?: string; maxBytes?: number; nearbyOnly?: boolean };

/** The public address the viewer's device was last seen from, else the request's. */
async function viewerAddress(db: Db, viewer: CatalogViewer): Promise<string> {
  const presence = viewer.deviceId ? await db.presence.findUnique({ where: { deviceId: viewer.deviceId }, select: { publicAddress: true } }) : null;
  return presence?.publicAddress ?? viewer.address;
}

/** The catalog's filters on items that are still offered (text, media type, size). */
const catalogWhere = (communityId: string, filters: CatalogFilters) => ({
  communityId,
  // a private gift is never in a catalog (it has no community either; this says so twice)
  recipientId: null,
  withdrawn: false,
  ...(filters.text ? { searchText: { contains: filters.text.toLowerCase() } } : {}),
  ...(filters.mediaType ? { mediaType: { startsWith: filters.mediaType.toLowerCase() } } : {}),
  ...(filters.maxBytes ? { sizeBytes: { lte: BigInt(filters.maxBytes) } } : {}),
});

/**
 * The community catalog a page at a time, newest first (`content.searchPage`). `nearbyOnly` is decided in the query
 * (the item's device online and behind the viewer's public address), so every page is full.
 */
export async function searchItemsPage(
  db: Db,
  communityId: string,
  viewer: CatalogViewer,
  filters: CatalogFilters,
  { cursor, limit }: PageRequest,
  now = new Date(),
) {
  const address = await viewerAddress(db, viewer);
  if (filters.nearbyOnly && (!address || address === 'unknown')) return { items: [], nextCursor: null };
  const rows = await db.contentItem.findMany({
    where: {
      ...catalogWhere(communityId, filters),
      ...(filters.nearbyOnly ? { device: { presence: { publicAddress: address, lastSeen: { gt: new Date(now.getTime() - ONLINE_WINDOW_MS) } } } } : {}),
      ...afterCursor(cursor, 'desc'),
    },
    orderBy: pageOrder('desc'),
    take: limit + 1,
    select: itemSelect,
  });
  return toPage(rows, limit, (row) => presentItem(row, { address }, now));
}

/** The community catalog, nearby devices' items first, then online ones, then the newest. */
export async function searchItems(
  db: Db,
  communityId: string,
  viewer: CatalogViewer,
  filters: CatalogFilters,
  now = new Date(),
) {
  const address = await viewerAddress(db, viewer);
  const rows = await db.contentItem.findMany({
    where: catalogWhere(communityId, filters),
    orderBy: { createdAt: 'desc' },
    take: 200,
    select: itemSelect,
  });
  const items = rows.map((row) => presentItem(row, { address }, now));
  const rank = (i: { nearby: boolean; online: boolean }) => (i.nearby ? 0 : i.online ? 1 : 2);
  return items.filter((i) => !filters.nearbyOnly || i.nearby).sort((a, b) => rank(a) - rank(b));
}

/**
 * An item as the member may see it, or NOT_FOUND: a private gift is seen by its sender and its recipient only,
 * a catalog item by the members of its community. A private gift someone else guesses the id of is "not found",
 * exactly like an id that does not exist, so its existence is not revealed.
 */
export async function visibleItem(db: Queryable, memberId: string, itemId: string): Promise<ItemRow> {
  const row = await db.contentItem.findUnique({ where: { id: itemId }, select: itemSelect });
  if (!row || !(await maySee(db, memberId, row))) throw new DomainError('NOT_FOUND', 'No such item.');
  return row;
}

/** Whether the member may see the item (see visibleItem). */
export async function maySee(db: Queryable, memberId: string, item: { id?: string; memberId: string; communityId: string | null; recipientId: string | null }): Promise<boolean> {
  if (item.memberId === memberId) return true;
  // an item private to jobs: only their donors (server/compute/job-only.ts)
  const jobOnly = item.id === undefined ? null : await jobOnlyAccess(db, memberId, { id: item.id, memberId: item.memberId });
  if (jobOnly !== null) return jobOnly;
  if (item.recipientId !== null) return item.recipientId === memberId;
  if (item.communityId === null) return false;
  return (await db.membership.count({ where: { memberId, communityId: item.communityId } })) > 0;
}

/** Most devices one send goes to at once. */
export const MAX_RECEIVERS = 8;

/**
 * "Send to nearby": offers a file (or a bundle of files and snippets, `bundle`) from one of the member's devices
 * to one or several other devices, privately: one private gift per receiving device, all made or none. A gift
 * belongs to no community and appears in no catalog; only the sender and the receiving device's member see it.
 * Every receiving device must be one this device may signal (a community in common, or paired by code).
 */
export async function giveItems(db: Db, memberId: string, input: { deviceId: string; toDeviceIds: string[]; header: ContentHeader; bundle?: BundleEntry[]; quiet?: boolean }) {
  const targets = [...new Set(input.toDeviceIds)];
  if (targets.length === 0) throw new DomainError('BAD_INPUT', 'Choose at least one device to send to.');
  if (targets.length > MAX_RECEIVERS) throw new DomainError('BAD_INPUT', `One send can go to at most ${MAX_RECEIVERS} devices.`);
  if (targets.includes(input.deviceId)) throw new DomainError('BAD_INPUT', 'Choose another device: this one already has the file.');
  const { header, bundle } = input;
  if (bundle) {
    const problem = bundleSizeProblem(bundle, header.sizeBytes);
    if (problem) throw new DomainError('BAD_INPUT', `${problem} Pick the files again.`);
  }
  const members = new Map<string, string>();
  for (const toDeviceId of targets) {
    const target = await db.device.findUnique({ where: { id: toDeviceId }, select: { memberId: true } });
    if (!target || !(await maySignal(db, { deviceId: input.deviceId, memberId }, toDeviceId))) {
      // no hint whether a device with that id exists
      throw new DomainError('NOT_FOUND', 'No device you can reach has that id: pair with it first, or share a community with its owner.');
    }
    members.set(toDeviceId, target.memberId);
  }
  const rows = await withOutbox(db, async (tx, outbox) => {
    const made = [];
    const sender = await tx.member.findUniqueOrThrow({ where: { id: memberId }, select: { handle: true } });
    for (const toDeviceId of targets) {
      made.push(
        await tx.contentItem.create({
          data: {
            communityId: null,
            memberId,
            recipientId: members.get(toDeviceId)!,
            recipientDeviceId: toDeviceId,
            deviceId: input.deviceId,
            ...headerColumns(header),
            ...(bundle ? { mediaType: BUNDLE_MEDIA_TYPE, bundle: { create: { entries: bundle, ...countEntries(bundle) } } } : {}),
            searchText: '',
            pricing: 'GIFT',
            price: 0n,
          },
          select: itemSelect,
        }),
      );
      // the recipient hears of it wherever they are in the app (a toast and Home's inbox)
      const created = made.at(-1)!;
      // (`quiet`: a job's results, which the receiving device takes by itself and which have their own event)
      if (!input.quiet) outbox.add([members.get(toDeviceId)!], { type: 'gift', itemId: created.id, title: created.title, fromHandle: sender.handle, toDeviceId });
    }
    return made;
  });
  const now = new Date();
  return rows.map((row) => presentItem(row, { address: null }, now));
}

/** `giveItems` to one device. */
export async function giveItem(db: Db, memberId: string, input: { deviceId: string; toDeviceId: string; header: ContentHeader; bundle?: BundleEntry[]; quiet?: boolean }) {
  const [item] = await giveItems(db, memberId, { deviceId: input.deviceId, toDeviceIds: [input.toDeviceId], header: input.header, bundle: input.bundle, quiet: input.quiet });
  return item!;
}

/**
 * Private gifts offered to this device that it has not taken yet (no transfer of it to its member is under
 * way or done), newest first. They stay offered across reloads until taken, declined or withdrawn.
 */
export async function offeredGifts(db: Db, memberId: string, deviceId: string, now = new Date()) {
  const rows = await db.contentItem.findMany({
    where: {
      recipientId: memberId,
      recipientDeviceId: deviceId,
      withdrawn: false,
      transfers: { none: { receiverId: memberId, status: { in: ['REQUESTED', 'ACTIVE', 'COMPLETED'] } } },
    },
    orderBy: { createdAt: 'desc' },
    take: 50,
    select: itemSelect,
  });
  return rows.map((row) => presentItem(row, { address: null }, now));
}

/** The recipient declines a private gift: it is no longer offered (to anyone). */
export async function declineGift(db: Db, memberId: string, itemId: string) {
  const { count } = await db.contentItem.updateMany({ where: { id: itemId, recipientId: memberId, withdrawn: false }, data: { withdrawn: true } });
  if (count !== 1) {
    const item = await db.contentItem.findUnique({ where: { id: itemId }, select: { recipientId: true, withdrawn: true } });
    if (!item || item.recipientId !== memberId) throw new DomainError('NOT_FOUND', 'No such item.');
    throw new DomainError('CONFLICT', 'This gift is no longer offered.');
  }
  return { ok: true };
}
