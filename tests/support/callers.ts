import { createContext } from '@/server/context';
import type { Db } from '@/server/db/client';
import { createCaller } from '@/server/routers/_app';
import { readCookie, SESSION_COOKIE } from '@/server/auth/session';

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

/** Signs a new member up and returns a caller carrying their session. */
export async function signUp(db: Db, handle: string, password = 'correct horse battery') {
  const { caller, resHeaders } = await callerWith(db);
  const { member } = await caller.auth.signUp({ handle, password });
  const token = sessionTokenFrom(resHeaders);
  if (!token) throw new Error('signUp set no session cookie');
  return { member, token, caller: (await callerWith(db, token)).caller };
}
