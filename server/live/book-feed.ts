import { tracked } from '@trpc/server';
import { bookKey, listenRemote, POLL_INTERVAL_MS, version, waitForAny } from './bus';

/**
 * One read of a book's public state, shared by every subscriber of this process that watches the same
 * book at the same bus versions: a fill watched by a thousand subscribers is read once, not a thousand times.
 */
type Snapshot<T> = { stamp: string; at: number; serial: number; read: Promise<{ value: T; json: string }> };
type Slot<T> = { watchers: number; latest: Snapshot<T> | null };

// per client (tests hold several databases in one process), per book
const slots = new WeakMap<object, Map<string, Slot<unknown>>>();
let serials = 0;

/** A forced re-read (the safety-net poll) reuses only a read younger than this. */
const FRESH_MS = 1_000;

function snapshot<T>(slot: Slot<T>, stamp: string, forced: boolean, read: () => Promise<T>): Snapshot<T> {
  const latest = slot.latest;
  if (latest && latest.stamp === stamp && (!forced || Date.now() - latest.at < FRESH_MS)) return latest;
  const next: Snapshot<T> = {
    stamp,
    at: Date.now(),
    serial: ++serials,
    read: read().then((value) => ({ value, json: JSON.stringify(value) })),
  };
  next.read.catch(() => {
    if (slot.latest === next) slot.latest = null;
  });
  slot.latest = next;
  return next;
}

export type BookFeedOptions<T> = {
  /** The client the read uses: snapshots are shared per client. */
  scope: object;
  /** The book's own community and the linked communities whose orders it shows. */
  communityIds: string[];
  category: string;
  /** Distinguishes reads of the same book with other parameters (unit, trade count). */
  variant: string;
  read: () => Promise<T>;
  signal?: AbortSignal;
};

/**
 * The book's public state as tracked events: at once, then after every change of the book or of a linked
 * book (coalesced: changes that arrive during a read cause one more read, not one each), and every
 * POLL_INTERVAL_MS as a safety net. An event is sent only when the state differs from the last one sent.
 * Event ids are per process: a consumer that reconnects gets the current state first, whatever id it had.
 */
export async function* bookFeed<T extends object>({ scope, communityIds, category, variant, read, signal }: BookFeedOptions<T>) {
  listenRemote();
  const keys = communityIds.map((id) => bookKey(id, category));
  let books = slots.get(scope);
  if (!books) slots.set(scope, (books = new Map()));
  const slotKey = `${keys.join(',')}|${variant}`;
  let slot = books.get(slotKey) as Slot<T> | undefined;
  if (!slot) books.set(slotKey, (slot = { watchers: 0, latest: null }));
  slot.watchers++;
  try {
    let last: string | null = null;
    let forced = false;
    while (!signal?.aborted) {
      const seen = keys.map(version);
      const snap = snapshot(slot, seen.join('.'), forced, read);
      const { value, json } = await snap.read;
      if (signal?.aborted) break;
      if (json !== last) {
        last = json;
        yield tracked(String(snap.serial), { seq: seen.reduce((a, b) => a + b, 0), ...value });
      }
      await waitForAny(keys, seen, POLL_INTERVAL_MS, signal);
      forced = keys.every((key, i) => version(key) === seen[i]);
    }
  } finally {
    if (--slot.watchers === 0 && books.get(slotKey) === slot) books.delete(slotKey);
  }
}
