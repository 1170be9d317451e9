/**
 * The transfers of this device, with no React: the peer links they travel on, the signaling and presence
 * that reach them, their state for the screens, and the screen wake lock while any runs. The work itself is
 * in its halves: receiving.ts (the queue of files coming here, resume, reports, a bundle's per-file checks)
 * and sending.ts (serving `want`s, one session per receiving device); entry.ts holds what is kept and shown
 * of each transfer, api.ts the coordinator calls.
 *
 * A dropped connection is retried with backoff (1 s … 15 s) for as long as a transfer needs it, and at once
 * when the page is shown again (the browser may have suspended it while the screen was off).
 *
 * One manager per device for the page's lifetime (`getTransferManager`), so transfers go on while
 * the member moves between screens; read through `subscribe`/`getSnapshot` (useSyncExternalStore).
 */
import { trpcTransferApi, type PresenceDevice, type ServerStatus, type ServerTransfer, type TransferApi } from './api';
import { openBulk } from './bulk';
import { BUSY_PHASES, closedPhase, isOpen, newEntry, viewOf, type Entry, type ManagerHost, type Phase, type TransferView } from './entry';
import { inboundSignalSchema, PeerLink, type InboundSignal } from './peer';
import { encodeControl, parseChunkFrame, parseControl, TransferError, type ControlMessage, type ErrorCode } from './protocol';
import { MAX_ACTIVE_RECEIVES, Receiving } from './receiving';
import { Sending, tell } from './sending';
import type { Wire } from './session';
import { storageSupported } from './storage';
import { TransferWakeLock, type WakeState } from './wake-lock';

export { trpcTransferApi, MAX_ACTIVE_RECEIVES, type PresenceDevice, type ServerStatus, type ServerTransfer, type TransferApi, type Phase, type TransferView };
export type { EntryView } from './entry';

const REFRESH_EVERY_MS = 20_000;
const TICK_MS = 1_000;
/** A link with nothing to carry is closed after this long. */
const IDLE_LINK_MS = 60_000;
const EMIT_EVERY_MS = 200;

export type GiftOffer = { fromDeviceId: string; fromHandle: string | null; itemId: string; title: string; sizeBytes: number; at: number };

export type ManagerSnapshot = {
  deviceId: string;
  started: boolean;
  /** another tab of this browser runs the transfers */
  passive: boolean;
  /** OPFS with synchronous handles is available */
  storageOk: boolean;
  transfers: TransferView[];
  nearby: PresenceDevice[] | null;
  gifts: GiftOffer[];
  links: { deviceId: string; handle: string | null; state: string }[];
  lastError: string | null;
  /** the screen wake lock: held while a transfer runs here */
  wake: WakeState;
  /** why the browser last refused to keep the screen on, if it did */
  wakeRefusal: string | null;
};

type LinkRetry = { attempts: number; nextAt: number; lastUsed: number };

/**
 * Another kind of session sharing this device's peer links (storage shards): it sees every message on a link
 * first and claims the ones that are its own; it may keep a link open while it needs it.
 */
export type ChannelHandler = {
  onData(remoteDeviceId: string, data: string | Uint8Array): boolean;
  onOpen?(remoteDeviceId: string): void;
  onClose?(remoteDeviceId: string): void;
  needsLink?(remoteDeviceId: string): boolean;
};

export type DebugHooks = {
  /** the next chunk this device sends has one byte flipped, once */
  corruptNextChunk(): void;
  /** chunks corrupted by the hook so far, as `transferId:index` */
  corrupted: string[];
  /** drops every peer connection (they reconnect and resume) */
  dropConnections(): void;
  /** bytes each send session put on the wire, by transfer id (resends and restarts included), and of them on the bulk channel */
  bytesSent(): Record<string, { total: number; bulk: number }>;
};

export class TransferManager implements ManagerHost {
  readonly deviceId: string;
  readonly api: TransferApi;
  readonly entries = new Map<string, Entry>();
  private readonly receiving: Receiving;
  private readonly sending: Sending;
  private wakeLock: TransferWakeLock | null = null;
  private readonly links = new Map<string, PeerLink>();
  private readonly retries = new Map<string, LinkRetry>();
  private readonly pendingGifts = new Map<string, ControlMessage[]>();
  private gifts: GiftOffer[] = [];
  private nearby: PresenceDevice[] | null = null;
  private presenceCommunity: string | null = null;
  private stopPresence: (() => void) | null = null;
  private stopInbox: (() => void) | null = null;
  private tickTimer: ReturnType<typeof setInterval> | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;
  private listeners = new Set<() => void>();
  private snapshot: ManagerSnapshot;
  private emitTimer: ReturnType<typeof setTimeout> | null = null;
  private started = false;
  private passive = false;
  private releaseLock: (() => void) | null = null;
  private lastError: string | null = null;
  private readonly handlers = new Set<ChannelHandler>();
  readonly debug: DebugHooks;

  constructor(options: { deviceId: string; api?: TransferApi }) {
    this.deviceId = options.deviceId;
    this.api = options.api ?? trpcTransferApi();
    this.receiving = new Receiving(this);
    this.sending = new Sending(this);
    this.snapshot = this.buildSnapshot();
    this.debug = {
      corruptNextChunk: () => {
        this.sending.corruptNext = true;
      },
      corrupted: this.sending.corrupted,
      dropConnections: () => {
        for (const link of this.links.values()) link.reset(new TransferError('ERR_CONNECTION', 'Dropped by the debug hook.'));
      },
      bytesSent: () => Object.fromEntries([...this.entries.values()].flatMap((e) => (e.send ? [[e.server.id, { total: e.send.bytesSent, bulk: e.send.bytesOnBulk }]] : []))),
    };
  }

  // ---- life cycle ----------------------------------------------------------------------------

  /**
   * Starts serving and receiving. One tab of this browser runs a device's transfers (a Web Lock);
   * another tab stays passive and takes over when that one closes.
   */
  async start() {
    if (this.started) return;
    this.started = true;
    const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
    if (!locks) return this.run();
    const name = `swapmesh-transfers-${this.deviceId}`;
    const hold = () => new Promise<void>((release) => (this.releaseLock = release));
    const acquired = await new Promise<boolean>((resolve) => {
      void locks.request(name, { ifAvailable: true }, (lock) => {
        resolve(Boolean(lock));
        return lock ? hold() : undefined;
      });
    });
    if (acquired) return this.run();
    this.passive = true;
    this.emit(true);
    void locks.request(name, () => {
      if (!this.started) return undefined;
      this.passive = false;
      void this.run();
      return hold();
    });
  }

  private async run() {
    if (!this.started) return this.releaseLock?.();
    this.stopInbox = this.api.inbox(
      this.deviceId,
      (signal) => this.onSignal(signal),
      (error) => this.noteError(`Signaling: ${String(error)}`),
    );
    if (this.presenceCommunity) this.startPresence();
    this.tickTimer = setInterval(() => this.tick(), TICK_MS);
    await this.refresh();
    // a device coming back reaches the receivers of its unfinished transfers so they can resume
    for (const entry of this.entries.values()) {
      if (entry.role === 'send' && isOpen(entry.server.status)) this.linkFor(entry.server.receiverDeviceId).connect();
    }
    this.emit(true);
  }

  /** The statistics of the open connection to a device, or null (the Nearby screen's "same Wi-Fi" label). */
  linkStats(deviceId: string): Promise<RTCStatsReport | null> {
    return this.links.get(deviceId)?.stats() ?? Promise.resolve(null);
  }

  stop() {
    this.started = false;
    this.stopInbox?.();
    this.stopInbox = null;
    this.stopPresence?.();
    this.stopPresence = null;
    if (this.tickTimer) clearInterval(this.tickTimer);
    this.tickTimer = null;
    for (const entry of this.entries.values()) {
      entry.receive?.session.detach();
      entry.send?.detach();
    }
    for (const link of this.links.values()) link.close();
    this.links.clear();
    this.releaseLock?.();
    this.releaseLock = null;
    this.wakeLock?.dispose();
    this.wakeLock = null;
  }

  /** Keeps this device "online" in a community (and lists its online devices, nearby first). */
  setPresenceCommunity(communityId: string | null) {
    if (communityId === this.presenceCommunity) return;
    this.presenceCommunity = communityId;
    this.stopPresence?.();
    this.stopPresence = null;
    this.nearby = null;
    if (this.started && !this.passive) this.startPresence();
    this.emit(true);
  }

  private startPresence() {
    const communityId = this.presenceCommunity;
    if (!communityId) return;
    this.stopPresence = this.api.presence(
      this.deviceId,
      communityId,
      (list) => {
        this.nearby = list;
        for (const device of list) {
          const link = this.links.get(device.deviceId);
          if (link && !link.remoteHandle) link.remoteHandle = device.handle;
        }
        this.emit(true);
      },
      (error) => this.noteError(`Presence: ${String(error)}`),
    );
  }

  // ---- React glue ----------------------------------------------------------------------------

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getSnapshot = () => this.snapshot;

  emit(now = false) {
    if (now) {
      if (this.emitTimer) clearTimeout(this.emitTimer);
      this.emitTimer = null;
      this.snapshot = this.buildSnapshot();
      this.holdScreen(this.snapshot.transfers);
      for (const listener of this.listeners) listener();
      return;
    }
    this.emitTimer ??= setTimeout(() => {
      this.emitTimer = null;
      this.emit(true);
    }, EMIT_EVERY_MS);
  }

  private buildSnapshot(): ManagerSnapshot {
    const transfers = [...this.entries.values()]
      .map(viewOf)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    return {
      deviceId: this.deviceId,
      started: this.started,
      passive: this.passive,
      storageOk: storageSupported(),
      transfers,
      nearby: this.nearby,
      gifts: this.gifts,
      links: [...this.links.values()].map((l) => ({ deviceId: l.remoteDeviceId, handle: l.remoteHandle, state: l.state })),
      lastError: this.lastError,
      wake: this.wakeLock?.state ?? 'idle',
      wakeRefusal: this.wakeLock?.lastRefusal ?? null,
    };
  }

  /** true while this tab runs the device's transfers */
  get running() {
    return this.started && !this.passive;
  }

  existingLink(remoteDeviceId: string): PeerLink | undefined {
    return this.links.get(remoteDeviceId);
  }

  /** Holds the screen on while any transfer is under way here (wake-lock.ts). */
  private holdScreen(transfers: TransferView[]) {
    if (!this.running) return;
    this.wakeLock ??= new TransferWakeLock(undefined, {
      onReturn: () => this.resumeNow(),
      onChange: () => this.emit(),
    });
    this.wakeLock.set(transfers.some((t) => BUSY_PHASES.includes(t.phase)));
  }

  /** Back on the page: reconnect what waits for a device now rather than at its next retry. */
  private resumeNow() {
    for (const retry of this.retries.values()) retry.nextAt = 0;
    this.tick();
    void this.refresh();
  }

  noteError(message: string) {
    this.lastError = message;
    this.emit();
  }

  // ---- coordinator state ---------------------------------------------------------------------

  /** Reads this device's transfers from the coordinator and brings the local state in line. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        const rows = await this.api.transfers(this.deviceId);
        this.lastRefresh = Date.now();
        for (const row of rows) this.reconcile(row);
        this.receiving.pump();
        this.emit(true);
      } catch (error) {
        this.noteError(`Could not load transfers: ${String(error)}`);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  private reconcile(row: ServerTransfer) {
    const entry = this.entries.get(row.id);
    if (!entry) {
      const fresh = newEntry(row, this.deviceId);
      this.entries.set(row.id, fresh);
      if (fresh.phase === 'completed') this.receiving.loadFinished(fresh);
      return;
    }
    entry.server = row;
    if (!isOpen(row.status)) {
      // ended on the coordinator (by the other side, or by the sweep): stop what still runs here
      const phase = closedPhase(row.status);
      if (row.status !== 'COMPLETED') {
        const code: ErrorCode = row.status === 'CANCELLED' ? 'ERR_CANCELLED' : 'ERR_TIMEOUT';
        if (entry.receive?.session.active) entry.receive.session.cancel(code);
        if (entry.send?.active) entry.send.cancel(code);
      } else if (entry.role === 'send') {
        entry.bytesDone = row.item.sizeBytes; // the receiver verified it (its "complete" may not have reached us)
      }
      if (entry.phase !== 'completed' && entry.phase !== 'failed') entry.phase = phase;
    }
  }

  // ---- other sessions on the same links ------------------------------------------------------------

  /** Lets another kind of session (storage) use this device's links; returns a remover. */
  addChannelHandler(handler: ChannelHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** The open wire to a device, connecting when there is none (null until it opens: the handler's onOpen says when). */
  wireTo(remoteDeviceId: string): Wire | null {
    const link = this.linkFor(remoteDeviceId);
    const wire = link.currentWire;
    if (wire?.open) return wire;
    link.connect();
    return null;
  }

  /** Drops the connection to a device (a stalled storage fetch); whoever still needs it connects again. */
  resetLink(remoteDeviceId: string) {
    this.links.get(remoteDeviceId)?.resetStalled();
  }

  // ---- links -----------------------------------------------------------------------------------

  linkFor(remoteDeviceId: string): PeerLink {
    let link = this.links.get(remoteDeviceId);
    if (!link) {
      link = new PeerLink({
        selfDeviceId: this.deviceId,
        remoteDeviceId,
        sendSignal: async (to, message) => {
          await this.api.sendSignal(this.deviceId, to, message);
        },
        ...(storageSupported() ? { openBulk } : {}),
        events: {
          onOpen: (l, wire) => this.onLinkOpen(l, wire),
          onClose: (l, error) => this.onLinkClose(l, error),
          onData: (l, data) => this.onLinkData(l, data),
        },
      });
      link.remoteHandle = this.nearby?.find((d) => d.deviceId === remoteDeviceId)?.handle ?? null;
      this.links.set(remoteDeviceId, link);
    }
    this.touch(remoteDeviceId);
    return link;
  }

  private touch(remoteDeviceId: string) {
    const retry = this.retries.get(remoteDeviceId) ?? { attempts: 0, nextAt: 0, lastUsed: 0 };
    retry.lastUsed = Date.now();
    this.retries.set(remoteDeviceId, retry);
  }

  private onSignal(raw: unknown) {
    const parsed = inboundSignalSchema.safeParse(raw);
    if (!parsed.success) return this.noteError('A malformed signaling message was ignored.');
    const signal: InboundSignal = parsed.data;
    if (signal.fromDeviceId === this.deviceId) return;
    // a peripheral rental's media connection (app/_lib/peripheral/media-link.ts), not a transfer link
    if (signal.message.type === 'media') return;
    const link = this.linkFor(signal.fromDeviceId);
    if (signal.fromHandle) link.remoteHandle = signal.fromHandle;
    link.handleSignal(signal.message);
    this.emit();
  }

  private onLinkOpen(link: PeerLink, wire: Wire) {
    const retry = this.retries.get(link.remoteDeviceId);
    if (retry) retry.attempts = 0;
    this.touch(link.remoteDeviceId);
    for (const entry of this.entries.values()) {
      if (entry.role === 'receive' && entry.server.senderDeviceId === link.remoteDeviceId) this.receiving.attachReceive(entry, wire);
      if (entry.role === 'send' && entry.server.receiverDeviceId === link.remoteDeviceId && entry.send?.active) entry.send.attach(wire);
    }
    for (const handler of this.handlers) handler.onOpen?.(link.remoteDeviceId);
    for (const message of this.pendingGifts.get(link.remoteDeviceId) ?? []) wire.send(encodeControl(message));
    this.pendingGifts.delete(link.remoteDeviceId);
    this.emit(true);
  }

  private onLinkClose(link: PeerLink, error: TransferError | null) {
    if (error) this.noteError(`Connection to another device: ${error.message}`);
    for (const handler of this.handlers) handler.onClose?.(link.remoteDeviceId);
    for (const entry of this.entries.values()) {
      if (entry.role === 'receive' && entry.server.senderDeviceId === link.remoteDeviceId && entry.receive?.session.active) {
        entry.receive.session.detach();
        entry.phase = 'waiting';
      }
      if (entry.role === 'send' && entry.server.receiverDeviceId === link.remoteDeviceId && entry.send) {
        entry.send.detach();
        if (entry.send.active) entry.phase = 'ready';
      }
    }
    const retry = this.retries.get(link.remoteDeviceId) ?? { attempts: 0, nextAt: 0, lastUsed: Date.now() };
    retry.attempts++;
    retry.nextAt = Date.now() + Math.min(15_000, 1_000 * 2 ** (retry.attempts - 1));
    this.retries.set(link.remoteDeviceId, retry);
    this.emit(true);
  }

  /** Whether something still needs the link to this device. */
  private needsLink(remoteDeviceId: string): boolean {
    if (this.pendingGifts.has(remoteDeviceId)) return true;
    for (const handler of this.handlers) if (handler.needsLink?.(remoteDeviceId)) return true;
    for (const entry of this.entries.values()) {
      if (entry.role === 'receive' && entry.server.senderDeviceId === remoteDeviceId && entry.receive?.session.active) return true;
      if (entry.role === 'send' && entry.server.receiverDeviceId === remoteDeviceId && entry.send?.state === 'sending') return true;
    }
    return false;
  }

  private tick() {
    const now = Date.now();
    for (const entry of this.entries.values()) {
      entry.receive?.session.tick();
      if (entry.phase === 'transferring' && entry.receive) entry.meter.add(now, entry.receive.session.bytesDone);
    }
    for (const link of this.links.values()) {
      const retry = this.retries.get(link.remoteDeviceId);
      const needed = this.needsLink(link.remoteDeviceId);
      if (needed) this.touch(link.remoteDeviceId);
      if (link.state === 'idle' && needed && (!retry || now >= retry.nextAt)) {
        if (retry) retry.nextAt = now + Math.min(15_000, 1_000 * 2 ** retry.attempts);
        link.connect();
        for (const entry of this.entries.values()) {
          if (entry.role === 'receive' && entry.server.senderDeviceId === link.remoteDeviceId && entry.phase === 'waiting') entry.phase = 'connecting';
        }
      } else if (link.state !== 'idle' && !needed && retry && now - retry.lastUsed > IDLE_LINK_MS) {
        link.close();
      }
    }
    const busy = [...this.entries.values()].some((e) => e.phase === 'transferring' || e.phase === 'connecting' || e.phase === 'waiting' || e.phase === 'ready');
    if (now - this.lastRefresh > (busy ? REFRESH_EVERY_MS : REFRESH_EVERY_MS * 3)) void this.refresh();
    if (busy) this.emit();
  }

  // ---- the data channel ------------------------------------------------------------------------

  private onLinkData(link: PeerLink, data: string | Uint8Array) {
    this.touch(link.remoteDeviceId);
    for (const handler of this.handlers) if (handler.onData(link.remoteDeviceId, data)) return;
    if (typeof data !== 'string') {
      const frame = parseChunkFrame(data);
      if (!frame.ok) return tell(link, { type: 'error', transferId: null, code: 'ERR_PROTOCOL', message: frame.reason });
      for (const entry of this.entries.values()) {
        const session = entry.receive?.session;
        if (session && session.key === frame.value.key && entry.server.senderDeviceId === link.remoteDeviceId) {
          session.handleFrame(frame.value);
          return;
        }
      }
      return; // a frame of a transfer that ended here: ignore
    }
    const parsed = parseControl(data);
    if (!parsed.ok) return tell(link, { type: 'error', transferId: null, code: 'ERR_PROTOCOL', message: parsed.reason });
    const message = parsed.value;
    switch (message.type) {
      case 'want':
        void this.sending.onWant(link, message);
        return;
      case 'gift':
        this.gifts = [
          ...this.gifts.filter((g) => g.itemId !== message.itemId),
          { fromDeviceId: link.remoteDeviceId, fromHandle: link.remoteHandle, itemId: message.itemId, title: message.title, sizeBytes: message.sizeBytes, at: Date.now() },
        ];
        this.emit(true);
        return;
      case 'ack':
      case 'resend':
      case 'complete': {
        const entry = this.entries.get(message.transferId);
        if (entry?.role === 'send' && entry.server.receiverDeviceId === link.remoteDeviceId) entry.send?.handleControl(message);
        return;
      }
      case 'cancel':
      case 'error': {
        const entry = message.transferId ? this.entries.get(message.transferId) : undefined;
        if (!entry) return;
        const peerOf = entry.role === 'receive' ? entry.server.senderDeviceId : entry.server.receiverDeviceId;
        if (peerOf !== link.remoteDeviceId) return;
        entry.receive?.session.handleControl(message);
        entry.send?.handleControl(message);
        return;
      }
    }
  }

  // ---- gifts (send to nearby) ------------------------------------------------------------------

  /** Tells a device that this one offers it an item as a gift; it appears on that device to accept. */
  offerGift(toDeviceId: string, item: { id: string; title: string; sizeBytes: number }) {
    const message: ControlMessage = { type: 'gift', itemId: item.id, title: item.title.slice(0, 200), sizeBytes: item.sizeBytes };
    const link = this.linkFor(toDeviceId);
    const wire = link.currentWire;
    if (wire?.open) {
      wire.send(encodeControl(message));
      return;
    }
    this.pendingGifts.set(toDeviceId, [...(this.pendingGifts.get(toDeviceId) ?? []), message]);
    link.connect();
    this.emit(true);
  }

  /** Asks for a copy of an item onto this device (against a barter's file leg with `contractId`) and queues its transfer. */
  request(itemId: string, contractId?: string) {
    return this.receiving.request(itemId, contractId);
  }

  /** Cancels a transfer on this side, tells the other device and the coordinator. */
  cancel(transferId: string) {
    return this.receiving.cancel(transferId);
  }

  /** Tries a failed receive again (see Receiving.retry). */
  retry(transferId: string) {
    return this.receiving.retry(transferId);
  }

  /** Accepts a gift: requests the item onto this device. */
  async acceptGift(itemId: string) {
    const result = await this.request(itemId);
    this.dismissGift(itemId);
    return result;
  }

  dismissGift(itemId: string) {
    this.gifts = this.gifts.filter((g) => g.itemId !== itemId);
    this.emit(true);
  }
}

// ---- one per page ------------------------------------------------------------------------------

let current: TransferManager | null = null;

declare global {
  interface Window {
    __swapmeshTransfers?: TransferManager;
  }
}

/** The page's manager for this device (a new device id replaces the previous manager). */
export function getTransferManager(deviceId: string): TransferManager {
  if (current && current.deviceId === deviceId) return current;
  current?.stop();
  current = new TransferManager({ deviceId });
  if (typeof window !== 'undefined' && window.localStorage.getItem('swapmesh.debug') === '1') window.__swapmeshTransfers = current;
  return current;
}

export function currentTransferManager(): TransferManager | null {
  return current;
}
