/**
 * Sites a member proved they control: the member adds an origin and gets a token; they serve it at
 * /.well-known/swapmesh-<token>.txt of that origin; the coordinator fetches that one file (server/pageviews/fetch-token.ts)
 * and, when it holds the token, marks the site verified. Only verified sites can be ordered views of, and a
 * failed check un-verifies the site, which stops its views at once.
 */
import { randomBytes } from 'node:crypto';
import type { Db } from '../db/client';
import { DomainError } from '../errors';
import { fetchToken, type FetchOutcome } from './fetch-token';
import { effectiveCap, parseOrigin, rateWindowStart, tokenServed, wellKnownUrl } from './rules';
import { isUniqueViolation } from '../db/unique';

const siteSelect = { id: true, origin: true, token: true, ratePerMinute: true, verifiedAt: true, lastError: true, createdAt: true } as const;

function present(row: { id: string; origin: string; token: string; ratePerMinute: number; verifiedAt: Date | null; lastError: string | null; createdAt: Date }) {
  return {
    id: row.id,
    origin: row.origin,
    token: row.token,
    tokenUrl: wellKnownUrl(row.origin, row.token),
    ratePerMinute: effectiveCap(row.ratePerMinute),
    verified: row.verifiedAt !== null,
    verifiedAt: row.verifiedAt?.toISOString() ?? null,
    lastError: row.lastError,
  };
}
export type SiteView = ReturnType<typeof present>;

/** Adds an origin to verify (or returns the member's existing one, with its rate updated). */
export async function addSite(db: Db, memberId: string, input: { origin: string; ratePerMinute: number }) {
  const parsed = parseOrigin(input.origin);
  if (!parsed.ok) throw new DomainError(parsed.kind, parsed.message);
  const ratePerMinute = effectiveCap(input.ratePerMinute);
  const row = await db.pageViewSite.upsert({
    where: { memberId_origin: { memberId, origin: parsed.origin } },
    create: { memberId, origin: parsed.origin, token: randomBytes(18).toString('base64url'), ratePerMinute },
    update: { ratePerMinute },
    select: siteSelect,
  });
  return present(row);
}

export async function listSites(db: Db, memberId: string) {
  const rows = await db.pageViewSite.findMany({ where: { memberId }, orderBy: { createdAt: 'asc' }, take: 50, select: siteSelect });
  return rows.map(present);
}

/** Fetches the site's token file and records the outcome; refuses with PRECONDITION (and the reason) when it fails. */
export async function verifySite(db: Db, memberId: string, siteId: string, fetcher: (url: string) => Promise<FetchOutcome> = fetchToken, now = new Date()) {
  const site = await db.pageViewSite.findFirst({ where: { id: siteId, memberId }, select: siteSelect });
  if (!site) throw new DomainError('NOT_FOUND', 'You have no site with that id.');
  const url = wellKnownUrl(site.origin, site.token);
  const outcome = await fetcher(url);
  const failure = !outcome.ok
    ? outcome.reason
    : outcome.status !== 200
      ? `The site answered ${outcome.status} for ${url}: serve the token there.`
      : !tokenServed(outcome.body, site.token)
        ? `The file at ${url} does not hold this site's token: it should contain only ${site.token}.`
        : null;
  const row = await db.pageViewSite.update({
    where: { id: site.id },
    data: failure ? { verifiedAt: null, lastError: failure } : { verifiedAt: now, lastError: null },
    select: siteSelect,
  });
  if (failure) throw new DomainError('PRECONDITION', `${site.origin} is not verified. ${failure}`);
  // the target's rate counter, shared by every member who verified this origin (claims only update it)
  await db.pageViewRate.create({ data: { origin: site.origin, windowStart: rateWindowStart(now), count: 0 }, select: { origin: true } }).catch(ignoreDuplicate);
  return present(row);
}

// the counter exists already (verified before, or by another member): nothing to do
const ignoreDuplicate = (error: unknown) => {
  if (isUniqueViolation(error)) return;
  throw error;
};
