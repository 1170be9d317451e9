/**
 * `signal.stream`: every live feed of a browser in one server-sent-event stream — the member's events, the
 * books on screen, each device's signaling inbox and presence. Shared by the server (server/live/tab-stream.ts)
 * and the browser (app/_lib/live-hub.ts, where one leader tab holds the stream for all tabs): plain data and
 * pure functions only.
 *
 * Resuming: every tracked event's id is `<member event cursor>.<signal cursor>` (both row ids); a stream
 * opened with that id as `lastEventId` sends what came after both. Book and presence events are untracked:
 * a (re)opened stream sends their current state first.
 */
import type { Category } from '../valuation/categories';
import type { LiveEvent } from './events';

export const MAX_STREAM_BOOKS = 8;
export const MAX_STREAM_DEVICES = 8;

export type BookWant = { communityId: string; category: Category; unit?: string; tradeLimit: number };
/** `presenceCommunityId`: a community the device is kept online in, or "paired" for its paired devices only. */
export type DeviceWant = { deviceId: string; presenceCommunityId?: string };
export type StreamInput = { books: BookWant[]; devices: DeviceWant[]; lastEventId?: string | null };

/** What one tab wants to hear. `events`: the member's own events (it is signed in). */
export type Wants = { events: boolean; books: BookWant[]; devices: DeviceWant[] };
export const NO_WANTS: Wants = { events: false, books: [], devices: [] };

export type Level = { price: number; quantity: number };
export type StreamEvent =
  /** one of the member's live events (server/live/events.ts LiveEvent), tracked */
  | ({ feed: 'event'; at: string } & LiveEvent)
  /** a signaling message to one of the devices, tracked */
  | { feed: 'signal'; deviceId: string; fromDeviceId: string; fromHandle: string; message: unknown }
  /** a book's public state (market.bookEvents's event), untracked */
  | { feed: 'book'; key: string; seq: number; communityId: string; category: string; unit: string | null; levels: { bids: Level[]; asks: Level[] }; trades: unknown[] }
  /** the community's online devices (and the device's paired devices, `paired`), for a device kept online there, untracked */
  | { feed: 'presence'; deviceId: string; communityId: string; devices: { deviceId: string; name: string; handle: string; nearby: boolean; paired?: boolean }[] }
  /** a book or device of the input that this member may not watch (the rest of the stream goes on) */
  | { feed: 'refused'; key?: string; deviceId?: string; code: string; message: string };

/** The key a book's events carry: its community, category, unit and trade count. */
export const bookWantKey = (book: BookWant) => `${book.communityId}:${book.category}:${book.unit ?? ''}:${book.tradeLimit}`;

const MAX_ROW_ID = 2_147_483_647;

/** `<events>.<signals>`: the cursors of a tracked event. */
export const formatCursor = (cursor: { events: number; signals: number }) => `${cursor.events}.${cursor.signals}`;

/** The cursors of a `lastEventId`, or null (anything else resumes from now). */
export function parseCursor(id: string | null | undefined): { events: number; signals: number } | null {
  const match = id ? /^(\d{1,10})\.(\d{1,10})$/.exec(id) : null;
  if (!match) return null;
  const [events, signals] = [Number(match[1]), Number(match[2])];
  return events <= MAX_ROW_ID && signals <= MAX_ROW_ID ? { events, signals } : null;
}

/**
 * One stream's input for every tab's wants: books and devices deduplicated and in a stable order (the
 * same wants give the same input, so a tab coming or going re-opens the stream only when they change),
 * at most MAX_STREAM_BOOKS books and MAX_STREAM_DEVICES devices; a device kept online in two communities
 * by two tabs is kept online in the first by id. Null when no tab is signed in.
 */
export function unionWants(all: Iterable<Wants>): StreamInput | null {
  let events = false;
  const books = new Map<string, BookWant>();
  const devices = new Map<string, DeviceWant>();
  for (const wants of all) {
    if (!wants.events) continue;
    events = true;
    for (const book of wants.books) books.set(bookWantKey(book), book);
    for (const device of wants.devices) {
      const known = devices.get(device.deviceId);
      const presence = [known?.presenceCommunityId, device.presenceCommunityId].filter((c): c is string => !!c).sort()[0];
      devices.set(device.deviceId, presence ? { deviceId: device.deviceId, presenceCommunityId: presence } : { deviceId: device.deviceId });
    }
  }
  if (!events) return null;
  const byKey = [...books.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, book]) => book);
  const byId = [...devices.values()].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  return { books: byKey.slice(0, MAX_STREAM_BOOKS), devices: byId.slice(0, MAX_STREAM_DEVICES) };
}

/** Whether two inputs ask for the same feeds (the resume id aside). */
export function sameFeeds(a: StreamInput | null, b: StreamInput | null): boolean {
  if (a === null || b === null) return a === b;
  return JSON.stringify([a.books, a.devices]) === JSON.stringify([b.books, b.devices]);
}

/** Whether a tab with these wants is interested in the event. */
export function wantsEvent(wants: Wants, event: StreamEvent): boolean {
  if (!wants.events) return false;
  switch (event.feed) {
    case 'event':
      return true;
    case 'book':
      return wants.books.some((book) => bookWantKey(book) === event.key);
    case 'signal':
      return wants.devices.some((device) => device.deviceId === event.deviceId);
    case 'presence':
      return wants.devices.some((device) => device.deviceId === event.deviceId && device.presenceCommunityId === event.communityId);
    case 'refused':
      return event.key !== undefined ? wants.books.some((book) => bookWantKey(book) === event.key) : wants.devices.some((d) => d.deviceId === event.deviceId);
  }
}

/** The key under which the latest state of an untracked feed is kept (to replay to a tab that comes later). */
export function stateKey(event: StreamEvent): string | null {
  if (event.feed === 'book') return `book:${event.key}`;
  if (event.feed === 'presence') return `presence:${event.deviceId}:${event.communityId}`;
  return null;
}
