/**
 * One live stream per browser (app/_lib/live-hub.ts): several hubs, as tabs of one browser, share a fake
 * Web Lock and BroadcastChannel; the leader opens one stream for every tab's wants, relays its events,
 * and when it closes another tab takes over from the last event id. Plus the pure parts of the protocol.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXPIRE_MS, HEARTBEAT_MS, LiveHub, RETRY_MS, type HubChannel, type HubMessage, type StreamHandlers } from '@/app/_lib/live-hub';
import { bookWantKey, formatCursor, parseCursor, sameFeeds, stateKey, unionWants, wantsEvent, type StreamEvent, type StreamInput, type Wants } from '@/server/live/tab-protocol';

type Stream = { input: StreamInput; handlers: StreamHandlers; closed: boolean };

/** The browser: one lock, one broadcast channel, the server's streams. */
function browser() {
  const members = new Set<(m: HubMessage) => void>();
  const waiting: (() => void)[] = [];
  let held = false;
  const streams: Stream[] = [];
  const grant = () => {
    if (held) return;
    const next = waiting.shift();
    if (next) {
      held = true;
      next();
    }
  };
  function tab(tabId: string) {
    let mine: ((m: HubMessage) => void) | null = null;
    const channel: HubChannel = {
      post: (message) => {
        const copy = structuredClone(message);
        for (const member of members) if (member !== mine) queueMicrotask(() => member(copy));
      },
      listen: (on) => {
        mine = on;
        members.add(on);
      },
      close: () => mine && members.delete(mine),
    };
    return new LiveHub({
      tabId,
      channel,
      lock: (lead) => {
        waiting.push(() => {
          void lead().then(() => {
            held = false;
            grant();
          });
        });
        grant();
      },
      open: (input, handlers) => {
        const stream: Stream = { input, handlers, closed: false };
        streams.push(stream);
        return () => (stream.closed = true);
      },
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
      now: () => Date.now(),
    });
  }
  const open = () => streams.filter((s) => !s.closed);
  return { tab, streams, open };
}

const book = (communityId: string, category: 'COMPUTE' | 'STORAGE' = 'COMPUTE') => ({ communityId, category, unit: 'CPU_SECOND', tradeLimit: 10 });
const bookEvent = (communityId: string, asks: number): StreamEvent => ({
  feed: 'book',
  key: bookWantKey(book(communityId)),
  seq: asks,
  communityId,
  category: 'COMPUTE',
  unit: 'CPU_SECOND',
  levels: { bids: [], asks: [{ price: 1, quantity: asks }] },
  trades: [],
});
const memberEvent = (n: number): StreamEvent => ({ feed: 'event', type: 'order', orderId: `o${n}`, status: 'OPEN', remaining: n, at: new Date(0).toISOString() });
const settle = () => vi.advanceTimersByTimeAsync(100);

describe('LiveHub: one stream for the tabs of a browser', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('four tabs: one leader, one stream with every tab’s book and device, events reach the tabs that want them', async () => {
    const b = browser();
    const tabs = ['a', 'b', 'c', 'd'].map((id) => b.tab(id));
    const seen = tabs.map(() => [] as StreamEvent[]);
    tabs.forEach((hub, i) => {
      hub.watchEvents((e) => seen[i]!.push(e));
      hub.watchBook(book(i < 2 ? 'c1' : 'c2'), (e) => seen[i]!.push(e));
      hub.watchSignals(`dev-${i}`, (e) => seen[i]!.push(e));
    });
    await settle();
    expect(tabs.filter((t) => t.isLeader)).toHaveLength(1);
    expect(tabs[0]!.isLeader).toBe(true);
    const [stream, ...others] = b.open();
    expect(others).toHaveLength(0);
    expect(stream!.input.books.map((x) => x.communityId)).toEqual(['c1', 'c2']);
    expect(stream!.input.devices.map((d) => d.deviceId)).toEqual(['dev-0', 'dev-1', 'dev-2', 'dev-3']);

    stream!.handlers.onEvent(bookEvent('c2', 3), null);
    stream!.handlers.onEvent(memberEvent(1), '7.0');
    stream!.handlers.onEvent({ feed: 'signal', deviceId: 'dev-1', fromDeviceId: 'x', fromHandle: 'x', message: { type: 'hello' } }, '7.1');
    await settle();
    expect(seen.map((list) => list.map((e) => e.feed))).toEqual([['event'], ['event', 'signal'], ['book', 'event'], ['book', 'event']]);
  });

  it('a tab that comes later gets the current book at once, without re-opening the stream', async () => {
    const b = browser();
    const leader = b.tab('a');
    leader.watchEvents(() => {});
    leader.watchBook(book('c1'), () => {});
    await settle();
    b.open()[0]!.handlers.onEvent(bookEvent('c1', 5), null);
    const late = b.tab('b');
    const got: StreamEvent[] = [];
    late.watchEvents(() => {});
    late.watchBook(book('c1'), (e) => got.push(e));
    await settle();
    expect(b.streams).toHaveLength(1);
    expect(got).toEqual([bookEvent('c1', 5)]);
  });

  it('when the leader closes, another tab leads and resumes from the last event id; a tab that leaves is dropped', async () => {
    const b = browser();
    const [a, c, d] = ['a', 'c', 'd'].map((id) => b.tab(id));
    const events: StreamEvent[] = [];
    a!.watchEvents(() => {});
    c!.watchEvents((e) => events.push(e));
    d!.watchEvents(() => {});
    const stopBook = d!.watchBook(book('c9'), () => {});
    await settle();
    b.open()[0]!.handlers.onEvent(memberEvent(1), '41.3');
    await settle();
    a!.close();
    await settle();
    expect(c!.isLeader).toBe(true);
    const [next] = b.open();
    expect(next!.input).toMatchObject({ lastEventId: '41.3', books: [book('c9')] });
    next!.handlers.onEvent(memberEvent(2), '42.3');
    await settle();
    expect(events.map((e) => (e.feed === 'event' && e.type === 'order' ? e.orderId : null))).toEqual(['o1', 'o2']);

    // a follower that stops watching a book: the stream is re-opened without it, from the last id
    stopBook();
    await settle();
    expect(b.open()).toHaveLength(1);
    expect(b.open()[0]!.input).toMatchObject({ books: [], lastEventId: '42.3' });

    // a follower that vanishes without a word is forgotten after EXPIRE_MS
    d!.watchBook(book('c8'), () => {});
    await settle();
    expect(b.open()[0]!.input.books).toHaveLength(1);
    (d as unknown as { closed: boolean }).closed = true; // silent: no bye, no heartbeat
    await vi.advanceTimersByTimeAsync(EXPIRE_MS + 2 * HEARTBEAT_MS);
    expect(b.open()[0]!.input.books).toHaveLength(0);
  });

  it('a failed stream is opened again after a pause, from the last id; nobody signed in: no stream', async () => {
    const b = browser();
    const hub = b.tab('a');
    const stop = hub.watchEvents(() => {});
    await settle();
    b.open()[0]!.handlers.onEvent(memberEvent(1), '5.5');
    b.open()[0]!.handlers.onError(new Error('gone'));
    await settle();
    expect(b.open()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(RETRY_MS);
    expect(b.open()).toHaveLength(1);
    expect(b.open()[0]!.input.lastEventId).toBe('5.5');
    stop();
    await settle();
    expect(b.open()).toHaveLength(0);
  });
});

describe('the stream protocol', () => {
  const wants = (w: Partial<Wants>): Wants => ({ events: true, books: [], devices: [], ...w });

  it('unionWants: deduplicated, stable, capped; presence in the first community by id; null when nobody is signed in', () => {
    const u = unionWants([
      wants({ books: [book('b'), book('a')], devices: [{ deviceId: 'd2', presenceCommunityId: 'z' }] }),
      wants({ books: [book('a')], devices: [{ deviceId: 'd2', presenceCommunityId: 'y' }, { deviceId: 'd1' }] }),
    ])!;
    expect(u.books.map((x) => x.communityId)).toEqual(['a', 'b']);
    expect(u.devices).toEqual([{ deviceId: 'd1' }, { deviceId: 'd2', presenceCommunityId: 'y' }]);
    expect(unionWants([wants({ books: Array.from({ length: 12 }, (_, i) => book(`c${i}`)) })])!.books).toHaveLength(8);
    expect(unionWants([{ events: false, books: [book('a')], devices: [] }])).toBeNull();
    expect(sameFeeds(u, { ...u, lastEventId: '1.1' })).toBe(true);
    expect(sameFeeds(u, { ...u, books: [] })).toBe(false);
  });

  it('wantsEvent and stateKey route events to the tabs that asked', () => {
    const w = wants({ books: [book('a')], devices: [{ deviceId: 'd', presenceCommunityId: 'a' }] });
    expect(wantsEvent(w, bookEvent('a', 1))).toBe(true);
    expect(wantsEvent(w, bookEvent('b', 1))).toBe(false);
    expect(wantsEvent(w, { feed: 'presence', deviceId: 'd', communityId: 'a', devices: [] })).toBe(true);
    expect(wantsEvent(w, { feed: 'presence', deviceId: 'd', communityId: 'b', devices: [] })).toBe(false);
    expect(wantsEvent(w, { feed: 'signal', deviceId: 'e', fromDeviceId: 'x', fromHandle: '', message: null })).toBe(false);
    expect(wantsEvent({ ...w, events: false }, memberEvent(1))).toBe(false);
    expect(stateKey(bookEvent('a', 1))).toBe(`book:${bookWantKey(book('a'))}`);
    expect(stateKey(memberEvent(1))).toBeNull();
  });

  it('cursors: <events>.<signals>, 32-bit row ids, anything else is "from now"', () => {
    expect(parseCursor(formatCursor({ events: 12, signals: 0 }))).toEqual({ events: 12, signals: 0 });
    for (const bad of [null, '', '12', '1.2.3', '-1.2', '2147483648.1', '1.9007199254740993', 'a.b']) expect(parseCursor(bad)).toBeNull();
  });
});
