/**
 * The API server's short way for the commonest request: GET of one query or a batch of queries, answered
 * as plain JSON. It does what tRPC's `resolveResponse` does for such a request (read in
 * @trpc/server 11.22 dist/resolveResponse: the json content-type handler, the non-streaming answer, the
 * status of getHTTPStatusCode) with tRPC's own pieces — the procedure, getErrorShape, the error formatter,
 * transformTRPCResponse — but without building a fetch Request and Response, abort-signal unions and web
 * streams around it, which cost more than the cheapest procedure itself.
 *
 * Anything else — mutations, subscriptions, unknown procedures, a body, other content types, JSON lines,
 * input that does not parse — is left to the full path (`null`), so tRPC itself answers and words every
 * unusual case. tests/integration/edge-security.integration.test.ts compares both paths' answers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getHTTPStatusCode } from '@trpc/server/http';
import {
  getErrorShape,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  transformTRPCResponse,
  type AnyRouter as AnyTRPCRouter,
  type TRPCError,
} from '@trpc/server/unstable-core-do-not-import';

type Call = { path: string; procedure: { (opts: unknown): Promise<unknown>; _def: { type: string } }; input: unknown };

const isObject = (value: unknown): value is Record<string, unknown> => !!value && !Array.isArray(value) && typeof value === 'object';
const isPromiseLike = (value: unknown) => isObject(value) && typeof value.then === 'function';
const isAsyncIterable = (value: unknown) => isObject(value) && Symbol.asyncIterator in value;
/** tRPC's isDataStream: such data needs a streaming link, and a plain JSON answer refuses it. */
const isDataStream = (value: unknown) =>
  isObject(value) && (isAsyncIterable(value) || Object.values(value).some((v) => isPromiseLike(v) || isAsyncIterable(v)));

/** The calls of a GET that the short way can answer, or null for the full path. */
export async function queryCalls(router: AnyTRPCRouter, req: IncomingMessage, url: URL, rawPath: string): Promise<Call[] | null> {
  if (req.method !== 'GET') return null;
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && !contentType.startsWith('application/json')) return null;
  if (req.headers['trpc-accept'] !== undefined || req.headers.accept?.includes('application/jsonl')) return null;
  const params = url.searchParams;
  if (params.has('connectionParams')) return null;
  const batch = params.get('batch') === '1';
  let paths: string[];
  let inputs: unknown;
  try {
    paths = batch ? decodeURIComponent(rawPath).split(',') : [decodeURIComponent(rawPath)];
    const input = params.get('input');
    inputs = input ? JSON.parse(input) : undefined;
  } catch {
    return null;
  }
  if (batch && inputs !== undefined && !isObject(inputs)) return null;
  const calls: Call[] = [];
  for (const [index, path] of paths.entries()) {
    const procedure = (await getProcedureAtPath(router, path)) as Call['procedure'] | null;
    if (!procedure || procedure._def.type !== 'query') return null;
    calls.push({ path, procedure, input: batch ? (inputs as Record<number, unknown> | undefined)?.[index] : inputs });
  }
  return calls;
}

type OnError = (opts: { error: TRPCError; path?: string; input: unknown; ctx: unknown; type: 'query'; req: IncomingMessage }) => void;

/** Runs the calls with the context and writes tRPC's JSON answer: one object, or an array for a batch. */
export async function answerQueries(opts: {
  router: AnyTRPCRouter;
  req: IncomingMessage;
  res: ServerResponse;
  batch: boolean;
  calls: Call[];
  createContext: () => Promise<unknown>;
  onError: OnError;
}): Promise<void> {
  const { router, req, res, calls } = opts;
  const config = router._def._config;
  let ctx: unknown;
  let ctxError: unknown = null;
  try {
    ctx = await opts.createContext();
  } catch (cause) {
    ctxError = cause;
  }
  const answers = await Promise.all(
    calls.map(async (call, batchIndex) => {
      try {
        if (ctxError) throw ctxError;
        const data = await call.procedure({
          path: call.path,
          getRawInput: async () => call.input,
          ctx,
          type: 'query',
          // no query here reads it (only subscriptions do), and an AbortController per request costs
          signal: undefined,
          batchIndex,
        });
        if (isDataStream(data)) {
          const { TRPCError } = await import('@trpc/server');
          throw new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: 'Cannot use stream-like response in non-streaming request - use httpBatchStreamLink' });
        }
        return { result: { data } };
      } catch (cause) {
        const error = getTRPCErrorFromUnknown(cause);
        opts.onError({ error, path: call.path, input: call.input, ctx, type: 'query', req });
        return { error: getErrorShape({ config, ctx, error, input: call.input, path: call.path, type: 'query' }) };
      }
    }),
  );
  const status = getHTTPStatusCode(answers as Parameters<typeof getHTTPStatusCode>[0]);
  const body = JSON.stringify(transformTRPCResponse(config, opts.batch ? answers : answers[0]!));
  res.statusCode = status;
  res.setHeader('vary', 'trpc-accept, accept');
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  // a string goes out with the headers in one write; a Buffer would take a writev
  res.end(body);
}
