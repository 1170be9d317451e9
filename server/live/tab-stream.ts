/**
 * `signal.stream`'s source: the member's events, the books, the devices' signaling inboxes and their
 * presence, multiplexed into one stream (protocol: ./tab-protocol.ts). Each part waits on the bus like its
 * own subscription would; books come from the process's shared book channels (./book-feed.ts), so a book
 * change is serialized once for every stream and every `market.bookEvents` subscriber that watches it.
 */
import type { Queryable } from '../db/client';
import { watchBook, type BookWatch } from './book-feed';
import { listenRemote, POLL_INTERVAL_MS, version, waitForAny } from './bus';
import { memberEvents } from './events';
import { aborted, type LiveSink, type LiveSource } from './stream';
import { bookWantKey, formatCursor, parseCursor, type BookWant, type DeviceWant } from './tab-protocol';

/** The bus key of a device's signaling inbox (the one server/content/signaling.ts notifies). */
export const deviceKey = (deviceId: string) => `device:${deviceId}`;

const MAX_ROW_ID = 2_147_483_647;
const PAGE = 100;

export type DeviceSignal = { id: number; toDeviceId: string; fromDeviceId: string; fromHandle: string; message: unknown };

/** Signals addressed to any of the devices, after the row id `cursor`, oldest first, until `signal` aborts. */
export async function* deviceSignals(db: Queryable, deviceIds: string[], cursor: number, signal: AbortSignal | undefined): AsyncGenerator<DeviceSignal> {
  listenRemote();
  const keys = deviceIds.map(deviceKey);
  while (!signal?.aborted) {
    const seen = keys.map(version);
    const rows = await db.signalEvent.findMany({
      where: { toDeviceId: deviceIds.length === 1 ? deviceIds[0] : { in: deviceIds }, id: { gt: cursor } },
      orderBy: { id: 'asc' },
      take: PAGE,
    });
    if (rows.length > 0) {
      const ids = [...new Set(rows.map((r) => r.fromMemberId))];
      const handles = new Map((await db.member.findMany({ where: { id: { in: ids } }, select: { id: true, handle: true } })).map((m) => [m.id, m.handle]));
      for (const row of rows) {
        cursor = row.id;
        yield { id: row.id, toDeviceId: row.toDeviceId, fromDeviceId: row.fromDeviceId, fromHandle: handles.get(row.fromMemberId) ?? '', message: row.payload };
      }
    }
    if (rows.length < PAGE) await waitForAny(keys, seen, POLL_INTERVAL_MS, signal);
  }
}

/** A 32-bit row id from a client's lastEventId, or null (then the feed starts from now). */
export function rowCursor(lastEventId: string | null | undefined): number | null {
  return lastEventId && /^\d{1,10}$/.test(lastEventId) && Number(lastEventId) <= MAX_ROW_ID ? Number(lastEventId) : null;
}

/** The newest signal's id: a stream starting now reads after it. */
export async function latestSignalId(db: Queryable): Promise<number> {
  return (await db.signalEvent.findFirst({ orderBy: { id: 'desc' }, select: { id: true } }))?.id ?? 0;
}

export async function latestEventId(db: Queryable, memberId: string): Promise<number> {
  return (await db.liveEvent.findFirst({ where: { memberId }, orderBy: { id: 'desc' }, select: { id: true } }))?.id ?? 0;
}

export type Refusal = { key?: string; deviceId?: string; code: string; message: string };

/** What a checked `signal.stream` input watches, with the cursors to start from. */
export type TabPlan = {
  memberId: string;
  books: { want: BookWant; watch: BookWatch<object> }[];
  devices: DeviceWant[];
  refused: Refusal[];
  cursor: { events: number; signals: number };
};

export type TabChecks = {
  /** The book's watch (its reader and linked communities), or a refusal (not a member of its community). */
  book(want: BookWant): Promise<BookWatch<object> | Refusal>;
  /** Whether the device is the member's own, and the presence community one of theirs: null, or a refusal. */
  device(want: DeviceWant): Promise<Refusal | null>;
  /** The community's online devices whenever they change, keeping the device online there. */
  presence(deviceId: string, communityId: string, signal: AbortSignal): AsyncIterable<unknown>;
};

/** Checks every part of the input (a part the member may not watch is refused alone) and finds where to resume. */
export async function planTabStream(
  db: Queryable,
  memberId: string,
  input: { books: BookWant[]; devices: DeviceWant[]; lastEventId?: string | null },
  checks: Pick<TabChecks, 'book' | 'device'>,
): Promise<TabPlan> {
  const refused: Refusal[] = [];
  const books: TabPlan['books'] = [];
  const seenBooks = new Set<string>();
  for (const want of input.books) {
    const key = bookWantKey(want);
    if (seenBooks.has(key)) continue;
    seenBooks.add(key);
    const watch = await checks.book(want);
    if ('read' in watch) books.push({ want, watch });
    else refused.push({ ...watch, key });
  }
  const devices: DeviceWant[] = [];
  for (const want of input.devices) {
    if (devices.some((d) => d.deviceId === want.deviceId)) continue;
    const refusal = await checks.device(want);
    if (refusal) refused.push({ ...refusal, deviceId: want.deviceId });
    else devices.push(want);
  }
  const cursor = parseCursor(input.lastEventId) ?? { events: await latestEventId(db, memberId), signals: await latestSignalId(db) };
  return { memberId, books, devices, refused, cursor };
}

/** Runs every part of the plan into the sink until `signal` aborts; the first part to fail ends the stream. */
export function tabStreamSource(db: Queryable, plan: TabPlan, presence: TabChecks['presence']): LiveSource {
  return async (sink: LiveSink, signal: AbortSignal) => {
    const inner = new AbortController();
    const stop = () => inner.abort();
    signal.addEventListener('abort', stop, { once: true });
    const cursor = { ...plan.cursor };
    const stopBooks: (() => void)[] = [];
    const part = async (fn: () => Promise<void>) => {
      try {
        await fn();
      } catch (error) {
        if (!inner.signal.aborted) {
          inner.abort();
          throw error;
        }
      }
    };
    try {
      for (const refusal of plan.refused) sink.untracked({ feed: 'refused', ...refusal });
      for (const { watch } of plan.books) stopBooks.push(watchBook(watch, (frame) => sink.shared(frame.tagged)));
      const parts: Promise<void>[] = [
        part(async () => {
          for await (const [id, event] of memberEvents(db, plan.memberId, String(cursor.events), inner.signal)) {
            cursor.events = Number(id);
            sink.tracked(formatCursor(cursor), { feed: 'event', ...event });
          }
        }),
        part(() => aborted(inner.signal)),
      ];
      const ids = plan.devices.map((d) => d.deviceId);
      if (ids.length > 0) {
        parts.push(
          part(async () => {
            for await (const s of deviceSignals(db, ids, cursor.signals, inner.signal)) {
              cursor.signals = s.id;
              sink.tracked(formatCursor(cursor), { feed: 'signal', deviceId: s.toDeviceId, fromDeviceId: s.fromDeviceId, fromHandle: s.fromHandle, message: s.message });
            }
          }),
        );
      }
      for (const { deviceId, presenceCommunityId: communityId } of plan.devices) {
        if (!communityId) continue;
        parts.push(
          part(async () => {
            for await (const devices of presence(deviceId, communityId, inner.signal)) sink.untracked({ feed: 'presence', deviceId, communityId, devices });
          }),
        );
      }
      await Promise.all(parts);
    } finally {
      signal.removeEventListener('abort', stop);
      inner.abort();
      for (const stopBook of stopBooks) stopBook();
    }
  };
}
