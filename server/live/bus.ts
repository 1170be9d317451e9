/**
 * Wakes subscribers when new live events may be waiting for a member. Events themselves live in the
 * database (LiveEvent), so this only shortens the wait: a subscriber also polls, which is how events
 * written by another coordinator process (PostgreSQL deployments) reach it.
 */
type Waiter = () => void;

// Kept on globalThis: under `npm start` the server code is loaded twice in one process (Next's bundle runs
// the sweepers, the API bundle serves subscriptions), and a change posted by one must wake the other's waiters.
const shared = globalThis as unknown as { swapmeshLiveBus?: { versions: Map<string, number>; waiters: Map<string, Set<Waiter>> } };
const { versions, waiters } = (shared.swapmeshLiveBus ??= { versions: new Map(), waiters: new Map() });

export const POLL_INTERVAL_MS = 2_000;

/** A number that changes whenever `notify` is called for the member. */
export const version = (memberId: string) => versions.get(memberId) ?? 0;

export function notify(memberIds: Iterable<string>): void {
  for (const id of new Set(memberIds)) {
    versions.set(id, version(id) + 1);
    const set = waiters.get(id);
    if (!set) continue;
    waiters.delete(id);
    for (const wake of set) wake();
  }
}

/**
 * Resolves when the member's version moves past `seen`, after `timeoutMs`, or when `signal` aborts,
 * whichever comes first.
 */
export function waitForChange(memberId: string, seen: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  if (version(memberId) !== seen || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      waiters.get(memberId)?.delete(done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    signal?.addEventListener('abort', done, { once: true });
    let set = waiters.get(memberId);
    if (!set) waiters.set(memberId, (set = new Set()));
    set.add(done);
  });
}
