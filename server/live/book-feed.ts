import { bookKey, listenRemote, POLL_INTERVAL_MS, version, waitForAny } from './bus';
import { aborted, sharedFrame, type LiveSource, type SharedFrame } from './stream';

/**
 * One channel per watched book (and read variant) per process: a single loop reads the book's public state
 * after each change and sends it to every watcher, serialized once. A fill watched by a thousand
 * subscribers is read once and encoded once; each stream is handed the same bytes (./sse.ts).
 */
export type BookFrame = {
  /** Per process, increasing: the id of `market.bookEvents`'s tracked events. */
  serial: number;
  /** `{ seq, ...state }` */
  value: Record<string, unknown>;
  /** As `market.bookEvents` sends it: tracked, id = serial. */
  readonly tracked: SharedFrame;
  /** As `signal.stream` sends it: untracked, `{ feed: 'book', key, ...value }`. */
  readonly tagged: SharedFrame;
};

type Listener = (frame: BookFrame) => void;
type Channel = { listeners: Set<Listener>; latest: BookFrame | null; controller: AbortController };

// per client (tests hold several databases in one process), per book and variant
const channels = new WeakMap<object, Map<string, Channel>>();
let serials = 0;

/** After a failed read, the next try waits this long (or for the next change). */
const RETRY_MS = 1_000;

export type BookWatch<T> = {
  /** The client the read uses: channels are per client. */
  scope: object;
  /** The book's own community and the linked communities whose orders it shows. */
  communityIds: string[];
  category: string;
  /** Distinguishes reads of the same book with other parameters (community, unit, trade count). */
  variant: string;
  /** The key `signal.stream` tags this book's events with. */
  key: string;
  read: () => Promise<T>;
};

function frameOf(serial: number, value: Record<string, unknown>, key: string): BookFrame {
  let trackedFrame: SharedFrame | null = null;
  let taggedFrame: SharedFrame | null = null;
  return {
    serial,
    value,
    get tracked() {
      return (trackedFrame ??= sharedFrame(String(serial), value));
    },
    get tagged() {
      return (taggedFrame ??= sharedFrame(null, { feed: 'book', key, ...value }));
    },
  };
}

/**
 * The channel's loop: reads at once, then after every change of the book or of a linked book (changes
 * that arrive during a read cause one more read, not one each), and every POLL_INTERVAL_MS as a safety
 * net; a state equal to the last one sent is not sent again.
 */
async function run<T extends object>(channel: Channel, watch: BookWatch<T>): Promise<void> {
  listenRemote();
  const keys = watch.communityIds.map((id) => bookKey(id, watch.category));
  const { signal } = channel.controller;
  let last: string | null = null;
  while (!signal.aborted) {
    const seen = keys.map(version);
    let state: T;
    try {
      state = await watch.read();
    } catch (error) {
      console.error(`live: reading book ${keys.join(',')} failed; retrying`, error);
      await waitForAny(keys, seen, RETRY_MS, signal);
      continue;
    }
    if (signal.aborted) break;
    const body = JSON.stringify(state);
    if (body !== last) {
      last = body;
      const frame = frameOf(++serials, { seq: seen.reduce((a, b) => a + b, 0), ...state }, watch.key);
      channel.latest = frame;
      for (const listener of channel.listeners) {
        try {
          listener(frame);
        } catch (error) {
          console.error('live: a book watcher failed', error);
        }
      }
    }
    await waitForAny(keys, seen, POLL_INTERVAL_MS, signal);
  }
}

/**
 * Calls `listener` with the book's current state (at once when this process already watches it) and
 * then with each change; returns the function that stops watching. The last watcher to leave stops the
 * channel's loop.
 */
export function watchBook<T extends object>(watch: BookWatch<T>, listener: Listener): () => void {
  let books = channels.get(watch.scope);
  if (!books) channels.set(watch.scope, (books = new Map()));
  const name = `${watch.communityIds.join(',')}|${watch.category}|${watch.variant}`;
  let channel = books.get(name);
  if (!channel) {
    const created: Channel = { listeners: new Set(), latest: null, controller: new AbortController() };
    books.set(name, (channel = created));
    void run(created, watch);
  } else if (channel.latest) {
    listener(channel.latest);
  }
  const mine = channel;
  mine.listeners.add(listener);
  return () => {
    if (!mine.listeners.delete(listener) || mine.listeners.size > 0) return;
    mine.controller.abort();
    if (books.get(name) === mine) books.delete(name);
  };
}

/** How many book channels run for `scope` (tests). */
export const channelCount = (scope: object) => channels.get(scope)?.size ?? 0;

/** `market.bookEvents`'s source: the book's states as tracked events (id = the frame's serial). */
export function bookSource<T extends object>(watch: BookWatch<T>): LiveSource {
  return async (sink, signal) => {
    const stop = watchBook(watch, (frame) => sink.shared(frame.tracked));
    try {
      await aborted(signal);
    } finally {
      stop();
    }
  };
}
