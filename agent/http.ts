/**
 * The agent's connection to the coordinator: the app's own tRPC client (app/_lib/trpc-client.ts, same links
 * as the browser) at `<origin>/api/trpc`, with a fetch that keeps the session cookie as a browser would.
 */
import { TRPCClientError } from '@trpc/client';
import { createAppClient, type AppClient } from '../app/_lib/trpc-client';
import { eventSourceWith } from './event-source';

const REQUEST_TIMEOUT_MS = 30_000;
const COOKIE = 'swapmesh_session';

export type Coordinator = {
  client: AppClient;
  /** GET a same-origin path with the session cookie, as text */
  text(path: string): Promise<string>;
  readonly signedIn: boolean;
};

export function connect(origin: string): Coordinator {
  let cookie: string | null = null;
  /** a stream (server-sent events) has no time limit; every other request has one */
  const withCookie = (init: RequestInit | undefined, limited: boolean): RequestInit => {
    const headers = new Headers(init?.headers);
    if (cookie) headers.set('cookie', cookie);
    return { ...init, headers, signal: init?.signal ?? (limited ? AbortSignal.timeout(REQUEST_TIMEOUT_MS) : null) };
  };
  const cookieFetch: typeof fetch = async (input, init) => {
    const res = await fetch(input, withCookie(init, !(init?.headers && new Headers(init.headers).get('accept') === 'text/event-stream')));
    for (const line of res.headers.getSetCookie()) {
      const match = new RegExp(`^${COOKIE}=([^;]*)`).exec(line);
      if (match) cookie = match[1] ? `${COOKIE}=${match[1]}` : null;
    }
    return res;
  };
  return {
    client: createAppClient({ url: new URL('/api/trpc', origin).href, fetch: cookieFetch, EventSource: eventSourceWith(cookieFetch) }),
    async text(path) {
      const res = await cookieFetch(new URL(path, origin), {});
      const text = await res.text();
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
      return text;
    },
    get signedIn() {
      return cookie !== null;
    },
  };
}

/** The tRPC error code of an answer (CONFLICT, UNAUTHORIZED…), or null for a network failure. */
export function errorCode(err: unknown): string | null {
  return err instanceof TRPCClientError ? ((err.data as { code?: string } | undefined)?.code ?? null) : null;
}

export function describe(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && !(err instanceof TRPCClientError) ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
