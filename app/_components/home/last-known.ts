/**
 * The last known Home of each member on this device, kept in localStorage so that a signed-in member who opens
 * the app offline sees their inbox and balances as they last were, marked with when that was. One entry per
 * member (`swapmesh.home.v1.<memberId>`) and a pointer to whoever was signed in last; signing out removes both.
 */
import type { HomeInbox } from '@/server/home/inbox';

export type LastKnownHome = { member: { id: string; handle: string }; inbox: HomeInbox; savedAt: string };

const PREFIX = 'swapmesh.home.v1.';
const LAST = 'swapmesh.home.last';

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function saveLastKnown(member: { id: string; handle: string }, inbox: HomeInbox, savedAt = new Date()) {
  const store = storage();
  if (!store) return;
  try {
    store.setItem(PREFIX + member.id, JSON.stringify({ member: { id: member.id, handle: member.handle }, inbox, savedAt: savedAt.toISOString() } satisfies LastKnownHome));
    store.setItem(LAST, member.id);
  } catch {
    // full or refused: the app works without it
  }
}

/** The member's last known Home (or, without an id, that of whoever was signed in last on this device). */
export function loadLastKnown(memberId?: string): LastKnownHome | null {
  const store = storage();
  if (!store) return null;
  const id = memberId ?? store.getItem(LAST);
  if (!id) return null;
  try {
    const raw = store.getItem(PREFIX + id);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as LastKnownHome;
    return parsed?.member?.id === id && parsed.inbox && typeof parsed.savedAt === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

/** Forgets the member's saved Home on this device (at sign-out). */
export function forgetLastKnown(memberId: string) {
  const store = storage();
  if (!store) return;
  store.removeItem(PREFIX + memberId);
  if (store.getItem(LAST) === memberId) store.removeItem(LAST);
}
