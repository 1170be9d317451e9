/**
 * The API server's short way for the commonest requests: GET of one query or a batch of queries, and POST
 * of one mutation or a batch of mutations with a JSON body, answered as plain JSON. It does what tRPC's
 * `resolveResponse` does for such a request (read in @trpc/server 11.22 dist/resolveResponse: the json
 * content-type handler, the non-streaming answer, the status of getHTTPStatusCode) with tRPC's own pieces
 * — the procedure, getErrorShape, the error formatter, transformTRPCResponse — but without building a
 * fetch Request and Response, abort-signal unions and web streams around it, which cost more than the
 * cheapest procedure itself.
 *
 * Anything else — subscriptions, unknown procedures, a query by POST or a mutation by GET, a GET with a
 * body, other content types, JSON lines, input that does not parse — is left to the full path (`null`, or
 * for a POST whose body does not parse, the body handed back), so tRPC itself answers and words every
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

type Procedure = { (opts: unknown): Promise<unknown>; _def: { type: string } };
type Call = { path: string; procedure: Procedure; input: unknown };
export type FastCalls = { type: 'query' | 'mutation'; batch: boolean; calls: Call[] };

const isObject = (value: unknown): value is Record<string, unknown> => !!value && !Array.isArray(value) && typeof value === 'object';
const isPromiseLike = (value: unknown) => isObject(value) && typeof value.then === 'function';
const isAsyncIterable = (value: unknown) => isObject(value) && Symbol.asyncIterator in value;
/** tRPC's isDataStream: such data needs a streaming link, and a plain JSON answer refuses it. */
const isDataStream = (value: unknown) =>
  isObject(value) && (isAsyncIterable(value) || Object.values(value).some((v) => isPromiseLike(v) || isAsyncIterable(v)));

/** The procedures of `rawPath` if every one is of `type`, else null. */
async function proceduresOf(router: AnyTRPCRouter, rawPath: string, batch: boolean, type: 'query' | 'mutation') {
  let paths: string[];
  try {
    paths = batch ? decodeURIComponent(rawPath).split(',') : [decodeURIComponent(rawPath)];
  } catch {
    return null;
  }
  const found: { path: string; procedure: Procedure }[] = [];
  for (const path of paths) {
    const procedure = (await getProcedureAtPath(router, path)) as Procedure | null;
    if (!procedure || procedure._def.type !== type) return null;
    found.push({ path, procedure });
  }
  return found;
}

/** Whether the request asks for what only the full path gives (JSON lines, connection params, another content type). */
function wantsFullPath(req: IncomingMessage, url: URL): boolean {
  const contentType = req.headers['content-type'];
  if (contentType !== undefined && !contentType.startsWith('application/json')) return true;
  if (req.headers['trpc-accept'] !== undefined || req.headers.accept?.includes('application/jsonl')) return true;
  return url.searchParams.has('connectionParams');
}

/** The inputs of a batch (an object keyed by call index) or of one call, spread over the procedures. */
function callsWith(found: { path: string; procedure: Procedure }[], batch: boolean, inputs: unknown): Call[] | null {
  if (batch && inputs !== undefined && !isObject(inputs)) return null;
  return found.map(({ path, procedure }, index) => ({ path, procedure, input: batch ? (inputs as Record<number, unknown> | undefined)?.[index] : inputs }));
}

/** The calls of a GET that the short way can answer, or null for the full path. */
export async function queryCalls(router: AnyTRPCRouter, req: IncomingMessage, url: URL, rawPath: string): Promise<Call[] | null> {
  if (req.method !== 'GET' || wantsFullPath(req, url)) return null;
  const batch = url.searchParams.get('batch') === '1';
  const found = await proceduresOf(router, rawPath, batch, 'query');
  if (!found) return null;
  let inputs: unknown;
  try {
    const input = url.searchParams.get('input');
    inputs = input ? JSON.parse(input) : undefined;
  } catch {
    return null;
  }
  return callsWith(found, batch, inputs);
}

/** Reads a request's body as text. */
function bodyOf(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The calls of a POST of mutations that the short way can answer; `{ body }` when it read the body and
 * the full path must answer (the body did not parse, or does not fit the calls); null when it read nothing.
 */
export async function mutationCalls(router: AnyTRPCRouter, req: IncomingMessage, url: URL, rawPath: string): Promise<Call[] | { body: string } | null> {
  if (req.method !== 'POST' || req.headers['content-type'] === undefined || wantsFullPath(req, url)) return null;
  const batch = url.searchParams.get('batch') === '1';
  const found = await proceduresOf(router, rawPath, batch, 'mutation');
  if (!found) return null;
  const body = await bodyOf(req);
  let inputs: unknown;
  try {
    inputs = JSON.parse(body);
  } catch {
    return { body };
  }
  return callsWith(found, batch, inputs) ?? { body };
}

type OnError = (opts: { error: TRPCError; path?: string; input: unknown; ctx: unknown; type: 'query' | 'mutation'; req: IncomingMessage }) => void;

/** Runs the calls with the context (all at once, as tRPC does) and writes tRPC's JSON answer: one object, or an array for a batch. */
export async function answerCalls(opts: {
  router: AnyTRPCRouter;
  type: 'query' | 'mutation';
  req: IncomingMessage;
  res: ServerResponse;
  batch: boolean;
  calls: Call[];
  createContext: () => Promise<unknown>;
  onError: OnError;
}): Promise<void> {
  const { router, req, res, calls, type } = opts;
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
          type,
          // no query or mutation reads it (only subscriptions do), and an AbortController per request costs
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
        opts.onError({ error, path: call.path, input: call.input, ctx, type, req });
        return { error: getErrorShape({ config, ctx, error, input: call.input, path: call.path, type }) };
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
