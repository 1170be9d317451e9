/**
 * The last known data of each signed-in member on this device, kept in localStorage so that a member who
 * opens the app while the coordinator cannot be reached sees their Home, market, trades and statement as
 * they last were, marked with when that was (like a banking app). One entry per member and screen
 * (`swapmesh.<name>.v1.<memberId>`, e.g. `swapmesh.home.v1.…`) and a pointer to whoever was signed in last;
 * signing out removes them all. Started for Home (app/page.tsx), now shared by every screen that shows it.
 */
'use client';

import { createContext, useContext, useEffect, useState } from 'react';

export type KnownMember = { id: string; handle: string };
export type LastKnown<T> = { member: KnownMember; data: T; savedAt: string };

const PREFIX = 'swapmesh.';
const VERSION = '.v1.';
/** who was signed in last on this device (the name is the one Home's first version used) */
const LAST = 'swapmesh.home.last';
const ME = 'me';

const keyOf = (name: string, memberId: string) => `${PREFIX}${name}${VERSION}${memberId}`;

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null;
  }
}

export function saveLastKnown<T>(name: string, member: KnownMember, data: T, savedAt = new Date()) {
  const store = storage();
  if (!store) return;
  try {
    const who = { id: member.id, handle: member.handle };
    store.setItem(keyOf(name, member.id), JSON.stringify({ member: who, data, savedAt: savedAt.toISOString() } satisfies LastKnown<T>));
    if (name !== ME) store.setItem(keyOf(ME, member.id), JSON.stringify({ member: who, data: who, savedAt: savedAt.toISOString() } satisfies LastKnown<KnownMember>));
    store.setItem(LAST, member.id);
  } catch {
    // full or refused: the app works without it
  }
}

/** The member's last known data under `name` (or, without an id, that of whoever was signed in last on this device). */
export function loadLastKnown<T>(name: string, memberId?: string): LastKnown<T> | null {
  const store = storage();
  if (!store) return null;
  const id = memberId ?? store.getItem(LAST);
  if (!id) return null;
  try {
    const raw = store.getItem(keyOf(name, id));
    if (!raw) return null;
    const parsed = JSON.parse(raw) as LastKnown<T>;
    return parsed?.member?.id === id && parsed.data !== undefined && typeof parsed.savedAt === 'string' ? parsed : null;
  } catch {
    return null;
  }
}

/** Whoever was signed in last on this device, as last known. */
export const lastKnownMember = (): KnownMember | null => loadLastKnown<KnownMember>(ME)?.data ?? null;

/** Forgets everything saved for the member on this device (at sign-out). */
export function forgetLastKnown(memberId: string) {
  const store = storage();
  if (!store) return;
  const suffix = `${VERSION}${memberId}`;
  for (let i = store.length - 1; i >= 0; i--) {
    const key = store.key(i);
    if (key?.startsWith(PREFIX) && key.endsWith(suffix)) store.removeItem(key);
  }
  if (store.getItem(LAST) === memberId) store.removeItem(LAST);
}

/** The member the screens below save for: the signed-in one, or offline the last known one (RequireMember provides it). */
export const LastKnownMemberContext = createContext<KnownMember | null>(null);

type QueryLike = { data: unknown; dataUpdatedAt: number; isFetching: boolean; isError: boolean; fetchStatus: string };

/**
 * A query's data, kept as the member's last known `name`: while the coordinator answers, what it says (and
 * it is saved); when it cannot be reached, what it said last, with `asOf` saying when. `asOf` is null while
 * the data is live.
 */
export function useLastKnown<Q extends QueryLike>(name: string, query: Q, { keep = true }: { keep?: boolean } = {}): { data: NonNullable<Q['data']> | undefined; asOf: string | null } {
  type T = NonNullable<Q['data']>;
  // keep: false for a query that is not worth keeping (a search): neither saved nor stood in for
  const signedIn = useContext(LastKnownMemberContext);
  const member = keep ? signedIn : null;
  const [saved, setSaved] = useState<LastKnown<T> | null>(null);
  // read after the first render: the server's HTML and the first client render must agree
  useEffect(() => setSaved(member ? loadLastKnown<T>(name, member.id) : null), [name, member?.id]); // eslint-disable-line react-hooks/exhaustive-deps
  const { dataUpdatedAt, isFetching, isError } = query;
  const data = (query.data ?? undefined) as T | undefined;
  useEffect(() => {
    if (member && data !== undefined && !isFetching && !isError) saveLastKnown(name, member, data, new Date(dataUpdatedAt));
  }, [name, member, data, dataUpdatedAt, isFetching, isError]);
  const unreachable = query.fetchStatus === 'paused' || isError;
  if (data !== undefined) return { data, asOf: unreachable ? new Date(dataUpdatedAt).toISOString() : null };
  if (unreachable && saved) return { data: saved.data, asOf: saved.savedAt };
  return { data: undefined, asOf: null };
}
