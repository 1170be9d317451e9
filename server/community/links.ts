import { DomainError } from '../errors';
import { rawQuery } from '../db/direct';
import { Prisma } from '../db/generated/sqlite/client';
import type { Db, Queryable, Tx } from '../db/client';
import { transaction } from '../db/transaction';
import { formatCredits, toMicro } from '../money';
import { linkCapMessage } from '../ledger/postings';
import { activeLink, lockLink, namesOf } from '../ledger/repository';

/**
 * Federation: a coordinator proposes a link to another community, with a cap; it becomes active when that
 * community's coordinator accepts, which agrees to the cap. Members of linked communities see each other's
 * books and barter offers and trade across them, settling through each community's clearing account for
 * the other. Neither clearing account may pass ±cap (server/ledger: `accountBounds`), so a community can
 * never owe the other more than both coordinators agreed. Either coordinator may propose a new cap; it
 * applies once the other accepts. `capProposedById` holds the id of the community that proposed it.
 */
export async function proposeLink(db: Db, memberId: string, fromId: string, toSlug: string, cap: number) {
  const to = await db.community.findUnique({ where: { slug: toSlug }, select: { id: true } });
  if (!to) throw new DomainError('NOT_FOUND', `No community is called "${toSlug}".`);
  if (to.id === fromId) throw new DomainError('BAD_INPUT', 'A community cannot link to itself.');
  const existing = await db.communityLink.findFirst({ where: { OR: [{ fromId, toId: to.id }, { fromId: to.id, toId: fromId }] } });
  if (existing) throw new DomainError('CONFLICT', existing.active ? 'These communities are already linked.' : 'A link between these communities is already waiting for acceptance.');
  const link = await db.communityLink
    .create({ data: { fromId, toId: to.id, proposedBy: memberId, cap: BigInt(cap) }, select: { id: true, active: true, cap: true } })
    .catch((error: unknown) => {
      // the unique (fromId, toId) index: the same proposal made twice at once
      if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') throw new DomainError('CONFLICT', 'A link between these communities is already waiting for acceptance.');
      throw error;
    });
  return { id: link.id, active: link.active, cap: toMicro(link.cap) };
}

/** The other community's coordinator accepts the link, and with it the cap proposed. */
export async function acceptLink(db: Db, communityId: string, linkId: string, now = new Date()) {
  const link = await db.communityLink.findUnique({ where: { id: linkId } });
  if (!link || link.toId !== communityId) throw new DomainError('NOT_FOUND', 'No link proposal to this community has that id.');
  if (link.active) throw new DomainError('CONFLICT', 'This link is already active.');
  const { count } = await db.communityLink.updateMany({ where: { id: linkId, active: false }, data: { active: true, acceptedAt: now } });
  if (count !== 1) throw new DomainError('CONFLICT', 'This link is already active.');
  return { id: link.id, active: true, cap: toMicro(link.cap) };
}

async function activeLinkOf(db: Queryable, communityId: string, linkId: string) {
  const link = await db.communityLink.findUnique({ where: { id: linkId } });
  if (!link || (link.fromId !== communityId && link.toId !== communityId)) throw new DomainError('NOT_FOUND', 'This community has no link with that id.');
  if (!link.active) throw new DomainError('PRECONDITION', 'This link is not active yet: the cap it was proposed with applies once it is accepted.');
  return link;
}

/** Either coordinator proposes a new cap for an active link; it applies when the other community's coordinator accepts. */
export async function proposeLinkCap(db: Db, communityId: string, linkId: string, cap: number) {
  const link = await activeLinkOf(db, communityId, linkId);
  if (toMicro(link.cap) === cap && link.proposedCap === null) throw new DomainError('BAD_INPUT', `The cap is already ${formatCredits(cap)} credits.`);
  await db.communityLink.update({ where: { id: linkId }, data: { proposedCap: BigInt(cap), capProposedById: communityId } });
  return { id: linkId, cap: toMicro(link.cap), proposedCap: cap, capProposedHere: true };
}

/** The other side's coordinator accepts the proposed cap: from now on, it bounds both clearing accounts. */
export async function acceptLinkCap(db: Db, communityId: string, linkId: string) {
  return transaction(db, async (tx) => {
    const link = await activeLinkOf(tx, communityId, linkId);
    if (link.proposedCap === null || link.capProposedById === null) throw new DomainError('PRECONDITION', 'No new cap is waiting for acceptance on this link.');
    if (link.capProposedById === communityId) throw new DomainError('FORBIDDEN', "Your community proposed this cap: the other community's coordinator accepts it.");
    // conditional on the very proposal read, so that a newer proposal is not accepted unseen
    const { count } = await tx.communityLink.updateMany({
      where: { id: linkId, proposedCap: link.proposedCap, capProposedById: link.capProposedById },
      data: { cap: link.proposedCap, proposedCap: null, capProposedById: null },
    });
    if (count !== 1) throw new DomainError('CONFLICT', 'The proposed cap changed meanwhile: look at it again before accepting.');
    return { id: linkId, cap: toMicro(link.proposedCap), proposedCap: null, capProposedHere: false };
  });
}

const OPEN_STATES = ['MATCHED', 'ACTIVE', 'DELIVERED', 'DISPUTED'] as const;

/**
 * Checks, when a trade across a link is agreed (a fill or a barter leg whose seller is in the linked
 * community), that paying it would keep `fromCommunityId`'s clearing account for the other within the
 * link's cap, counting what open contracts across the link will still pay. Taken under the link's row
 * lock, so that concurrent trades across one link are checked one after the other. Settlement is guarded
 * again by the ledger itself (postEntry never takes a clearing account past the cap); checking here as
 * well refuses the trade up front instead of leaving a delivered contract unable to pay.
 * `amount` is what will cross: the seller's proceeds, in µ.
 */
export async function assertLinkRoom(tx: Tx, fromCommunityId: string, toCommunityId: string, amount: number) {
  const link = await activeLink(tx, fromCommunityId, toCommunityId);
  if (!link) {
    const [here, there] = await namesOf(tx, [fromCommunityId, toCommunityId]);
    throw new DomainError('PRECONDITION', `${here} and ${there} are not linked, so credits cannot move between them.`);
  }
  await lockLink(tx, link.id);
  const [clearing, open] = await Promise.all([
    tx.account.aggregate({ where: { communityId: fromCommunityId, kind: 'FEDERATION_CLEARING', peerCommunityId: toCommunityId }, _sum: { balance: true } }),
    tx.contract.aggregate({
      where: { communityId: fromCommunityId, sellerCommunityId: toCommunityId, state: { in: [...OPEN_STATES] } },
      _sum: { escrowed: true, buyerCommission: true, sellerCommission: true },
    }),
  ]);
  const pending = (open._sum.escrowed ?? 0n) - (open._sum.buyerCommission ?? 0n) - (open._sum.sellerCommission ?? 0n);
  if ((clearing._sum.balance ?? 0n) + pending + BigInt(amount) > BigInt(link.cap)) {
    const [here, there] = await namesOf(tx, [fromCommunityId, toCommunityId]);
    throw new DomainError('CONFLICT', linkCapMessage(here, there, link.cap));
  }
}

/** The communities linked to this one (active links only), this one included. */
export async function federatedIds(db: Queryable, communityId: string): Promise<string[]> {
  // raw: every market batch asks this first, and the ORM's cost per query is most of its cost
  return federatedFrom(communityId, await rawQuery<LinkRow>(db, activeLinksQuery(communityId)));
}

export type LinkRow = { fromId: string; toId: string };

/** The query of `federatedIds`, for a caller that sends it with others (server/db/direct.ts rawQueryAll). */
export const activeLinksQuery = (communityId: string) =>
  Prisma.sql`SELECT "fromId", "toId" FROM "CommunityLink" WHERE active = ${true} AND ("fromId" = ${communityId} OR "toId" = ${communityId})`;

/** `federatedIds` from the rows of `activeLinksQuery`. */
export const federatedFrom = (communityId: string, links: LinkRow[]): string[] => [communityId, ...links.map((l) => (l.fromId === communityId ? l.toId : l.fromId))];

/**
 * This community's links, with the agreed cap, any cap waiting for acceptance, and the net clearing
 * balance (positive: the other community owes this one; negative: this one owes it).
 */
export async function linksOf(db: Db, communityId: string) {
  const links = await db.communityLink.findMany({ where: { OR: [{ fromId: communityId }, { toId: communityId }] }, orderBy: { createdAt: 'desc' } });
  const otherIds = links.map((l) => (l.fromId === communityId ? l.toId : l.fromId));
  const [others, clearing] = await Promise.all([
    db.community.findMany({ where: { id: { in: otherIds } }, select: { id: true, name: true, slug: true } }),
    db.account.findMany({ where: { communityId, kind: 'FEDERATION_CLEARING', peerCommunityId: { in: otherIds } }, select: { peerCommunityId: true, balance: true } }),
  ]);
  return links.map((l) => {
    const otherId = l.fromId === communityId ? l.toId : l.fromId;
    return {
      id: l.id,
      active: l.active,
      incoming: l.toId === communityId,
      community: others.find((o) => o.id === otherId) ?? null,
      cap: toMicro(l.cap),
      proposedCap: l.proposedCap === null ? null : toMicro(l.proposedCap),
      capProposedHere: l.capProposedById === null ? null : l.capProposedById === communityId,
      clearingBalance: clearing.filter((a) => a.peerCommunityId === otherId).reduce((sum, a) => sum + toMicro(a.balance), 0),
    };
  });
}
