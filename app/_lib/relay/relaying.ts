/**
 * The relays this device carries, kept for the page's lifetime (not the relay screen's): the seller can move
 * around the app while their device forwards, and an indicator on every screen says for whom
 * (app/_components/relay-indicator.tsx). Read through `relaying.subscribe` / `getSnapshot` (useSyncExternalStore).
 */
import type { RelaySessionView } from '@/server/relay/sessions';
import { RelayForwarder, type RelaySnapshot } from './session';

export type Relaying = { sessionId: string; contractId: string; sender: string; receiver: string; snap: RelaySnapshot | null; problem: string | null };

const forwarders = new Map<string, RelayForwarder>();
let snapshot: Relaying[] = [];
const listeners = new Set<() => void>();

function put(sessionId: string, patch: Partial<Relaying>) {
  snapshot = snapshot.map((r) => (r.sessionId === sessionId ? { ...r, ...patch } : r));
  for (const listener of listeners) listener();
}

/** Starts (or carries on, with a fresher view) relaying a live session from this device. */
export function startRelaying(view: RelaySessionView, deviceId: string) {
  const known = forwarders.get(view.id);
  if (known) return known.update(view);
  const forwarder = new RelayForwarder(view, deviceId, (snap) => put(view.id, { snap }));
  forwarders.set(view.id, forwarder);
  snapshot = [...snapshot, { sessionId: view.id, contractId: view.contractId, sender: view.sender.handle, receiver: view.receiver.handle, snap: null, problem: null }];
  for (const listener of listeners) listener();
  forwarder.start().catch((error: unknown) => put(view.id, { problem: error instanceof Error ? error.message : String(error) }));
}

/** Stops relaying a session here (it ended, by whoever). */
export function stopRelaying(match: { sessionId?: string; contractId?: string }) {
  for (const r of snapshot) {
    if (r.sessionId !== match.sessionId && r.contractId !== match.contractId) continue;
    forwarders.get(r.sessionId)?.close();
    forwarders.delete(r.sessionId);
  }
  const before = snapshot.length;
  snapshot = snapshot.filter((r) => forwarders.has(r.sessionId));
  if (snapshot.length !== before) for (const listener of listeners) listener();
}

const EMPTY: Relaying[] = [];
export const relaying = {
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  getSnapshot: () => snapshot,
  getServerSnapshot: () => EMPTY,
};
