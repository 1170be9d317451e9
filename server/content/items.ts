import { DomainError } from '../errors';
import type { Db, Prisma } from '../db/client';
import { toMicro } from '../money';
import { lockBook } from '../db/book-lock';
import type { MarketCommunity } from '../market/fills';
import { closeOrder } from '../market/lifecycle';
import { withOutbox } from '../live/outbox';
import { openOrder } from '../market/place-order';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';
import { resolveRates, valueFile } from '../valuation';
import type { ContentHeader } from './header';

export const FILE_CATEGORY = 'FILE';
/** A device counts as online while it has been seen in the last half minute. */
export const ONLINE_WINDOW_MS = 30_000;
/** Copies a priced item's standing SELL offers: as many as anyone will buy. */
const COPIES = 1_000_000;

export const itemSelect = {
  id: true, communityId: true, memberId: true, deviceId: true, title: true, description: true, audience: true, purpose: true,
  environment: true, mediaType: true, sizeBytes: true, sha256: true, chunkSize: true, chunkHashes: true, pricing: true, price: true,
  withdrawn: true, createdAt: true,
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
    online,
    nearby: Boolean(online && viewer.address && viewer.address !== 'unknown' && presence?.publicAddress === viewer.address),
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
  await withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, item.communityId, FILE_CATEGORY);
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
