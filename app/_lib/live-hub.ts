/**
 * One live stream per browser. Every tab says what it wants to hear (its member's events, the book on
 * screen, its device's inbox and presence: `Wants`); one tab, the leader, holds a single `signal.stream`
 * subscription for the union of every tab's wants and relays each event to the others over a
 * BroadcastChannel. The leader is whoever holds a Web Lock (`navigator.locks`): when its tab closes the
 * lock passes to another tab, which asks every tab for its wants and opens the stream again from the last
 * event id any tab saw, so nothing tracked is lost. Without Web Locks or BroadcastChannel each tab leads
 * alone. Over HTTP/1.1 a browser keeps at most 6 connections per host: one stream for all tabs leaves the
 * others for the app's requests.
 *
 * No React and no browser globals here: `LiveHub` takes its lock, channel, stream and clock as arguments,
 * so tests/unit/live-hub.test.ts runs several hubs against each other. app/_lib/live.tsx makes the page's.
 */
import {
  NO_WANTS,
  bookWantKey,
  sameFeeds,
  stateKey,
  unionWants,
  wantsEvent,
  type BookWant,
  type StreamEvent,
  type StreamInput,
  type Wants,
} from '@/server/live/tab-protocol';

export type { BookWant, StreamEvent, Wants };

/** Messages between the tabs of one browser. */
export type HubMessage =
  | { type: 'leader'; tabId: string }
  | { type: 'wants'; tabId: string; wants: Wants; lastEventId: string | null }
  | { type: 'bye'; tabId: string }
  | { type: 'event'; event: StreamEvent; id: string | null }
  | { type: 'replay'; to: string; events: StreamEvent[] };

export interface HubChannel {
  post(message: HubMessage): void;
  listen(onMessage: (message: HubMessage) => void): void;
  close(): void;
}

export type StreamHandlers = { onEvent(event: StreamEvent, id: string | null): void; onError(error: unknown): void };

export type HubDeps = {
  tabId: string;
  /** Broadcast to the other tabs (null: this tab is alone). */
  channel: HubChannel | null;
  /** Calls `lead` once this tab holds the leader lock; the lock is held until `lead`'s promise resolves (null: lead at once). */
  lock: ((lead: () => Promise<void>) => void) | null;
  /** Opens the stream; returns its close. */
  open(input: StreamInput, handlers: StreamHandlers): () => void;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
  now(): number;
};

/** A follower repeats its wants this often; the leader forgets a tab silent for EXPIRE_MS. */
export const HEARTBEAT_MS = 5_000;
export const EXPIRE_MS = 16_000;
/** Changes of wants within this delay re-open the stream once. */
export const SETTLE_MS = 30;
/** After a stream failed, the leader opens it again after this long (doubling up to RETRY_MAX_MS). */
export const RETRY_MS = 1_000;
export const RETRY_MAX_MS = 15_000;

type Listener = (event: StreamEvent) => void;

export class LiveHub {
  private readonly deps: HubDeps;
  private leading = false;
  private stopLeading: (() => void) | null = null;
  private readonly listeners = new Set<{ wants: () => Wants; on: Listener }>();
  private readonly local = { events: 0, books: new Map<string, { want: BookWant; count: number }>(), devices: new Map<string, { count: number; presence: Map<string, number> }>() };
  /** The leader's view of every tab's wants (its own included). */
  private readonly tabs = new Map<string, { wants: Wants; at: number }>();
  /** The latest state of each book and presence seen (to hand to a watcher that comes later). */
  private readonly states = new Map<string, StreamEvent>();
  private lastEventId: string | null = null;
  private input: StreamInput | null = null;
  private closeStream: (() => void) | null = null;
  private settle: unknown = null;
  private heartbeat: unknown = null;
  private retryMs = RETRY_MS;
  private closed = false;

  constructor(deps: HubDeps) {
    this.deps = deps;
    deps.channel?.listen((message) => this.onMessage(message));
    this.heartbeat = deps.setTimer(() => this.beat(), HEARTBEAT_MS);
    if (deps.lock) deps.lock(() => this.lead());
    else void this.lead();
  }

  get isLeader() {
    return this.leading;
  }

  /** The stream's input now (the leader's), for tests and debugging. */
  get streamInput() {
    return this.input;
  }

  /** This tab's wants. */
  wants(): Wants {
    if (this.local.events === 0) return NO_WANTS;
    return {
      events: true,
      books: [...this.local.books.values()].map((b) => b.want),
      devices: [...this.local.devices.entries()].map(([deviceId, d]) => {
        const presenceCommunityId = [...d.presence.keys()].sort()[0];
        return presenceCommunityId ? { deviceId, presenceCommunityId } : { deviceId };
      }),
    };
  }

  // ---- what this tab listens to -------------------------------------------------------------------

  /** The member's own events (the tab is signed in while one is registered). */
  watchEvents(on: (event: Extract<StreamEvent, { feed: 'event' }>) => void): () => void {
    return this.watch(
      () => this.local.events++,
      () => this.local.events--,
      (e) => e.feed === 'event' && on(e),
    );
  }

  watchBook(want: BookWant, on: (event: Extract<StreamEvent, { feed: 'book' }>) => void): () => void {
    const key = bookWantKey(want);
    const cached = this.states.get(`book:${key}`);
    const off = this.watch(
      () => {
        const entry = this.local.books.get(key) ?? { want, count: 0 };
        entry.count++;
        this.local.books.set(key, entry);
      },
      () => {
        const entry = this.local.books.get(key);
        if (entry && --entry.count === 0) this.local.books.delete(key);
      },
      (e) => e.feed === 'book' && e.key === key && on(e),
    );
    if (cached?.feed === 'book') on(cached);
    return off;
  }

  watchSignals(deviceId: string, on: (event: Extract<StreamEvent, { feed: 'signal' }>) => void): () => void {
    return this.watch(
      () => this.device(deviceId).count++,
      () => this.releaseDevice(deviceId, null),
      (e) => e.feed === 'signal' && e.deviceId === deviceId && on(e),
    );
  }

  watchPresence(deviceId: string, communityId: string, on: (event: Extract<StreamEvent, { feed: 'presence' }>) => void): () => void {
    const cached = this.states.get(`presence:${deviceId}:${communityId}`);
    const off = this.watch(
      () => {
        const d = this.device(deviceId);
        d.count++;
        d.presence.set(communityId, (d.presence.get(communityId) ?? 0) + 1);
      },
      () => this.releaseDevice(deviceId, communityId),
      (e) => e.feed === 'presence' && e.deviceId === deviceId && e.communityId === communityId && on(e),
    );
    if (cached?.feed === 'presence') on(cached);
    return off;
  }

  /** Leaves: a leader lets another tab take over; a follower tells the leader it is gone. */
  close() {
    if (this.closed) return;
    this.closed = true;
    this.deps.clearTimer(this.heartbeat);
    this.deps.clearTimer(this.settle);
    this.closeStream?.();
    this.closeStream = null;
    this.deps.channel?.post({ type: 'bye', tabId: this.deps.tabId });
    this.stopLeading?.();
    this.deps.channel?.close();
  }

  private device(deviceId: string) {
    let d = this.local.devices.get(deviceId);
    if (!d) this.local.devices.set(deviceId, (d = { count: 0, presence: new Map() }));
    return d;
  }

  private releaseDevice(deviceId: string, communityId: string | null) {
    const d = this.local.devices.get(deviceId);
    if (!d) return;
    if (communityId !== null) {
      const n = (d.presence.get(communityId) ?? 1) - 1;
      if (n <= 0) d.presence.delete(communityId);
      else d.presence.set(communityId, n);
    }
    if (--d.count <= 0) this.local.devices.delete(deviceId);
  }

  private watch(add: () => void, remove: () => void, on: (event: StreamEvent) => void): () => void {
    const entry = { wants: () => this.wants(), on };
    add();
    this.listeners.add(entry);
    this.wantsChanged();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.listeners.delete(entry);
      remove();
      this.wantsChanged();
    };
  }

  private wantsChanged() {
    if (this.closed) return;
    if (this.leading) {
      this.tabs.set(this.deps.tabId, { wants: this.wants(), at: this.deps.now() });
      this.schedule();
    } else {
      this.sendWants();
    }
  }

  private sendWants() {
    this.deps.channel?.post({ type: 'wants', tabId: this.deps.tabId, wants: this.wants(), lastEventId: this.lastEventId });
  }

  private beat() {
    if (this.closed) return;
    this.heartbeat = this.deps.setTimer(() => this.beat(), HEARTBEAT_MS);
    if (!this.leading) {
      this.sendWants();
      return;
    }
    const now = this.deps.now();
    let gone = false;
    for (const [tabId, tab] of this.tabs) {
      if (tabId !== this.deps.tabId && now - tab.at > EXPIRE_MS) {
        this.tabs.delete(tabId);
        gone = true;
      }
    }
    if (gone) this.schedule();
  }

  // ---- leading -----------------------------------------------------------------------------------

  private lead(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.leading = true;
    this.tabs.clear();
    this.tabs.set(this.deps.tabId, { wants: this.wants(), at: this.deps.now() });
    this.deps.channel?.post({ type: 'leader', tabId: this.deps.tabId });
    this.schedule();
    return new Promise((resolve) => (this.stopLeading = resolve));
  }

  private schedule() {
    if (this.settle !== null || this.closed) return;
    this.settle = this.deps.setTimer(() => {
      this.settle = null;
      this.reconcile();
    }, SETTLE_MS);
  }

  /** Opens, re-opens or closes the stream so that it carries the union of every tab's wants. */
  private reconcile(force = false) {
    if (!this.leading || this.closed) return;
    const input = unionWants([...this.tabs.values()].map((t) => t.wants));
    if (!force && sameFeeds(input, this.input) && (input === null) === (this.closeStream === null)) return;
    this.closeStream?.();
    this.closeStream = null;
    this.input = input;
    // states nobody watches any more are dropped
    const keep = new Set(input ? [...input.books.map((b) => `book:${bookWantKey(b)}`), ...input.devices.map((d) => `presence:${d.deviceId}:${d.presenceCommunityId}`)] : []);
    for (const key of this.states.keys()) if (!keep.has(key)) this.states.delete(key);
    if (!input) return;
    let closed = false;
    // eslint-disable-next-line prefer-const -- used by the handlers, assigned by open()
    let close: () => void = () => {};
    close = this.deps.open(
      { ...input, lastEventId: this.lastEventId },
      {
        onEvent: (event, id) => {
          if (closed) return;
          this.retryMs = RETRY_MS;
          this.receive(event, id);
          this.deps.channel?.post({ type: 'event', event, id });
        },
        onError: () => {
          if (closed) return;
          closed = true;
          this.closeStream = null;
          close();
          const wait = this.retryMs;
          this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
          this.deps.setTimer(() => this.reconcile(true), wait);
        },
      },
    );
    this.closeStream = () => {
      closed = true;
      close();
    };
  }

  // ---- receiving ---------------------------------------------------------------------------------

  private receive(event: StreamEvent, id: string | null) {
    if (id) this.lastEventId = id;
    const key = stateKey(event);
    if (key) this.states.set(key, event);
    const wants = this.wants();
    if (!wantsEvent(wants, event)) return;
    for (const listener of [...this.listeners]) listener.on(event);
  }

  private onMessage(message: HubMessage) {
    if (this.closed) return;
    switch (message.type) {
      case 'leader':
        if (message.tabId !== this.deps.tabId) {
          // another tab leads now (this one cannot be leading: the lock is one)
          this.sendWants();
        }
        break;
      case 'wants':
        if (!this.leading) break;
        {
          const known = this.tabs.get(message.tabId);
          const changed = !known || JSON.stringify(known.wants) !== JSON.stringify(message.wants);
          this.tabs.set(message.tabId, { wants: message.wants, at: this.deps.now() });
          if (message.lastEventId && !this.lastEventId) this.lastEventId = message.lastEventId;
          if (!changed) break;
          // what the stream already knows, for a tab that came or watches more: the current books and presence
          const events = [...this.states.values()].filter((e) => wantsEvent(message.wants, e));
          if (events.length > 0) this.deps.channel?.post({ type: 'replay', to: message.tabId, events });
        }
        this.schedule();
        break;
      case 'bye':
        if (this.leading && this.tabs.delete(message.tabId)) this.schedule();
        break;
      case 'event':
        if (!this.leading) this.receive(message.event, message.id);
        break;
      case 'replay':
        if (message.to === this.deps.tabId) for (const event of message.events) this.receive(event, null);
        break;
    }
  }
}
