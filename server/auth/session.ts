import { createHash, randomBytes } from 'node:crypto';
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

export async function memberForSession(db: Queryable, token: string | null) {
  if (!token) return null;
  const session = await db.session.findUnique({
    where: { id: sessionId(token) },
    select: { expiresAt: true, member: { select: { id: true, handle: true } } },
  });
  if (!session || session.expiresAt.getTime() <= Date.now()) return null;
  return session.member;
}

export async function endSession(db: Queryable, token: string | null) {
  if (token) await db.session.deleteMany({ where: { id: sessionId(token) } });
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
