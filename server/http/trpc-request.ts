/**
 * What every tRPC HTTP request goes through, whichever server carries it: the production API server
 * (server/http/api-server.ts, Node's request) or the Next route of `next dev` (app/api/trpc/[trpc]/route.ts,
 * a fetch Request). One copy of the edge guards (server/auth/http-guards.ts), of what counts as HTTPS, and
 * of the context (server/context.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { TRPCError } from '@trpc/server';
import { refuseTrpcRequest, type HeaderReader, type Refusal } from '../auth/http-guards';
import { createContext, type Context } from '../context';
import { getDb, type Db } from '../db/client';

export const TRPC_ENDPOINT = '/api/trpc';

/** Whether a URL (path and query, as Node gives it) is the tRPC endpoint's. */
export const isTrpcPath = (url: string | undefined) =>
  !!url && url.startsWith(TRPC_ENDPOINT) && (url.length === TRPC_ENDPOINT.length || '/?'.includes(url[TRPC_ENDPOINT.length]!));

/** Node's `req.headers` read like a fetch `Headers` (names are lower case in both). */
export function nodeHeaderReader(headers: IncomingHttpHeaders): HeaderReader {
  return {
    get(name) {
      const value = headers[name];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}

/**
 * Whether the person's browser reached the coordinator over HTTPS (so that cookies are marked Secure): the
 * connection itself is encrypted, or — only when TRUST_PROXY says proxies are in front — the proxy says so
 * in X-Forwarded-Proto (first entry: the one the client used).
 */
export function isSecure(encrypted: boolean, headers: HeaderReader, trustProxy: number): boolean {
  if (encrypted) return true;
  if (trustProxy <= 0) return false;
  return headers.get('x-forwarded-proto')?.split(',', 1)[0]?.trim().toLowerCase() === 'https';
}

/** Why the request is refused before tRPC sees it (400 / 403 / 415), or null. */
export const refusalOf = (method: string, url: URL, headers: HeaderReader, trustProxy: number): Refusal | null =>
  refuseTrpcRequest(method, url, headers, trustProxy);

/** The context of one tRPC request. */
export function requestContext(opts: {
  headers: HeaderReader;
  resHeaders: { append(name: string, value: string): unknown };
  secure: boolean;
  clientAddress: string;
  db?: Db;
}): Promise<Context> {
  return createContext({ db: opts.db ?? getDb(), headers: opts.headers, resHeaders: opts.resHeaders, secure: opts.secure, clientAddress: opts.clientAddress });
}

/** Errors of our own making are logged (the client gets an error id, server/trpc.ts); a person's are not. */
export function logTrpcError({ error, path }: { error: TRPCError; path?: string }): void {
  if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`tRPC ${path ?? '?'} failed:`, error.cause ?? error);
}
