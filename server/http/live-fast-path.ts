/**
 * The API server's way for live streams (GET of one subscription, answered as server-sent events): the
 * procedure is called with tRPC's own pieces (its middlewares check the session, the input and the right
 * to watch), and when it returns a live stream (server/live/stream.ts) the stream's events are written to
 * the response here, without tRPC's per-stream generator, web streams and encoding. An event that many
 * streams send alike (a book change) is serialized once and the same bytes go to every stream. The wire
 * format is tRPC's (server/live/sse.ts), so `httpSubscriptionLink` and any SSE client read it unchanged;
 * tests/integration/live-stream.integration.test.ts compares it with tRPC's own answer.
 *
 * A stream that falls too far behind (a client that stopped reading) is closed; its EventSource reconnects
 * and resumes from its last id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  getErrorShape,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  isTrackedEnvelope,
  type AnyRouter as AnyTRPCRouter,
  type TRPCError,
} from '@trpc/server/unstable-core-do-not-import';
import { CONNECTED, errorEvent, plainEvent, clearingEvent, restoreId, RETURN, sharedBytes, SSE_HEADERS, trackedEvent, usableLastEventId } from '../live/sse';
import { takeLiveSource, type LiveSink, type SharedFrame } from '../live/stream';
import { toClientError } from '../trpc';

/** The subscriptions answered here; any other goes the full way. */
export const LIVE_PATHS = new Set(['market.bookEvents', 'signal.stream']);

/** Bytes a stream may have waiting in its socket before it is considered gone. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

type Procedure = { (opts: unknown): Promise<unknown>; _def: { type: string } };
type OnError = (opts: { error: TRPCError; path?: string; input: unknown; ctx: unknown; type: 'subscription'; req: IncomingMessage }) => void;

/** The call of a GET this path answers, or null for the full path (tRPC then answers and words every unusual case). */
export async function liveCall(router: AnyTRPCRouter, req: IncomingMessage, url: URL, rawPath: string): Promise<{ path: string; procedure: Procedure; input: unknown } | null> {
  if (req.method !== 'GET') return null;
  const params = url.searchParams;
  if (params.get('batch') === '1' || params.has('connectionParams')) return null;
  let path: string;
  let input: unknown;
  try {
    path = decodeURIComponent(rawPath);
    const raw = params.get('input');
    input = raw ? JSON.parse(raw) : undefined;
  } catch {
    return null;
  }
  if (!LIVE_PATHS.has(path)) return null;
  const procedure = (await getProcedureAtPath(router, path)) as Procedure | null;
  if (!procedure || procedure._def.type !== 'subscription') return null;
  // what tRPC does: the id an EventSource sends when it reconnects joins the input
  const lastEventId = req.headers['last-event-id'] ?? params.get('lastEventId') ?? params.get('Last-Event-Id');
  if (typeof lastEventId === 'string' && lastEventId) {
    if (input !== null && typeof input === 'object' && !Array.isArray(input)) input = { ...input, lastEventId };
    else input ??= { lastEventId };
  }
  return { path, procedure, input };
}

/** Writes one stream's events as tRPC's SSE; shared frames are written as the bytes every stream shares. */
export class SseSink implements LiveSink {
  private lastId: string | null;
  private restore: Buffer | null = null;

  constructor(private readonly res: ServerResponse, lastEventId: string | null) {
    this.lastId = lastEventId;
  }

  private write(...chunks: (Buffer | string)[]): void {
    const res = this.res;
    if (res.destroyed) return;
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      res.destroy();
      return;
    }
    if (chunks.length === 1) {
      res.write(chunks[0]);
      return;
    }
    res.cork();
    for (const chunk of chunks) res.write(chunk);
    res.uncork();
  }

  private restoreFrame(): Buffer {
    return (this.restore ??= Buffer.from(restoreId(this.lastId!)));
  }

  tracked(id: string, value: unknown): void {
    this.setId(id);
    this.write(trackedEvent(id, JSON.stringify(value)));
  }

  untracked(value: unknown): void {
    const json = JSON.stringify(value);
    if (this.lastId === null) this.write(plainEvent(json));
    else this.write(clearingEvent(json), this.restoreFrame());
  }

  shared(frame: SharedFrame): void {
    if (frame.id !== null) {
      this.setId(frame.id);
      this.write(sharedBytes(frame, null));
    } else if (this.lastId === null) {
      this.write(sharedBytes(frame, null));
    } else {
      this.write(sharedBytes(frame, this.lastId), this.restoreFrame());
    }
  }

  private setId(id: string) {
    if (id !== this.lastId) this.restore = null;
    this.lastId = id;
  }
}

/** Runs the call and streams its events to `res` until the client leaves or the stream ends. */
export async function answerLive(opts: {
  router: AnyTRPCRouter;
  req: IncomingMessage;
  res: ServerResponse;
  call: { path: string; procedure: Procedure; input: unknown };
  createContext: () => Promise<unknown>;
  onError: OnError;
}): Promise<void> {
  const { router, req, res, call } = opts;
  const config = router._def._config;
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  let ctx: unknown;
  const fail = (cause: unknown) => {
    const error = getTRPCErrorFromUnknown(cause);
    opts.onError({ error, path: call.path, input: call.input, ctx, type: 'subscription', req });
    const shape = getErrorShape({ config, ctx, error, input: call.input, path: call.path, type: 'subscription' });
    return errorEvent(JSON.stringify(config.transformer.output.serialize(shape)));
  };
  const open = () => {
    if (res.headersSent) return;
    res.statusCode = 200;
    res.setHeader('vary', 'trpc-accept, accept');
    for (const [name, value] of Object.entries(SSE_HEADERS)) res.setHeader(name, value);
    res.flushHeaders();
    res.write(CONNECTED);
  };
  let data: unknown;
  try {
    ctx = await opts.createContext();
    data = await call.procedure({ path: call.path, getRawInput: async () => call.input, ctx, type: 'subscription', signal: controller.signal, batchIndex: 0 });
  } catch (cause) {
    open();
    res.end(fail(cause));
    return;
  }
  const lastEventId = usableLastEventId((call.input as { lastEventId?: string } | undefined)?.lastEventId);
  const sink = new SseSink(res, lastEventId);
  const source = takeLiveSource(controller.signal);
  open();
  try {
    if (source) {
      await source(sink, controller.signal);
    } else {
      // a subscription that returned some other async iterable: its values encoded one by one
      for await (const value of data as AsyncIterable<unknown>) {
        if (controller.signal.aborted) break;
        if (isTrackedEnvelope(value)) sink.tracked(String(value[0]), value[1]);
        else sink.untracked(value);
      }
    }
    if (!controller.signal.aborted) res.end(RETURN);
  } catch (cause) {
    if (controller.signal.aborted) return;
    res.end(fail(toClientError(cause)));
  } finally {
    if (source === undefined && data && typeof (data as AsyncGenerator).return === 'function') void (data as AsyncGenerator).return(undefined);
    if (!res.writableEnded) res.end();
  }
}
