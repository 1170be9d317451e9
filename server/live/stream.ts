/**
 * A live stream written once for many readers. A subscription procedure that streams live state returns
 * `liveStream(signal, source)`: `source` pushes events into a sink, either
 * - the API server's server-sent-event writer (server/http/live-fast-path.ts), which claims the source
 *   through the request's AbortSignal and writes an event shared by many streams (a book change) as the
 *   same bytes to each of them, serialized once; or
 * - an async iterator (tRPC's own SSE path under `next dev`, createCaller in tests), which yields the values
 *   as any tRPC subscription does: `tracked(id, value)` or the value.
 * Both carry tRPC's subscription wire format, so a client cannot tell them apart.
 */
import { tracked, type TrackedEnvelope } from '@trpc/server';

/** An event whose serialized bytes are shared by every stream that sends it (see ./sse.ts `sharedBytes`). */
export type SharedFrame = {
  /** A tracked event's id, or null for an untracked one. */
  readonly id: string | null;
  readonly value: unknown;
  /** JSON.stringify(value), made once. */
  readonly json: string;
  /** Encoded forms, made on first use (./sse.ts). */
  bytes: { tracked?: Buffer; plain?: Buffer; clearing?: Buffer };
};

export function sharedFrame(id: string | null, value: unknown): SharedFrame {
  return { id, value, json: JSON.stringify(value), bytes: {} };
}

export interface LiveSink {
  /** An event of this stream only, with an id the client sends back to resume after it. */
  tracked(id: string, value: unknown): void;
  /** An event of this stream only, without an id. */
  untracked(value: unknown): void;
  /** An event many streams send alike. */
  shared(frame: SharedFrame): void;
}

/** Pushes events into the sink until `signal` aborts (then resolves), or rejects when the stream fails. */
export type LiveSource = (sink: LiveSink, signal: AbortSignal) => Promise<void>;

const claims = new WeakMap<AbortSignal, LiveSource>();

/**
 * The subscription's result: an async iterable of its events for tRPC, and a claim on `signal` (the
 * request's) that lets the API server run `source` against the response itself instead.
 */
export function liveStream<T>(signal: AbortSignal | undefined, source: LiveSource): AsyncIterable<T> {
  if (signal) claims.set(signal, source);
  return iterate(source, signal) as AsyncIterable<T>;
}

/** The source a procedure called with `signal` registered (once). */
export function takeLiveSource(signal: AbortSignal): LiveSource | undefined {
  const source = claims.get(signal);
  claims.delete(signal);
  return source;
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

async function* iterate(source: LiveSource, outer: AbortSignal | undefined): AsyncGenerator<unknown> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  outer?.addEventListener('abort', stop, { once: true });
  if (outer?.aborted) stop();
  const queue: unknown[] = [];
  let wake: (() => void) | null = null;
  const push = (item: unknown) => {
    queue.push(item);
    wake?.();
  };
  let finished = false;
  let failure: { error: unknown } | null = null;
  void source(
    {
      tracked: (id, value) => push(tracked(id, value)),
      untracked: (value) => push(value),
      shared: (frame) => push(frame.id === null ? frame.value : tracked(frame.id, frame.value)),
    },
    controller.signal,
  ).then(
    () => ((finished = true), wake?.()),
    (error: unknown) => ((failure = { error }), (finished = true), wake?.()),
  );
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift() as TrackedEnvelope<unknown> | unknown;
      if (failure) throw (failure as { error: unknown }).error;
      if (finished || controller.signal.aborted) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
        controller.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      wake = null;
    }
  } finally {
    outer?.removeEventListener('abort', stop);
    stop();
  }
}
