/**
 * Page views / web performance testing, a NETWORK delivery the system measures (the delivery rule,
 * server/delivery/rule.ts): a member proves control of a site (server/pageviews/sites.ts), orders N page views
 * (a NETWORK/PAGE_VIEW BUY holding its cost in escrow, pulled by donors rather than matched in the book), and
 * donors' devices that serve page views (a standing NETWORK/PAGE_VIEW SELL of the device) claim views one at a
 * time. Each claim is a fill of 1 PAGE_VIEW: its own contract, escrowed from the order's hold. The device loads
 * the page with the view's token in the query and reports the load time; a report that validates settles the
 * contract from proof (1 of 1 view: paid less commission), an error or a view not reported in time settles it
 * at 0 of 1 (refunded to the buyer).
 *
 * Safety: a view is only ever handed out for a site verified now, and only while the target origin's counter
 * for this minute is below its cap (a conditional write on the shared PageViewRate row), so no order, however
 * large, can turn the donors into a flood. Claims in one community are serialized by the NETWORK book's lock,
 * so an order never gives out more views than it bought; a report is counted by a conditional write on the view
 * still LEASED, so a view is paid once.
 */
import type { Db, Queryable, Tx } from '../db/client';
import { lockBook } from '../db/book-lock';
import { settleFromProofIn } from '../delivery/proof';
import { DomainError } from '../errors';
import { withOutbox, type Outbox } from '../live/outbox';
import { executeFill, marketCommunity, type MarketCommunity } from '../market/fills';
import { cancelInBook, closeOrder } from '../market/lifecycle';
import { openOrder } from '../market/place-order';
import { randomBytes } from 'node:crypto';
import {
  admitView, effectiveCap, judgeReport, networkAllowed, networkOf, pageViewReport, parseNetworks, parsePageUrl, rateWindowStart,
  regionOf, VIEW_LEASE_MS, viewUrl, type NetworkType, type ViewReport,
} from './rules';

export const PAGE_VIEW_CATEGORY = 'NETWORK';
export const PAGE_VIEW_UNIT = 'PAGE_VIEW';
/** A device serving page views offers this many over its window: in practice, as many as it is asked for. */
export const SERVING_CAPACITY = 1_000_000;
export const SERVING_WINDOW_MS = 7 * 86_400_000;
/** Candidate orders a claim looks at, best first. */
const CANDIDATES = 20;

const newToken = () => randomBytes(24).toString('base64url');

async function pageViewDonors(tx: Tx, communityId: string): Promise<string[]> {
  const rows = await tx.order.findMany({
    where: { communityId, category: PAGE_VIEW_CATEGORY, unit: PAGE_VIEW_UNIT, side: 'SELL', donation: true, status: 'OPEN' },
    select: { memberId: true },
    distinct: ['memberId'],
    take: 500,
  });
  return rows.map((r) => r.memberId);
}

// ── the buyer: orders ──────────────────────────────────────────────────────────────────────────

export type OrderViewsInput = { siteId: string; path: string; quantity: number; price: number; networks: NetworkType[]; hours: number };

/** Orders `quantity` views of a page of a verified site, at `price` per view, for the next `hours`. */
export async function orderViews(db: Db, memberId: string, community: MarketCommunity, input: OrderViewsInput, now = new Date()) {
  const site = await db.pageViewSite.findFirst({ where: { id: input.siteId, memberId }, select: { id: true, origin: true, verifiedAt: true } });
  if (!site) throw new DomainError('NOT_FOUND', 'You have no site with that id: add it and verify it first.');
  if (!site.verifiedAt) throw new DomainError('PRECONDITION', `${site.origin} is not verified: serve its token file and press Verify before ordering views.`);
  const page = parsePageUrl(input.path, site.origin);
  if (!page.ok) throw new DomainError(page.kind, page.message);
  const networks = [...new Set(input.networks)].sort();
  return withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, community.id, PAGE_VIEW_CATEGORY);
    const order = await openOrder(tx, memberId, community, {
      side: 'BUY', category: PAGE_VIEW_CATEGORY, unit: PAGE_VIEW_UNIT, kind: 'STANDING', quantity: input.quantity, price: input.price,
      windowStart: now, windowEnd: new Date(now.getTime() + input.hours * 3_600_000), deviceId: null, constraints: {},
      negotiation: { mode: 'NONE', limit: null },
      // pulled: filled by donors claiming views, never by the book (server/market/place-order.ts candidatesFor)
      donation: true,
    }, now);
    const campaign = await tx.pageViewCampaign.create({
      data: { communityId: community.id, memberId, siteId: site.id, url: page.url, orderId: order.id, quantity: input.quantity, networks: networks.join(',') },
      select: { id: true },
    });
    outbox.book(community.id, PAGE_VIEW_CATEGORY);
    outbox.add([memberId, ...(await pageViewDonors(tx, community.id))], { type: 'pageviews', campaignId: campaign.id, what: 'open' });
    return { campaignId: campaign.id, orderId: order.id, url: page.url };
  });
}

/** Stops an order: no more views are handed out, and what it still holds goes back to the buyer. */
export async function cancelViews(db: Db, memberId: string, campaignId: string) {
  const campaign = await db.pageViewCampaign.findFirst({ where: { id: campaignId, memberId }, select: { orderId: true, communityId: true } });
  if (!campaign) throw new DomainError('NOT_FOUND', 'You have no page-view order with that id.');
  await withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, campaign.communityId, PAGE_VIEW_CATEGORY);
    await cancelInBook(tx, memberId, campaign.orderId, outbox);
    outbox.add([memberId], { type: 'pageviews', campaignId, what: 'view' });
  });
  return { ok: true };
}

// ── the donor: serving ─────────────────────────────────────────────────────────────────────────

/**
 * Switches serving page views on or off for one of the member's devices in a community: on posts the device's
 * standing SELL of page views at its floor price (replacing an earlier one), off withdraws it. Views already
 * handed to the device can still be reported.
 */
export async function setServing(db: Db, memberId: string, community: MarketCommunity, { deviceId, on, floorPrice }: { deviceId: string; on: boolean; floorPrice: number }, now = new Date()) {
  return withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, community.id, PAGE_VIEW_CATEGORY);
    const current = await tx.order.findMany({
      where: { deviceId, communityId: community.id, category: PAGE_VIEW_CATEGORY, unit: PAGE_VIEW_UNIT, side: 'SELL', donation: true, status: 'OPEN' },
      select: { id: true },
    });
    for (const order of current) await closeOrder(tx, order.id, 'CANCELLED', memberId, outbox, now);
    if (!on) return { serving: false, floorPrice: null };
    await openOrder(tx, memberId, community, {
      side: 'SELL', category: PAGE_VIEW_CATEGORY, unit: PAGE_VIEW_UNIT, kind: 'STANDING', quantity: SERVING_CAPACITY, price: floorPrice,
      windowStart: now, windowEnd: new Date(now.getTime() + SERVING_WINDOW_MS), deviceId, constraints: {}, negotiation: { mode: 'NONE', limit: null }, donation: true,
    }, now);
    return { serving: true, floorPrice };
  });
}

function servingOrder(db: Queryable, communityId: string, deviceId: string, now: Date) {
  return db.order.findFirst({
    where: { deviceId, communityId, category: PAGE_VIEW_CATEGORY, unit: PAGE_VIEW_UNIT, side: 'SELL', donation: true, status: 'OPEN', windowEnd: { gt: now } },
    select: { id: true, price: true, memberId: true },
  });
}

/** What a device serves: whether it is on, at what floor, and the views it loaded and what they earned. */
export async function servingStatus(db: Db, memberId: string, communityId: string, deviceId: string, now = new Date()) {
  const order = await servingOrder(db, communityId, deviceId, now);
  const views = await db.pageView.findMany({
    where: { sellerId: memberId, deviceId, campaignId: { in: (await db.pageViewCampaign.findMany({ where: { communityId }, select: { id: true } })).map((c) => c.id) } },
    select: { state: true, contractId: true, durationMs: true, reportedAt: true, claimedAt: true },
    orderBy: { claimedAt: 'desc' },
    take: 500,
  });
  const paid = await db.contract.findMany({
    where: { id: { in: views.filter((v) => v.state === 'VALID').map((v) => v.contractId) }, state: 'SETTLED' },
    select: { price: true, quantity: true, sellerCommission: true },
  });
  const count = (state: string) => views.filter((v) => v.state === state).length;
  return {
    serving: Boolean(order),
    floorPrice: order ? Number(order.price) : null,
    views: { valid: count('VALID'), errors: count('ERROR'), expired: count('EXPIRED'), pending: count('LEASED') },
    // a validated view is paid in full: its value less the seller's share of commission
    earned: paid.reduce((sum, c) => sum + Number(c.price) * c.quantity - Number(c.sellerCommission), 0),
    recent: views.slice(0, 10).map((v) => ({ state: v.state, durationMs: v.durationMs, at: (v.reportedAt ?? v.claimedAt).toISOString() })),
  };
}

/** Takes one view from the target's counter for this minute, or refuses with RATE_LIMITED. */
async function takeRateSlot(tx: Tx, origin: string, ratePerMinute: number, now: Date): Promise<void> {
  const cap = effectiveCap(ratePerMinute);
  const current = rateWindowStart(now);
  for (let attempt = 0; attempt < 5; attempt++) {
    const row = await tx.pageViewRate.findUnique({ where: { origin }, select: { windowStart: true, count: true } });
    if (!row) throw new DomainError('PRECONDITION', 'This site is not verified: its owner must verify it again.');
    const verdict = admitView(row, now, cap);
    if (!verdict.admit) {
      throw new DomainError('RATE_LIMITED', `This site has had its ${cap} views for this minute: try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s.`);
    }
    // conditional writes: a new minute starts afresh only from the minute read, and a view is added only below the cap
    const { count } = verdict.fresh
      ? await tx.pageViewRate.updateMany({ where: { origin, windowStart: row.windowStart }, data: { windowStart: current, count: 1 } })
      : await tx.pageViewRate.updateMany({ where: { origin, windowStart: row.windowStart, count: { lt: cap } }, data: { count: { increment: 1 } } });
    if (count === 1) return;
  }
  throw new DomainError('RATE_LIMITED', 'This site is being visited by many devices at this moment: try again in a few seconds.');
}

export type ClaimedView = { viewId: string; campaignId: string; url: string; token: string; leaseEndsAt: string };

async function claimFrom(tx: Tx, outbox: Outbox, communityId: string, campaign: { id: string; siteId: string; url: string; orderId: string; memberId: string }, sell: { id: string }, donor: { memberId: string; deviceId: string; network: NetworkType; region: string }, now: Date): Promise<ClaimedView> {
  await lockBook(tx, communityId, PAGE_VIEW_CATEGORY);
  const community = await marketCommunity(tx, communityId);
  const site = await tx.pageViewSite.findUnique({ where: { id: campaign.siteId }, select: { origin: true, verifiedAt: true, ratePerMinute: true } });
  if (!site?.verifiedAt) throw new DomainError('PRECONDITION', 'This site is no longer verified: no views are handed out for it.');
  const buy = await tx.order.findUniqueOrThrow({ where: { id: campaign.orderId }, select: { status: true, remaining: true, price: true } });
  if (buy.status !== 'OPEN' || buy.remaining <= 0) throw new DomainError('CONFLICT', 'This order has all its views handed out.');
  await takeRateSlot(tx, site.origin, site.ratePerMinute, now);
  const { contractId } = await executeFill(tx, community, { buyOrderId: campaign.orderId, sellOrderId: sell.id, quantity: 1, price: Number(buy.price), pricing: 'CROSS' }, outbox);
  const token = newToken();
  const view = await tx.pageView.create({
    data: {
      campaignId: campaign.id, contractId, sellerId: donor.memberId, deviceId: donor.deviceId, token, network: donor.network, region: donor.region,
      claimedAt: now, leaseEndsAt: new Date(now.getTime() + VIEW_LEASE_MS),
    },
    select: { id: true, leaseEndsAt: true },
  });
  outbox.add([campaign.memberId], { type: 'pageviews', campaignId: campaign.id, what: 'view' });
  return { viewId: view.id, campaignId: campaign.id, url: viewUrl(campaign.url, token), token, leaseEndsAt: view.leaseEndsAt.toISOString() };
}

/**
 * Hands the device one page view to load, from the best open order it may serve (highest price, then oldest),
 * or `view: null` when there is none right now; RATE_LIMITED when every order it could serve is at its site's cap.
 */
export async function claimView(db: Db, memberId: string, input: { communityId: string; deviceId: string; timeZone?: string }, now = new Date()): Promise<{ view: ClaimedView | null }> {
  const sell = await servingOrder(db, input.communityId, input.deviceId, now);
  if (!sell || sell.memberId !== memberId) throw new DomainError('PRECONDITION', 'This device does not serve page views here: switch serving on first.');
  const device = await db.device.findUniqueOrThrow({ where: { id: input.deviceId }, select: { profile: true } });
  const donor = { memberId, deviceId: input.deviceId, network: networkOf(device.profile), region: regionOf(input.timeZone) };
  const buys = await db.order.findMany({
    where: {
      communityId: input.communityId, category: PAGE_VIEW_CATEGORY, unit: PAGE_VIEW_UNIT, side: 'BUY', donation: true, status: 'OPEN',
      remaining: { gt: 0 }, memberId: { not: memberId }, price: { gte: sell.price }, windowEnd: { gt: now },
    },
    orderBy: [{ price: 'desc' }, { seq: 'asc' }],
    take: CANDIDATES,
    select: { id: true },
  });
  if (buys.length === 0) return { view: null };
  const campaigns = await db.pageViewCampaign.findMany({ where: { orderId: { in: buys.map((b) => b.id) } }, select: { id: true, siteId: true, url: true, orderId: true, memberId: true, networks: true } });
  const byOrder = new Map(campaigns.map((c) => [c.orderId, c]));
  let limited: DomainError | null = null;
  for (const { id } of buys) {
    const campaign = byOrder.get(id);
    if (!campaign || !networkAllowed(parseNetworks(campaign.networks), donor.network)) continue;
    try {
      return { view: await withOutbox(db, (tx, outbox) => claimFrom(tx, outbox, input.communityId, campaign, sell, donor, now)) };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      if (error.kind === 'RATE_LIMITED') limited = error;
      else if (error.kind !== 'CONFLICT' && error.kind !== 'PRECONDITION') throw error;
    }
  }
  if (limited) throw limited;
  return { view: null };
}

// ── reports and settlement ─────────────────────────────────────────────────────────────────────

/**
 * A donor's report of one view. It must come from the member the view was handed to, for the device it was
 * handed to, with the view's token, before the view expires, with a believable load time (rules.judgeReport).
 * A valid load settles the view's contract paying the donor; an error settles it refunding the buyer. Exactly
 * once: of concurrent reports one counts, the others get CONFLICT.
 */
export async function reportView(db: Db, memberId: string, input: { viewId: string; deviceId: string; report: ViewReport }, now = new Date()) {
  const view = await db.pageView.findUnique({ where: { id: input.viewId }, select: { id: true, campaignId: true, contractId: true, sellerId: true, deviceId: true, token: true, state: true, claimedAt: true, leaseEndsAt: true } });
  if (!view || view.sellerId !== memberId) throw new DomainError('NOT_FOUND', 'You have no page view with that id.');
  const verdict = judgeReport(view, input.deviceId, input.report, now);
  if (!verdict.ok) throw new DomainError(verdict.kind, verdict.message);
  const campaign = await db.pageViewCampaign.findUniqueOrThrow({ where: { id: view.campaignId }, select: { memberId: true } });
  return withOutbox(db, async (tx, outbox) => {
    const { count } = await tx.pageView.updateMany({
      where: { id: view.id, state: 'LEASED', token: input.report.token, deviceId: input.deviceId, leaseEndsAt: { gte: now } },
      data: { state: verdict.state, reportedAt: now, durationMs: verdict.durationMs, ttfbMs: verdict.ttfbMs, error: verdict.error },
    });
    if (count === 0) throw new DomainError('CONFLICT', 'This view was already reported or has expired: it counts once.');
    const valid = verdict.state === 'VALID';
    const note = valid ? `Page view loaded in ${verdict.durationMs} ms and reported with its token: paid` : `Page view failed (${verdict.error}): refunded`;
    await settleFromProofIn(tx, view.contractId, { part: valid ? 1 : 0, whole: 1 }, note, outbox, now);
    outbox.add([campaign.memberId, memberId], { type: 'pageviews', campaignId: view.campaignId, what: 'view' });
    return { viewId: view.id, state: verdict.state, paid: valid };
  });
}

/** Views not reported within their lease expire; their contracts settle at 0 of 1 (the buyer is refunded). */
export async function sweepPageViews(db: Db, now = new Date()) {
  const due = await db.pageView.findMany({ where: { state: 'LEASED', leaseEndsAt: { lt: now } }, select: { id: true, contractId: true, campaignId: true, sellerId: true }, take: 500 });
  let expired = 0;
  for (const view of due) {
    const done = await withOutbox(db, async (tx, outbox) => {
      const { count } = await tx.pageView.updateMany({ where: { id: view.id, state: 'LEASED' }, data: { state: 'EXPIRED' } });
      if (count === 0) return false;
      const contract = await tx.contract.findUniqueOrThrow({ where: { id: view.contractId }, select: { state: true, buyerId: true } });
      if (contract.state === 'MATCHED' || contract.state === 'ACTIVE') {
        await settleFromProofIn(tx, view.contractId, { part: 0, whole: 1 }, 'The page view was not reported in time: refunded', outbox, now);
      }
      outbox.add([contract.buyerId, view.sellerId], { type: 'pageviews', campaignId: view.campaignId, what: 'view' });
      return true;
    });
    if (done) expired++;
  }
  return { expired };
}

// ── what the buyer sees ────────────────────────────────────────────────────────────────────────

export async function listCampaigns(db: Db, memberId: string) {
  const campaigns = await db.pageViewCampaign.findMany({ where: { memberId }, orderBy: { createdAt: 'desc' }, take: 50, select: { id: true, url: true, quantity: true, orderId: true, createdAt: true, communityId: true } });
  const orders = await db.order.findMany({ where: { id: { in: campaigns.map((c) => c.orderId) } }, select: { id: true, status: true, remaining: true, price: true } });
  const counts = await db.pageView.groupBy({ by: ['campaignId', 'state'], where: { campaignId: { in: campaigns.map((c) => c.id) } }, _count: { _all: true } });
  return campaigns.map((c) => {
    const order = orders.find((o) => o.id === c.orderId);
    const n = (state: string) => counts.find((k) => k.campaignId === c.id && k.state === state)?._count._all ?? 0;
    return {
      id: c.id, url: c.url, quantity: c.quantity, communityId: c.communityId, createdAt: c.createdAt.toISOString(),
      status: order?.status ?? 'CANCELLED', price: Number(order?.price ?? 0), valid: n('VALID'), errors: n('ERROR'), pending: n('LEASED'), expired: n('EXPIRED'),
    };
  });
}

/** One order's report: counts, p50/p95 by network type and region, and every view with its token (to check against the site's own log). */
export async function campaignReport(db: Db, memberId: string, campaignId: string) {
  const campaign = await db.pageViewCampaign.findFirst({ where: { id: campaignId, memberId }, select: { id: true, url: true, quantity: true, orderId: true, networks: true, createdAt: true, communityId: true, siteId: true } });
  if (!campaign) throw new DomainError('NOT_FOUND', 'You have no page-view order with that id.');
  const [order, site, views] = await Promise.all([
    db.order.findUniqueOrThrow({ where: { id: campaign.orderId }, select: { status: true, remaining: true, price: true, windowEnd: true } }),
    db.pageViewSite.findUniqueOrThrow({ where: { id: campaign.siteId }, select: { origin: true, ratePerMinute: true } }),
    db.pageView.findMany({
      where: { campaignId },
      orderBy: { claimedAt: 'asc' },
      take: 10_000,
      select: { id: true, token: true, state: true, network: true, region: true, durationMs: true, ttfbMs: true, error: true, claimedAt: true, reportedAt: true, contractId: true },
    }),
  ]);
  const paidContracts = await db.contract.findMany({ where: { id: { in: views.filter((v) => v.state === 'VALID').map((v) => v.contractId) }, state: 'SETTLED' }, select: { price: true, quantity: true, buyerCommission: true } });
  return {
    id: campaign.id,
    url: campaign.url,
    origin: site.origin,
    ratePerMinute: effectiveCap(site.ratePerMinute),
    quantity: campaign.quantity,
    networks: parseNetworks(campaign.networks),
    createdAt: campaign.createdAt.toISOString(),
    status: order.status,
    notHandedOut: order.remaining,
    price: Number(order.price),
    until: order.windowEnd.toISOString(),
    spent: paidContracts.reduce((sum, c) => sum + Number(c.price) * c.quantity + Number(c.buyerCommission), 0),
    ...pageViewReport(views),
    views: views.map((v) => ({
      id: v.id, token: v.token, state: v.state, network: v.network, region: v.region, durationMs: v.durationMs, ttfbMs: v.ttfbMs, error: v.error,
      claimedAt: v.claimedAt.toISOString(), reportedAt: v.reportedAt?.toISOString() ?? null,
    })),
  };
}
