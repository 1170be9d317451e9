/**
 * The production API server's tRPC handler: `npm start` (scripts/start.mjs) runs one `node:http` server whose
 * requests under /api/trpc come here and everything else goes to Next's request handler. Served by tRPC's
 * own Node adapter (`@trpc/server/adapters/node-http`: the request, `resolveResponse` from
 * `@trpc/server/http`, its error handler) with a leaner write of the response (below), so a call skips
 * Next's request pipeline; the wire contract is the Next route's (app/api/trpc/[trpc]/route.ts, still used
 * by `next dev`): same URL, plain JSON, batching, GET queries and POST mutations, server-sent-event
 * subscriptions, cookies, edge guards.
 *
 * `npm run build` bundles this file with esbuild into .next/api-server/index.mjs (every package external):
 * Next compiles server code only into its own bundles. The front thread that imports this bundle also starts
 * the coordinator's periodic work from it (`startCoordinatorWork`); Next runs in a thread of its own
 * (scripts/pages-thread.mjs), with its own database client for its few routes (/api/health, job results).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { incomingMessageToRequest, internal_exceptionHandler } from '@trpc/server/adapters/node-http';
import { resolveResponse } from '@trpc/server/http';
import { MAX_BATCH_CALLS, refusalBody } from '../auth/http-guards';
import { clientAddressOfSocket } from '../auth/client-address';
import type { Db } from '../db/client';
import { env } from '../env';
import { appRouter } from '../routers/_app';
import { answerLive, liveCall } from './live-fast-path';
import { answerCalls, mutationCalls, queryCalls } from './query-fast-path';
import { isSecure, isTrpcPath, logTrpcError, nodeHeaderReader, refusalOf, requestContext, TRPC_ENDPOINT } from './trpc-request';

export { isTrpcPath };
export { startCoordinatorWork } from '../maintenance/start';

export type ApiHandlerOptions = {
  /** The database (default: the process-wide client, server/db/client.ts getDb). */
  db?: Db;
  /** Proxies in front of the coordinator (default: TRUST_PROXY). */
  trustProxy?: number;
  /** Headers sent with every response (the ones next.config.js sends with every page and API response). */
  headers?: ReadonlyArray<readonly [string, string]>;
  /** GET queries and POST mutations the short way (server/http/query-fast-path.ts); default true. False: tRPC's resolveResponse for all. */
  fastCalls?: boolean;
  /** Live streams (book feeds, `signal.stream`) written by server/http/live-fast-path.ts; default true. */
  fastLive?: boolean;
};

export type ApiHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Waits until `res` may take more (or is gone). */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Writes tRPC's fetch `Response` to Node's response. A JSON answer (the common case) is read whole and sent
 * in one write with its Content-Length; a stream (server-sent events, or JSON lines when a client asks for
 * them) is written chunk by chunk as it comes, until it ends or the request is aborted (the client left:
 * tRPC then ends the stream). tRPC's own adapter (standalone / node-http) pipes every body through a web
 * WritableStream and chunked encoding, which costs a third of the cheapest call.
 */
async function writeResponse(request: Request, response: Response, res: ServerResponse, streaming: boolean): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.appendHeader('set-cookie', cookies);
  if (!response.body) {
    res.end();
    return;
  }
  if (!streaming) {
    const body = await response.text();
    res.setHeader('content-length', Buffer.byteLength(body));
    res.end(body);
    return;
  }
  const reader = response.body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  request.signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await drained(res);
    }
  } catch (error) {
    if (!request.signal.aborted) throw error;
  } finally {
    request.signal.removeEventListener('abort', stop);
    res.end();
  }
}

/** A fetch Request for tRPC's full path, from a Node request whose body has already been read. */
function requestWithBody(req: IncomingMessage, url: URL, body: string): Request {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  return new Request(url, { method: req.method, headers, body });
}

export function createApiHandler(options: ApiHandlerOptions = {}): ApiHandler {
  const trustProxy = options.trustProxy ?? env.TRUST_PROXY;
  const always = options.headers ?? [];
  const fastCalls = options.fastCalls ?? true;
  const fastLive = options.fastLive ?? true;
  const prefix = `${TRPC_ENDPOINT}/`;

  const contextFor = (req: IncomingMessage, res: ServerResponse) => {
    const headers = nodeHeaderReader(req.headers);
    return requestContext({
      db: options.db,
      headers,
      resHeaders: { append: (name, value) => res.appendHeader(name, value) },
      secure: isSecure('encrypted' in req.socket && !!req.socket.encrypted, headers, trustProxy),
      clientAddress: clientAddressOfSocket(req.headers['x-forwarded-for'], req.socket.remoteAddress, trustProxy),
    });
  };

  async function serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : '';
    try {
      const live = fastLive ? await liveCall(appRouter, req, url, path) : null;
      if (live) {
        await answerLive({ router: appRouter, req, res, call: live, createContext: () => contextFor(req, res), onError: logTrpcError });
        return;
      }
      const batch = url.searchParams.get('batch') === '1';
      const answer = (type: 'query' | 'mutation', calls: Awaited<ReturnType<typeof queryCalls>> & object) =>
        answerCalls({ router: appRouter, type, req, res, batch, calls, createContext: () => contextFor(req, res), onError: logTrpcError });
      const queries = fastCalls ? await queryCalls(appRouter, req, url, path) : null;
      if (queries) return await answer('query', queries);
      const mutations = fastCalls ? await mutationCalls(appRouter, req, url, path) : null;
      if (Array.isArray(mutations)) return await answer('mutation', mutations);
      // the short way read the body and left the answer to tRPC: hand it the body it read
      const request = mutations ? requestWithBody(req, url, mutations.body) : incomingMessageToRequest(req, res, { maxBodySize: null });
      const response = await resolveResponse({
        router: appRouter,
        req: request,
        path,
        maxBatchSize: MAX_BATCH_CALLS,
        error: null,
        createContext: () => contextFor(req, res),
        onError: logTrpcError,
      });
      const accept = req.headers['trpc-accept'] ?? req.headers.accept ?? '';
      const streaming = accept.includes('application/jsonl') || !!response.headers.get('content-type')?.startsWith('text/event-stream');
      await writeResponse(request, response, res, streaming);
    } catch (cause) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // tRPC's own last resort: the error as JSON, with its HTTP status (createContext is not called)
      const handlerOptions = { req, res, path, router: appRouter, onError: logTrpcError } as unknown as Parameters<typeof internal_exceptionHandler>[0];
      internal_exceptionHandler(handlerOptions)(cause);
    }
  }

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
    void serve(req, res, url);
  };
}
