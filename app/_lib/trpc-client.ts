/**
 * The browser's one tRPC client: the React provider (app/_lib/trpc.tsx) and every caller outside React
 * (the donor loop, the storage agent, the transfer manager, the live hub, peripheral rentals, the owner's
 * check) share it. Plain JSON at `/api/trpc` with the session cookie: subscriptions over server-sent
 * events, everything else batched. An operation called with `context: { keepalive: true }` (a page that is
 * closing, `pagehide`) goes at once, unbatched, as a keepalive request that outlives the page.
 *
 * The same links serve the headless agent in Node (agent/), which passes its origin, a fetch that keeps
 * the cookie, and an EventSource.
 */
import { MAX_BATCH_CALLS } from '@/server/auth/http-guards';
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '@/server/routers/_app';

export type AppClient = TRPCClient<AppRouter>;

export type ClientOptions = {
  /** default `/api/trpc` (same origin); the agent gives `http://host:port/api/trpc` */
  url?: string;
  fetch?: typeof fetch;
  /** an EventSource for subscriptions where there is no global one (Node) */
  EventSource?: typeof EventSource;
};

export const TRPC_URL = '/api/trpc';

const keepaliveFetch =
  (base: typeof fetch | undefined): typeof fetch =>
  (input, init) =>
    (base ?? fetch)(input, { ...init, keepalive: true });

/** Makes a client with the app's links (the page uses `trpcClient()`; tests and the agent make their own). */
export function createAppClient(options: ClientOptions = {}): AppClient {
  const url = options.url ?? TRPC_URL;
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url, ...(options.EventSource ? { EventSource: options.EventSource } : {}) }),
        false: splitLink({
          condition: (op) => op.context.keepalive === true,
          true: httpLink({ url, fetch: keepaliveFetch(options.fetch) }),
          // never more calls in one request than the server takes (a 17th call made the whole batch fail)
          false: httpBatchLink({ url, maxItems: MAX_BATCH_CALLS, ...(options.fetch ? { fetch: options.fetch } : {}) }),
        }),
      }),
    ],
  });
}

let shared: AppClient | null = null;

/** The page's client, made on first use. */
export function trpcClient(): AppClient {
  shared ??= createAppClient();
  return shared;
}
