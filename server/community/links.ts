import { DomainError } from '../errors';
import type { Db, Queryable } from '../db/client';

/**
 * Federation: a coordinator proposes a link to another community; it becomes active when that
 * community's coordinator accepts. Members of linked communities see each other's barter offers and
 * trade across them, settling through each community's clearing account for the other.
 */
export async function proposeLink(db: Db, memberId: string, fromId: string, toSlug: string) {
  const to = await db.community.findUnique({ where: { slug: toSlug }, select: { id: true } });
  if (!to) throw new DomainError('NOT_FOUND', `No community is called "${toSlug}".`);
  if (to.id === fromId) throw new DomainError('BAD_INPUT', 'A community cannot link to itself.');
  const existing = await db.communityLink.findFirst({ where: { OR: [{ fromId, toId: to.id }, { fromId: to.id, toId: fromId }] } });
  if (existing) throw new DomainError('CONFLICT', existing.active ? 'These communities are already linked.' : 'A link between these communities is already waiting for acceptance.');
  return db.communityLink.create({ data: { fromId, toId: to.id, proposedBy: memberId }, select: { id: true, active: true } });
}

export async function acceptLink(db: Db, communityId: string, linkId: string, now = new Date()) {
  const link = await db.communityLink.findUnique({ where: { id: linkId } });
  if (!link || link.toId !== communityId) throw new DomainError('NOT_FOUND', 'No link proposal to this community has that id.');
  if (link.active) throw new DomainError('CONFLICT', 'This link is already active.');
  return db.communityLink.update({ where: { id: linkId }, data: { active: true, acceptedAt: now }, select: { id: true, active: true } });
}

/** The communities linked to this one (active links only), this one included. */
export async function federatedIds(db: Queryable, communityId: string): Promise<string[]> {
  const links = await db.communityLink.findMany({ where: { active: true, OR: [{ fromId: communityId }, { toId: communityId }] }, select: { fromId: true, toId: true } });
  return [communityId, ...links.map((l) => (l.fromId === communityId ? l.toId : l.fromId))];
}

export async function linksOf(db: Db, communityId: string) {
  const links = await db.communityLink.findMany({ where: { OR: [{ fromId: communityId }, { toId: communityId }] }, orderBy: { createdAt: 'desc' } });
  const others = await db.community.findMany({ where: { id: { in: links.map((l) => (l.fromId === communityId ? l.toId : l.fromId)) } }, select: { id: true, name: true, slug: true } });
  return links.map((l) => {
    const otherId = l.fromId === communityId ? l.toId : l.fromId;
    return { id: l.id, active: l.active, incoming: l.toId === communityId, community: others.find((o) => o.id === otherId) ?? null };
  });
}
