import { DomainError } from '../errors';
import { z } from 'zod';
import type { Db, Prisma, Tx } from '../db/client';
import { toMicro } from '../money';
import { lockBook } from '../db/book-lock';
import { withOutbox, type Outbox } from '../live/outbox';
import { federatedIds } from '../community/links';
import { afterCursor, pageOrder, toPage, type PageRequest } from '../paging';
import { resolveRates } from '../valuation';
import { CATEGORIES, UNITS_BY_CATEGORY } from '../valuation/categories';
import { closeDeal } from './deals';
import { DEFAULT_MAX_CYCLE_LENGTH, matchBarter, MAX_LEGS, type BarterDeal, type BarterOffer, type Leg } from './engine';
import { legValue } from './unit-values';

const BOOK = 'BARTER';

export const legSchema = z
  .object({ category: z.enum(CATEGORIES), unit: z.string().min(1).max(32), quantity: z.number().int().positive('Quantities are whole numbers above zero.').max(1e9) })
  .refine((l) => (UNITS_BY_CATEGORY[l.category] as readonly string[]).includes(l.unit), { message: 'That unit does not belong to that category.' });

export const offerInput = z.object({
  give: z.array(legSchema).min(1).max(MAX_LEGS),
  want: z.array(legSchema).min(1).max(MAX_LEGS),
  toleranceBps: z.number().int().min(0).max(10_000).default(1_000),
  topUp: z.object({ allowed: z.boolean(), max: z.number().int().min(0).max(1e15) }).default({ allowed: false, max: 0 }),
  auto: z.boolean().default(true),
  fromPool: z.boolean().default(false),
});
export type OfferInput = z.infer<typeof offerInput>;

type OfferRow = { id: string; communityId: string; memberId: string; fromPool: boolean; give: unknown; want: unknown; toleranceBps: number; topUpAllowed: boolean; topUpMax: bigint; auto: boolean; seq: number };

const toEngine = (row: OfferRow): BarterOffer => ({
  id: row.id,
  memberId: row.memberId,
  seq: row.seq,
  give: row.give as Leg[],
  want: row.want as Leg[],
  toleranceBps: row.toleranceBps,
  creditTopUp: { allowed: row.topUpAllowed, max: toMicro(row.topUpMax) },
});

/** The most open (or proposed) offers one member may have in a community. */
export const MAX_OPEN_OFFERS = 50;
/** Offers one step of the related-offer search reads, at most. */
export const RELATED_PER_STEP = 200;

const offerRowSelect = { id: true, communityId: true, memberId: true, fromPool: true, give: true, want: true, toleranceBps: true, topUpAllowed: true, topUpMax: true, auto: true, seq: true } as const;

/** Locks the barter books of these communities, always in the same order. */
async function lockBarter(tx: Tx, communityIds: Iterable<string>) {
  for (const id of [...new Set(communityIds)].sort()) await lockBook(tx, id, BOOK);
}

const categoriesOf = (legs: unknown) => [...new Set((legs as Leg[]).map((l) => l.category))];

/** The index rows of an offer: one per category it gives and one per category it wants. */
function legRows(offer: { id: string; communityId: string; give: Leg[]; want: Leg[] }) {
  return [
    ...categoriesOf(offer.give).map((category) => ({ offerId: offer.id, communityId: offer.communityId, direction: 'GIVE', category, open: true })),
    ...categoriesOf(offer.want).map((category) => ({ offerId: offer.id, communityId: offer.communityId, direction: 'WANT', category, open: true })),
  ];
}

/**
 * The open offers a new offer could trade with, found through the leg index (BarterOfferLeg) and never
 * by reading the whole book: first its direct partners (they give what it wants and want what it
 * gives), then, step by step up to the engine's cycle length, offers that give what someone already
 * found wants or want what someone already found gives. Each step reads at most RELATED_PER_STEP
 * offers, oldest first, so unrelated offers (however many) cost nothing and cannot crowd a match out.
 */
async function relatedOffers(tx: Tx, communities: string[], seed: OfferRow) {
  const found = new Map<string, OfferRow>([[seed.id, seed]]);
  const open = { status: 'OPEN' as const, communityId: { in: communities } };
  const gives = (categories: string[]) => ({ legs: { some: { direction: 'GIVE', category: { in: categories }, open: true } } });
  const wants = (categories: string[]) => ({ legs: { some: { direction: 'WANT', category: { in: categories }, open: true } } });
  const partners = await tx.barterOffer.findMany({
    where: { ...open, id: { not: seed.id }, memberId: { not: seed.memberId }, AND: [gives(categoriesOf(seed.want)), wants(categoriesOf(seed.give))] },
    orderBy: { seq: 'asc' },
    take: RELATED_PER_STEP,
    select: offerRowSelect,
  });
  for (const row of partners) found.set(row.id, row);
  let frontier: OfferRow[] = [seed, ...partners];
  for (let step = 1; step < DEFAULT_MAX_CYCLE_LENGTH && frontier.length > 0; step++) {
    const wanted = [...new Set(frontier.flatMap((o) => categoriesOf(o.want)))];
    const given = [...new Set(frontier.flatMap((o) => categoriesOf(o.give)))];
    frontier = await tx.barterOffer.findMany({
      where: { ...open, id: { notIn: [...found.keys()] }, OR: [gives(wanted), wants(given)] },
      orderBy: { seq: 'asc' },
      take: RELATED_PER_STEP,
      select: offerRowSelect,
    });
    for (const row of frontier) found.set(row.id, row);
  }
  return [...found.values()];
}

/** Runs the barter engine over the open offers related to `seed`, and closes or proposes each deal found. */
async function runMatching(tx: Tx, communityId: string, communities: string[], seed: OfferRow, now: Date, outbox: Outbox) {
  const rows = await relatedOffers(tx, communities, seed);
  const community = await tx.community.findUniqueOrThrow({ where: { id: communityId }, select: { valuationRates: true } });
  const deals = matchBarter(rows.map(toEngine), resolveRates(community.valuationRates));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const results: { dealId: string; status: 'CLOSED' | 'PROPOSED' }[] = [];
  for (const deal of deals) {
    const members = deal.offers.map((o) => o.memberId);
    const auto = deal.offers.every((o) => byId.get(o.id)!.auto);
    const created = await tx.barterDeal.create({
      data: { communityId, kind: deal.kind, plan: planJson(deal), acceptedBy: [], totalValue: BigInt(deal.totalValue), status: 'PROPOSED' },
      select: { id: true },
    });
    const ids = deal.offers.map((o) => o.id);
    const { count } = await tx.barterOffer.updateMany({ where: { id: { in: ids }, status: 'OPEN' }, data: { status: 'PROPOSED', dealId: created.id } });
    if (count !== ids.length) throw new DomainError('CONFLICT', 'The barter book changed meanwhile: try again.');
    if (auto) {
      await closeDeal(tx, created.id, deal, partiesOf(deal, byId), now, outbox);
      results.push({ dealId: created.id, status: 'CLOSED' });
    } else {
      results.push({ dealId: created.id, status: 'PROPOSED' });
    }
    outbox.add(members, { type: 'barter', dealId: created.id, status: auto ? 'CLOSED' : 'PROPOSED' });
  }
  return results;
}

const planJson = (deal: BarterDeal) => JSON.parse(JSON.stringify(deal)) as object;

function partiesOf(deal: BarterDeal, byId: Map<string, Pick<OfferRow, 'memberId' | 'communityId' | 'fromPool'>>) {
  return new Map(deal.offers.map((o) => {
    const row = byId.get(o.id)!;
    return [o.id, { memberId: row.memberId, communityId: row.communityId, fromPool: row.fromPool }];
  }));
}

/**
 * Posts a barter offer, valued at the community's rates, and matches it at once against the offers
 * related to it (pairs first, then cycles: server/barter/engine.ts). Deals whose offers all match
 * automatically close now; others are proposed for each member to accept. A coordinator may offer from
 * the community's own pool. A member may have at most MAX_OPEN_OFFERS open offers in a community.
 */
export async function placeOffer(db: Db, memberId: string, community: { id: string; valuationRates: unknown; role: string }, input: OfferInput, now = new Date()) {
  if (input.fromPool && community.role !== 'COORDINATOR') {
    throw new DomainError('FORBIDDEN', "Only the community's coordinator can offer from the community pool.");
  }
  const rates = resolveRates(community.valuationRates);
  let giveValue = 0;
  let wantValue = 0;
  try {
    giveValue = input.give.reduce((sum, leg) => sum + legValue(leg, rates), 0);
    wantValue = input.want.reduce((sum, leg) => sum + legValue(leg, rates), 0);
  } catch (error) {
    throw new DomainError('BAD_INPUT', error instanceof Error ? error.message : 'That offer is too large.');
  }
  return withOutbox(db, async (tx, outbox) => {
    // matching reads the books of linked communities too: lock them all, in one order
    const communities = await federatedIds(tx, community.id);
    await lockBarter(tx, communities);
    const mine = await tx.barterOffer.count({ where: { communityId: community.id, memberId, status: { in: ['OPEN', 'PROPOSED'] } } });
    if (mine >= MAX_OPEN_OFFERS) {
      throw new DomainError('CONFLICT', `You already have ${MAX_OPEN_OFFERS} open barter offers here, the most allowed: withdraw one before posting another.`);
    }
    const last = await tx.barterOffer.findFirst({ where: { communityId: community.id }, orderBy: { seq: 'desc' }, select: { seq: true } });
    const offer = await tx.barterOffer.create({
      data: {
        communityId: community.id, memberId, fromPool: input.fromPool, give: input.give, want: input.want,
        giveValue: BigInt(giveValue), wantValue: BigInt(wantValue), toleranceBps: input.toleranceBps,
        topUpAllowed: input.topUp.allowed, topUpMax: BigInt(input.topUp.max), auto: input.auto, seq: (last?.seq ?? 0) + 1,
      },
      select: offerRowSelect,
    });
    await tx.barterOfferLeg.createMany({ data: legRows({ id: offer.id, communityId: community.id, give: input.give, want: input.want }) });
    const deals = await runMatching(tx, community.id, communities, offer, now, outbox);
    const placed = await tx.barterOffer.findUniqueOrThrow({ where: { id: offer.id }, select: { status: true, dealId: true } });
    return { offer: { id: offer.id, status: placed.status, giveValue, wantValue, dealId: placed.dealId }, deals };
  });
}

/** A member accepts a proposed deal; when every participant has, it closes. */
export async function acceptDeal(db: Db, memberId: string, dealId: string, now = new Date()) {
  const deal = await db.barterDeal.findUnique({ where: { id: dealId } });
  if (!deal) throw new DomainError('NOT_FOUND', 'No such barter.');
  const plan = deal.plan as unknown as BarterDeal;
  const members = plan.offers.map((o) => o.memberId);
  if (!members.includes(memberId)) throw new DomainError('NOT_FOUND', 'You are not part of that barter.');
  const offerIds = plan.offers.map((o) => o.id);
  const offerCommunities = (await db.barterOffer.findMany({ where: { id: { in: offerIds } }, select: { communityId: true } })).map((o) => o.communityId);
  return withOutbox(db, async (tx, outbox) => {
    // the same locks a cancel of any of its offers takes: accept and cancel never interleave
    await lockBarter(tx, [deal.communityId, ...offerCommunities]);
    const current = await tx.barterDeal.findUniqueOrThrow({ where: { id: dealId } });
    if (current.status !== 'PROPOSED') throw new DomainError('CONFLICT', `This barter is already ${current.status.toLowerCase()}.`);
    const accepted = [...new Set([...(current.acceptedBy as string[]), memberId])];
    const { count } = await tx.barterDeal.updateMany({ where: { id: dealId, status: 'PROPOSED' }, data: { acceptedBy: accepted } });
    if (count !== 1) throw new DomainError('CONFLICT', 'This barter changed meanwhile: refresh and try again.');
    const rows = await tx.barterOffer.findMany({ where: { id: { in: offerIds } }, select: { id: true, memberId: true, communityId: true, fromPool: true, auto: true, status: true, dealId: true } });
    if (rows.length !== offerIds.length || rows.some((r) => r.status !== 'PROPOSED' || r.dealId !== dealId)) {
      throw new DomainError('CONFLICT', 'An offer in this barter was withdrawn meanwhile: refresh and try again.');
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const everyone = plan.offers.every((o) => byId.get(o.id)!.auto || accepted.includes(o.memberId));
    if (everyone) await closeDeal(tx, dealId, plan, partiesOf(plan, byId), now, outbox);
    outbox.add(members, { type: 'barter', dealId, status: everyone ? 'CLOSED' : 'PROPOSED' });
    return { dealId, status: everyone ? 'CLOSED' : 'PROPOSED', acceptedBy: accepted };
  });
}

/**
 * Withdraws one of the member's offers (the router checked it is theirs) if open, or declines the deal it
 * is proposed in (its other offers go back to the book). Every
 * check is made again inside the transaction, under the barter book's lock, and every write is
 * conditional on what was read: a deal that closed first stays closed and the cancel is refused.
 */
export async function cancelOffer(db: Db, memberId: string, offer: { id: string; communityId: string }) {
  const offerId = offer.id;
  await withOutbox(db, async (tx, outbox) => {
    await lockBarter(tx, [offer.communityId]);
    const current = await tx.barterOffer.findUniqueOrThrow({ where: { id: offerId }, select: { status: true, dealId: true } });
    if (current.status === 'CLOSED' || current.status === 'CANCELLED') throw new DomainError('CONFLICT', `This offer is already ${current.status.toLowerCase()}.`);
    if (current.status === 'PROPOSED' && current.dealId) {
      const deal = await tx.barterDeal.updateMany({ where: { id: current.dealId, status: 'PROPOSED' }, data: { status: 'CANCELLED' } });
      if (deal.count !== 1) throw new DomainError('CONFLICT', 'This barter already closed: its legs are contracts now.');
      const others = await tx.barterOffer.findMany({ where: { dealId: current.dealId, id: { not: offerId }, status: 'PROPOSED' }, select: { memberId: true } });
      await tx.barterOffer.updateMany({ where: { dealId: current.dealId, id: { not: offerId }, status: 'PROPOSED' }, data: { status: 'OPEN', dealId: null } });
      outbox.add([memberId, ...others.map((o) => o.memberId)], { type: 'barter', dealId: current.dealId, status: 'CANCELLED' });
    }
    const { count } = await tx.barterOffer.updateMany({ where: { id: offerId, status: current.status }, data: { status: 'CANCELLED' } });
    if (count !== 1) throw new DomainError('CONFLICT', 'This offer changed meanwhile: refresh and try again.');
    await tx.barterOfferLeg.updateMany({ where: { offerId }, data: { open: false } });
  });
  return { ok: true };
}

type OfferFilters = { memberId?: string; status?: 'OPEN' | 'PROPOSED' | 'CLOSED' | 'CANCELLED' };

async function offerWhere(db: Db, communityId: string, filters: OfferFilters): Promise<Prisma.BarterOfferWhereInput> {
  const communities = await federatedIds(db, communityId);
  return { communityId: { in: communities }, ...(filters.memberId ? { memberId: filters.memberId } : {}), ...(filters.status ? { status: filters.status } : { status: { in: ['OPEN', 'PROPOSED'] as const } }) };
}

type ListedOffer = Awaited<ReturnType<Db['barterOffer']['findMany']>>[number];

async function presentOffers(db: Db, rows: ListedOffer[]) {
  const handles = new Map((await db.member.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.memberId))] } }, select: { id: true, handle: true } })).map((m) => [m.id, m.handle]));
  return rows.map((r) => ({
    id: r.id, communityId: r.communityId, memberId: r.memberId, handle: handles.get(r.memberId) ?? '', fromPool: r.fromPool,
    give: r.give as Leg[], want: r.want as Leg[], giveValue: toMicro(r.giveValue), wantValue: toMicro(r.wantValue),
    toleranceBps: r.toleranceBps, topUp: { allowed: r.topUpAllowed, max: toMicro(r.topUpMax) }, auto: r.auto,
    status: r.status, dealId: r.dealId, createdAt: r.createdAt.toISOString(),
  }));
}

/** Open and proposed offers the community can trade with (its own and its linked communities'): the newest 200. */
export async function listOffers(db: Db, communityId: string, filters: OfferFilters) {
  const rows = await db.barterOffer.findMany({ where: await offerWhere(db, communityId, filters), orderBy: { seq: 'desc' }, take: 200 });
  return presentOffers(db, rows);
}

/** The same offers newest first, a page at a time (`barter.listPage`). */
export async function listOffersPage(db: Db, communityId: string, filters: OfferFilters, { cursor, limit }: PageRequest) {
  const rows = await db.barterOffer.findMany({
    where: { ...(await offerWhere(db, communityId, filters)), ...afterCursor(cursor, 'desc') },
    orderBy: pageOrder('desc'),
    take: limit + 1,
  });
  const page = toPage(rows, limit, (row) => row);
  return { items: await presentOffers(db, page.items), nextCursor: page.nextCursor };
}
