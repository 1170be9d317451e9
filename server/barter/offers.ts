import { DomainError } from '../errors';
import { z } from 'zod';
import type { Db, Tx } from '../db/client';
import { toMicro } from '../money';
import { lockBook } from '../market/book-lock';
import { withOutbox, type Outbox } from '../market/outbox';
import { federatedIds } from '../community/links';
import { resolveRates } from '../valuation';
import { CATEGORIES, UNITS_BY_CATEGORY } from '../valuation/categories';
import { closeDeal } from './deals';
import { matchBarter, MAX_LEGS, type BarterDeal, type BarterOffer, type Leg } from './engine';
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

/** Runs the barter engine over every open offer the community can trade with, and closes or proposes each deal found. */
async function runMatching(tx: Tx, communityId: string, now: Date, outbox: Outbox) {
  const communities = await federatedIds(tx, communityId);
  const rows = await tx.barterOffer.findMany({ where: { communityId: { in: communities }, status: 'OPEN' }, orderBy: { seq: 'asc' }, take: 500 });
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
    await tx.barterOffer.updateMany({ where: { id: { in: deal.offers.map((o) => o.id) } }, data: { status: 'PROPOSED', dealId: created.id } });
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

function partiesOf(deal: BarterDeal, byId: Map<string, OfferRow>) {
  return new Map(deal.offers.map((o) => {
    const row = byId.get(o.id)!;
    return [o.id, { memberId: row.memberId, communityId: row.communityId, fromPool: row.fromPool }];
  }));
}

/**
 * Posts a barter offer, valued at the community's rates, and matches the book at once: pairs first,
 * then cycles (server/barter/engine.ts). Deals whose offers all match automatically close now; others
 * are proposed for each member to accept. A coordinator may offer from the community's own pool.
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
    await lockBook(tx, community.id, BOOK);
    const last = await tx.barterOffer.findFirst({ where: { communityId: community.id }, orderBy: { seq: 'desc' }, select: { seq: true } });
    const offer = await tx.barterOffer.create({
      data: {
        communityId: community.id, memberId, fromPool: input.fromPool, give: input.give, want: input.want,
        giveValue: BigInt(giveValue), wantValue: BigInt(wantValue), toleranceBps: input.toleranceBps,
        topUpAllowed: input.topUp.allowed, topUpMax: BigInt(input.topUp.max), auto: input.auto, seq: (last?.seq ?? 0) + 1,
      },
      select: { id: true },
    });
    const deals = await runMatching(tx, community.id, now, outbox);
    const mine = await tx.barterOffer.findUniqueOrThrow({ where: { id: offer.id }, select: { status: true, dealId: true } });
    return { offer: { id: offer.id, status: mine.status, giveValue, wantValue, dealId: mine.dealId }, deals };
  });
}

/** A member accepts a proposed deal; when every participant has, it closes. */
export async function acceptDeal(db: Db, memberId: string, dealId: string, now = new Date()) {
  const deal = await db.barterDeal.findUnique({ where: { id: dealId } });
  if (!deal) throw new DomainError('NOT_FOUND', 'No such barter.');
  const plan = deal.plan as unknown as BarterDeal;
  const members = plan.offers.map((o) => o.memberId);
  if (!members.includes(memberId)) throw new DomainError('NOT_FOUND', 'You are not part of that barter.');
  return withOutbox(db, async (tx, outbox) => {
    await lockBook(tx, deal.communityId, BOOK);
    const current = await tx.barterDeal.findUniqueOrThrow({ where: { id: dealId } });
    if (current.status !== 'PROPOSED') throw new DomainError('CONFLICT', `This barter is already ${current.status.toLowerCase()}.`);
    const accepted = [...new Set([...(current.acceptedBy as string[]), memberId])];
    await tx.barterDeal.update({ where: { id: dealId }, data: { acceptedBy: accepted } });
    const rows = await tx.barterOffer.findMany({ where: { id: { in: plan.offers.map((o) => o.id) } } });
    const byId = new Map(rows.map((r) => [r.id, r]));
    const everyone = plan.offers.every((o) => byId.get(o.id)!.auto || accepted.includes(o.memberId));
    if (everyone) await closeDeal(tx, dealId, plan, partiesOf(plan, byId), now, outbox);
    outbox.add(plan.offers.map((o) => o.memberId), { type: 'barter', dealId, status: everyone ? 'CLOSED' : 'PROPOSED' });
    return { dealId, status: everyone ? 'CLOSED' : 'PROPOSED', acceptedBy: accepted };
  });
}

/** Withdraws an open offer, or declines a proposed deal (its other offers go back to the book). */
export async function cancelOffer(db: Db, memberId: string, offerId: string) {
  const offer = await db.barterOffer.findUnique({ where: { id: offerId } });
  if (!offer || offer.memberId !== memberId) throw new DomainError('NOT_FOUND', 'You have no barter offer with that id.');
  if (offer.status === 'CLOSED' || offer.status === 'CANCELLED') throw new DomainError('CONFLICT', `This offer is already ${offer.status.toLowerCase()}.`);
  await withOutbox(db, async (tx) => {
    await lockBook(tx, offer.communityId, BOOK);
    if (offer.dealId && offer.status === 'PROPOSED') {
      await tx.barterDeal.update({ where: { id: offer.dealId }, data: { status: 'CANCELLED' } });
      await tx.barterOffer.updateMany({ where: { dealId: offer.dealId, id: { not: offerId } }, data: { status: 'OPEN', dealId: null } });
    }
    await tx.barterOffer.update({ where: { id: offerId }, data: { status: 'CANCELLED' } });
  });
  return { ok: true };
}

/** Open and proposed offers the community can trade with (its own and its linked communities'). */
export async function listOffers(db: Db, communityId: string, filters: { memberId?: string; status?: 'OPEN' | 'PROPOSED' | 'CLOSED' | 'CANCELLED' }) {
  const communities = await federatedIds(db, communityId);
  const rows = await db.barterOffer.findMany({
    where: { communityId: { in: communities }, ...(filters.memberId ? { memberId: filters.memberId } : {}), ...(filters.status ? { status: filters.status } : { status: { in: ['OPEN', 'PROPOSED'] } }) },
    orderBy: { seq: 'desc' },
    take: 200,
  });
  const handles = new Map((await db.member.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.memberId))] } }, select: { id: true, handle: true } })).map((m) => [m.id, m.handle]));
  return rows.map((r) => ({
    id: r.id, communityId: r.communityId, memberId: r.memberId, handle: handles.get(r.memberId) ?? '', fromPool: r.fromPool,
    give: r.give as Leg[], want: r.want as Leg[], giveValue: toMicro(r.giveValue), wantValue: toMicro(r.wantValue),
    toleranceBps: r.toleranceBps, topUp: { allowed: r.topUpAllowed, max: toMicro(r.topUpMax) }, auto: r.auto,
    status: r.status, dealId: r.dealId, createdAt: r.createdAt.toISOString(),
  }));
}
