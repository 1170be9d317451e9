import { createHash, randomBytes } from 'node:crypto';
import { clientCache } from '../db/client-cache';
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
 * Recently looked-up sessions, kept in memory for SESSION_CACHE_MS so that a signed-in request does not
 * cost a database query each time. Per database client (tests open many), at most SESSION_CACHE_SIZE per
 * client (the oldest entry goes first; server/db/client-cache.ts), keyed by the token itself (hashing it on
 * every request was 2% of the API's CPU; only the database keeps hashes). `endSession` leaves a "signed out"
 * entry in this process at once, which a lookup still under way cannot overwrite; another coordinator
 * process (PostgreSQL deployments) keeps honouring a signed-out session for up to SESSION_CACHE_MS.
 * A session's own expiry is always checked, cached or not.
 */
export const SESSION_CACHE_MS = 5_000;
export const SESSION_CACHE_SIZE = 10_000;
/** `member: null`: the session was ended here (a tombstone, kept SESSION_CACHE_MS). */
type CachedSession = { member: { id: string; handle: string } | null; expiresAt: number; until: number };
const cacheOf = clientCache<CachedSession>('swapmeshSessionCaches');

export async function memberForSession(db: Queryable, token: string | null) {
  if (!token) return null;
  const cache = cacheOf(db);
  const now = Date.now();
  const cached = cache.get(token);
  if (cached && cached.until > now) return cached.expiresAt > now ? cached.member : null;
  if (cached) cache.delete(token);
  const session = await db.session.findUnique({
    where: { id: sessionId(token) },
    select: { expiresAt: true, member: { select: { id: true, handle: true } } },
  });
  if (!session || session.expiresAt.getTime() <= Date.now()) return null;
  // signed out while this lookup read the row: the tombstone stays, and so does the answer
  const ended = cache.get(token);
  if (ended && ended.member === null && ended.until > Date.now()) return null;
  if (cache.size >= SESSION_CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(token, { member: session.member, expiresAt: session.expiresAt.getTime(), until: Date.now() + SESSION_CACHE_MS });
  return session.member;
}

/** Marks one session (by token) as ended in this process's cache: a lookup already under way cannot cache it again. */
const markEnded = (db: Queryable, token: string) => void cacheOf(db).set(token, { member: null, expiresAt: 0, until: Date.now() + SESSION_CACHE_MS });

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
