import { createHash, randomBytes } from 'node:crypto';
import { perClient } from '../db/client-cache';
import { RefreshingCache } from '../db/refreshing-cache';
import type { Queryable } from '../db/client';

export const SESSION_COOKIE = 'swapmesh_session';
export const SESSION_DAYS = 30;

export const newSessionToken = () => randomBytes(32).toString('base64url');

/** Only a hash of the token is stored, so a leaked database cannot be replayed as cookies. */
export const sessionId = (token: string) => createHash('sha256').update(token).digest('base64url');

export async function createSession(db: Queryable, memberId: string) {
  const token = newSessionToken();
  const expiresAt = new Date(Date.now() + SESSION_DAYS * 86_400_000);
  await db.session.create({ data: { id: sessionId(token), memberId, expiresAt } });
  return { token, expiresAt };
}

/**
 * Recently looked-up sessions, kept in memory so that a signed-in request does not cost a database query
 * each time: a session in use is read again in the background after SESSION_FRESH_MS, and nothing older
 * than SESSION_CACHE_MS is answered (server/db/refreshing-cache.ts). Per database client (tests open many),
 * at most SESSION_CACHE_SIZE per client, keyed by the token itself (hashing it on every request was 2% of
 * the API's CPU; only the database keeps hashes). `endSession` pins a "signed out" entry in this process at
 * once, which a lookup still under way cannot overwrite; another coordinator process (PostgreSQL
 * deployments) keeps honouring a signed-out session for up to SESSION_CACHE_MS. A session's own expiry is
 * always checked, cached or not.
 */
export const SESSION_CACHE_MS = 5_000;
export const SESSION_FRESH_MS = 4_000;
export const SESSION_CACHE_SIZE = 10_000;
/** `member: null`: the session was ended here (pinned for SESSION_CACHE_MS). */
type CachedSession = { member: { id: string; handle: string } | null; expiresAt: number };
const cacheOf = perClient('swapmeshSessionCaches', () => new RefreshingCache<CachedSession>({ freshMs: SESSION_FRESH_MS, maxAgeMs: SESSION_CACHE_MS, maxSize: SESSION_CACHE_SIZE }));

export async function memberForSession(db: Queryable, token: string | null) {
  if (!token) return null;
  const session = await cacheOf(db).get(token, async () => {
    const row = await db.session.findUnique({ where: { id: sessionId(token) }, select: { expiresAt: true, member: { select: { id: true, handle: true } } } });
    return row ? { member: row.member, expiresAt: row.expiresAt.getTime() } : null;
  });
  return session && session.expiresAt > Date.now() ? session.member : null;
}

/** Pins one session (by token) as ended in this process's cache: a lookup already under way cannot cache it again. */
const markEnded = (db: Queryable, token: string) => cacheOf(db).pin(token, { member: null, expiresAt: 0 }, SESSION_CACHE_MS);

export async function endSession(db: Queryable, token: string | null) {
  if (!token) return;
  markEnded(db, token);
  await db.session.deleteMany({ where: { id: sessionId(token) } });
  markEnded(db, token);
}

export function sessionCookie(token: string, expiresAt: Date, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Expires=${expiresAt.toUTCString()}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

export const clearedSessionCookie = (secure: boolean) =>
  [`${SESSION_COOKIE}=`, 'Path=/', 'HttpOnly', 'SameSite=Lax', 'Max-Age=0', ...(secure ? ['Secure'] : [])].join('; ');

export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return null;
}
