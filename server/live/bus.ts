/**
 * Wakes subscribers when something they watch may have changed: a member's live events (the key is the
 * member id), a device's signals (`device:<id>`), or a public book (`book:<communityId>:<category>`).
 * Events themselves live in the database (LiveEvent) and books are read from it, so this only shortens
 * the wait. Other coordinator processes (PostgreSQL deployments) are reached through LISTEN/NOTIFY
 * (./remote.ts installs itself as the `remote` below); a subscriber also re-reads every POLL_INTERVAL_MS
 * as a safety net for a notification lost while the listening connection was down.
 */
type Waiter = () => void;

/** Carries keys to the other processes; installed by ./remote.ts (PostgreSQL only). */
export type Remote = { send(keys: string[]): void; listen(): void };

type Shared = {
  versions: Map<string, number>;
  waiters: Map<string, Set<Waiter>>;
  remote?: Remote;
};

// Kept on globalThis: Next.js may load the server code more than once in one thread (`next dev`: instrumentation
// runs the sweepers, a route serves subscriptions), and a change posted by one copy must wake another's waiters.
const shared = globalThis as unknown as { swapmeshLiveBus?: Shared };
const bus: Shared = (shared.swapmeshLiveBus ??= { versions: new Map(), waiters: new Map() });
const { versions, waiters } = bus;

/** The safety-net re-read of every subscription (SWAPMESH_LIVE_POLL_MS overrides it, e.g. in tests). */
export const POLL_INTERVAL_MS = Number(process.env.SWAPMESH_LIVE_POLL_MS) > 0 ? Number(process.env.SWAPMESH_LIVE_POLL_MS) : 30_000;

/** The bus key of one public book: its changes wake every watcher of it. */
export const bookKey = (communityId: string, category: string) => `book:${communityId}:${category}`;

/** A number that changes whenever `notify` is called for the key. */
export const version = (key: string) => versions.get(key) ?? 0;

/** The per-process sequence number of a book's changes. */
export const bookSeq = (communityId: string, category: string) => version(bookKey(communityId, category));

export function installRemote(remote: Remote): void {
  bus.remote = remote;
}

/** Makes sure this process hears other processes' changes (no-op without a remote, i.e. on SQLite). */
export function listenRemote(): void {
  bus.remote?.listen();
}

function wake(keys: Iterable<string>): void {
  for (const id of new Set(keys)) {
    versions.set(id, version(id) + 1);
    const set = waiters.get(id);
    if (!set) continue;
    waiters.delete(id);
    for (const done of set) done();
  }
}

/** Wakes the keys' waiters in this process and tells the other processes (after a commit). */
export function notify(keys: Iterable<string>): void {
  const list = [...new Set(keys)];
  if (list.length === 0) return;
  wake(list);
  bus.remote?.send(list);
}

/** Wakes the keys' waiters in this process only (what another process told us). */
export function notifyLocal(keys: Iterable<string>): void {
  wake(keys);
}

/** Wakes every waiter of this process: after the listening connection was (re)established, a notification may have been missed. */
export function wakeAll(): void {
  wake([...waiters.keys()]);
}

/** Publishes a change of a public book to its watchers: `{ communityId, category, seq }`. */
export function publishBook(communityId: string, category: string): { communityId: string; category: string; seq: number } {
  notify([bookKey(communityId, category)]);
  return { communityId, category, seq: bookSeq(communityId, category) };
}

/**
 * Resolves when the version of any of `keys` moves past the matching `seen`, after `timeoutMs`, or when
 * `signal` aborts, whichever comes first.
 */
export function waitForAny(keys: string[], seen: number[], timeoutMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || keys.some((key, i) => version(key) !== seen[i])) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      for (const key of keys) {
        const set = waiters.get(key);
        if (set?.delete(done) && set.size === 0) waiters.delete(key);
      }
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    signal?.addEventListener('abort', done, { once: true });
    for (const key of keys) {
      let set = waiters.get(key);
      if (!set) waiters.set(key, (set = new Set<Waiter>()));
      set.add(done);
    }
  });
}

/**
 * Resolves when the key's version moves past `seen`, after `timeoutMs`, or when `signal` aborts,
 * whichever comes first.
 */
export function waitForChange(key: string, seen: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return waitForAny([key], [seen], timeoutMs, signal);
}
