/**
 * The production API server's tRPC handler: `npm start` (scripts/start.mjs) runs one `node:http` server whose
 * requests under /api/trpc come here and everything else goes to Next's request handler. Served by tRPC's
 * own Node adapter (`@trpc/server/adapters/standalone`), so a call skips Next's request pipeline; the wire
 * contract is the Next route's (app/api/trpc/[trpc]/route.ts, still used by `next dev`): same URL, plain
 * JSON, batching, GET queries and POST mutations, server-sent-event subscriptions, cookies, edge guards.
 *
 * `npm run build` bundles this file with esbuild into .next/api-server/index.mjs (scripts/build-api.mjs):
 * Next compiles server code only into its own bundles. In that process the server modules are therefore
 * loaded twice, once by Next (pages, /api/health, instrumentation.ts: sweepers, retention) and once by this
 * bundle; state they share lives on globalThis (the database client, the session cache).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { MAX_BATCH_CALLS, refusalBody } from '../auth/http-guards';
import { clientAddressOfSocket } from '../auth/client-address';
import type { Db } from '../db/client';
import { env } from '../env';
import { appRouter } from '../routers/_app';
import { isSecure, isTrpcPath, logTrpcError, nodeHeaderReader, refusalOf, requestContext, TRPC_ENDPOINT } from './trpc-request';

export { isTrpcPath };

export type ApiHandlerOptions = {
  /** The database (default: the process-wide client, server/db/client.ts getDb). */
  db?: Db;
  /** Proxies in front of the coordinator (default: TRUST_PROXY). */
  trustProxy?: number;
  /** Headers sent with every response (the ones next.config.js sends with every page and API response). */
  headers?: ReadonlyArray<readonly [string, string]>;
};

export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createApiHandler(options: ApiHandlerOptions = {}): ApiHandler {
  const trustProxy = options.trustProxy ?? env.TRUST_PROXY;
  const always = options.headers ?? [];
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: `${TRPC_ENDPOINT}/`,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ req, res }) => {
      const headers = nodeHeaderReader(req.headers);
      return requestContext({
        db: options.db,
        headers,
        resHeaders: { append: (name, value) => res.appendHeader(name, value) },
        secure: isSecure('encrypted' in req.socket && !!req.socket.encrypted, headers, trustProxy),
        clientAddress: clientAddressOfSocket(req.headers['x-forwarded-for'], req.socket.remoteAddress, trustProxy),
      });
    },
    onError: logTrpcError,
  });

  return (req, res) => {
    for (const [name, value] of always) res.setHeader(name, value);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      url = new URL('http://localhost/');
    }
    const refusal = refusalOf(req.method ?? 'GET', url, nodeHeaderReader(req.headers), trustProxy);
    if (refusal) {
      const body = JSON.stringify(refusalBody(refusal));
      res.writeHead(refusal.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      // drain the refused request's unread body, so that the connection can carry the next request
      if (!req.complete) req.resume();
      return;
    }
    trpc(req, res);
  };
}
