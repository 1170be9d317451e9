import { createContext } from '@/server/context';
import type { Db } from '@/server/db/client';
import { createCaller } from '@/server/routers/_app';
import { hashPassword } from '@/server/auth/password';
import { handleSchema } from '@/server/routers/auth';
import { createSession, readCookie, SESSION_COOKIE } from '@/server/auth/session';

export type Caller = ReturnType<typeof createCaller>;

/** A caller for one request, as the HTTP handler would build it, with an optional session cookie. */
export async function callerWith(db: Db, token?: string | null, signal?: AbortSignal) {
  const resHeaders = new Headers();
  const headers = new Headers(token ? { cookie: `${SESSION_COOKIE}=${token}` } : {});
  const caller = createCaller(await createContext({ db, headers, resHeaders }), { signal });
  return { caller, resHeaders };
}

/** The session token a response set, or null (an empty value means the cookie was cleared). */
export function sessionTokenFrom(resHeaders: Headers): string | null {
  const cookie = resHeaders.get('set-cookie');
  return cookie ? readCookie(cookie.split(';')[0] ?? null, SESSION_COOKIE) || null : null;
}

/** Password hashes by password, made once per process with the real scheme (scrypt at full cost). */
const hashes = new Map<string, Promise<string>>();

/**
 * A new member with a session, as `auth.signUp` makes them, and a caller carrying it. The password hash
 * is the real scheme's, computed once per password and process: hashing costs ~0.3 s by design, and
 * suites that need many members test something else (sign-up and sign-in themselves are tested through
 * `auth.*` in routers, edge-security and the e2e suites).
 */
export async function signUp(db: Db, handle: string, password = 'correct horse battery') {
  if (!hashes.has(password)) hashes.set(password, hashPassword(password));
  const passwordHash = await hashes.get(password)!;
  const member = await db.member.create({ data: { handle: handleSchema.parse(handle), passwordHash }, select: { id: true, handle: true } });
  const { token } = await createSession(db, member.id);
  return { member, token, caller: (await callerWith(db, token)).caller };
}
