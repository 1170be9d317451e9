import type { HeaderReader } from './auth/http-guards';
import type { Db } from './db/client';
import { memberForSession, readCookie, SESSION_COOKIE } from './auth/session';

export type SessionMember = { id: string; handle: string };

export type Context = {
  db: Db;
  member: SessionMember | null;
  sessionToken: string | null;
  /** Whether the request came over HTTPS, so cookies can be marked Secure. */
  secure: boolean;
  /** Appends a Set-Cookie header to the response. */
  setCookie: (cookie: string) => void;
  /** The address the request came from as the coordinator sees it (devices behind one router share it). */
  clientAddress: string;
};

/** Builds the context of one request from its headers; used by the HTTP handler and by tests alike. */
export async function createContext({
  db,
  headers,
  resHeaders,
  secure = false,
  clientAddress,
}: {
  db: Db;
  /** The request's headers: a fetch `Headers`, or a view of Node's (server/http/trpc-request.ts). */
  headers: HeaderReader;
  /** Where response headers go: a fetch `Headers`, or Node's response. */
  resHeaders: { append(name: string, value: string): unknown };
  secure?: boolean;
  /**
   * The client's address. The HTTP handler always passes it (server/auth/client-address.ts decides what to
   * trust); in-process callers (tests, scripts) may instead put it in `x-forwarded-for`.
   */
  clientAddress?: string;
}): Promise<Context> {
  const sessionToken = readCookie(headers.get('cookie'), SESSION_COOKIE);
  return {
    db,
    sessionToken,
    member: await memberForSession(db, sessionToken),
    secure,
    setCookie: (cookie) => resHeaders.append('set-cookie', cookie),
    clientAddress: clientAddress ?? (headers.get('x-forwarded-for')?.split(',')[0]?.trim() || 'unknown'),
  };
}
