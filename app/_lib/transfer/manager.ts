/**
 * The transfers of this device, with no React: a queue of files being received (two at a time),
 * the files it serves to devices that requested them, and the peer links they travel on.
 *
 * Receiving: each transfer opens its OPFS file (resuming from the recorded watermark), connects to
 * the sender's device and asks `want` from there; progress is reported to the coordinator
 * (`content.updateTransfer` ACTIVE with the durable watermark, at most every 2 s) and, once the
 * whole file's SHA-256 matched, COMPLETED, which delivers and signs off a paid item's contract.
 * A dropped connection is retried with backoff (1 s … 15 s) for as long as the transfer is open.
 *
 * Sending: a `want` on a link is honoured only for a transfer the coordinator lists with this
 * device as sender and the link's device as receiver (the remote device id comes from the
 * coordinator's signaling, never from the peer), and only while this device still holds the file.
 *
 * One manager per device for the page's lifetime (`getTransferManager`), so transfers go on while
 * the member moves between screens; read through `subscribe`/`getSnapshot` (useSyncExternalStore).
 */
import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@/server/routers/_app';
import { getLiveHub } from '../live-client';
import { chunkCount, manifestProblem, type Manifest } from './chunks';
import { inboundSignalSchema, PeerLink, type InboundSignal, type SignalMessage } from './peer';
import {
  encodeControl,
  parseChunkFrame,
  parseControl,
  RateMeter,
  TransferError,
  type ControlMessage,
  type ErrorCode,
} from './protocol';
import { ReceiveSession, SendSession, type Wire } from './session';
import { OpfsIncoming, offerSource, removeIncoming, storageSupported } from './storage';

type Outputs = inferRouterOutputs<AppRouter>;
export type ServerTransfer = Outputs['content']['transfers'][number];
export type ServerStatus = ServerTransfer['status'];
export type PresenceDevice = { deviceId: string; name: string; handle: string; nearby: boolean };

/** The coordinator calls the manager makes; `trpcTransferApi` provides them, tests may fake them. */
export interface TransferApi {
  transfers(deviceId: string): Promise<ServerTransfer[]>;
  updateTransfer(input: { transferId: string; deviceId: string; verifiedChunks: number; status?: 'ACTIVE' | 'COMPLETED' | 'CANCELLED' | 'FAILED' }): Promise<unknown>;
  request(itemId: string, deviceId: string): Promise<{ transfer: { id: string }; contractId: string | null }>;
  sendSignal(fromDeviceId: string, toDeviceId: string, message: SignalMessage): Promise<unknown>;
  /** Calls `onSignal` with each signal addressed to the device (unvalidated); returns an unsubscribe. */
  inbox(deviceId: string, onSignal: (signal: unknown) => void, onError: (error: unknown) => void): () => void;
  presence(deviceId: string, communityId: string, onList: (list: PresenceDevice[]) => void, onError: (error: unknown) => void): () => void;
}

export function trpcTransferApi(
  client: TRPCClient<AppRouter> = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: '/api/trpc' })] }),
): TransferApi {
  return {
    transfers: (deviceId) => client.content.transfers.query({ deviceId }),
    updateTransfer: (input) => client.content.updateTransfer.mutate(input),
    request: (itemId, deviceId) => client.content.request.mutate({ itemId, deviceId }),
    sendSignal: (fromDeviceId, toDeviceId, message) => client.signal.send.mutate({ fromDeviceId, toDeviceId, message }),
    // both through the browser's one live stream (app/_lib/live-hub.ts): no request of their own
    inbox: (deviceId, onSignal) => getLiveHub().watchSignals(deviceId, ({ fromDeviceId, fromHandle, message }) => onSignal({ fromDeviceId, fromHandle, message })),
    presence: (deviceId, communityId, onList) => getLiveHub().watchPresence(deviceId, communityId, (event) => onList(event.devices)),
  };
}

/** Receives running at once; more wait in the queue. */
export const MAX_ACTIVE_RECEIVES = 2;
/** Progress reports to the coordinator, at most this often per transfer. */
const REPORT_EVERY_MS = 2_000;
const REFRESH_EVERY_MS = 20_000;
const TICK_MS = 1_000;
/** A link with nothing to carry is closed after this long. */
const IDLE_LINK_MS = 60_000;
const EMIT_EVERY_MS = 200;

export type Phase =
  /** waiting for a free slot */
  | 'queued'
  /** reaching the other device */
  | 'connecting'
  /** the other device is not reachable now; retried automatically */
  | 'waiting'
  | 'transferring'
  /** all chunks in, the whole file's hash is being checked */
  | 'verifying'
  /** sender: waiting for the receiver to ask */
  | 'ready'
  | 'completed'
  | 'failed'
  | 'cancelled';

export type TransferView = {
  id: string;
  itemId: string;
  role: 'receive' | 'send';
  title: string;
  mediaType: string;
  sizeBytes: number;
  sha256: string;
  peerDeviceId: string;
  /** the other party: the owner's handle when receiving, the device name otherwise */
  peerLabel: string;
  pricing: string;
  price: number;
  contractId: string | null;
  serverStatus: ServerStatus;
  phase: Phase;
  bytesDone: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
  /** chunks that failed their hash on arrival and were fetched again */
  refetched: number;
  /** receiving: the byte this device resumed from after a reload or a dropped connection, if it did */
  resumedAt: number | null;
  error: { code: ErrorCode; message: string } | null;
  createdAt: string;
};

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
};

type Entry = {
  server: ServerTransfer;
  role: 'receive' | 'send';
  phase: Phase;
  error: { code: ErrorCode; message: string } | null;
  receive: { session: ReceiveSession; sink: OpfsIncoming } | null;
  send: SendSession | null;
  meter: RateMeter;
  bytesDone: number;
  refetched: number;
  resumedAt: number | null;
  lastReportAt: number;
  reportedChunks: number;
  reports: Promise<unknown>;
  starting: boolean;
};

type LinkRetry = { attempts: number; nextAt: number; lastUsed: number };

const OPEN: ServerStatus[] = ['REQUESTED', 'ACTIVE'];
const isOpen = (status: ServerStatus) => OPEN.includes(status);
const closedPhase = (status: ServerStatus): Phase => (status === 'COMPLETED' ? 'completed' : status === 'CANCELLED' ? 'cancelled' : 'failed');
/** Failures after which the transfer cannot succeed as it is: reported FAILED (a sale is refunded). */
const FATAL: ErrorCode[] = ['ERR_BAD_CHUNK', 'ERR_HASH_MISMATCH', 'ERR_NOT_FOUND', 'ERR_FORBIDDEN', 'ERR_PROTOCOL'];

function manifestOf(server: ServerTransfer): Manifest {
  const item = server.item;
  return { sizeBytes: item.sizeBytes, sha256: item.sha256, chunkSize: item.chunkSize, chunkHashes: item.chunkHashes ?? [] };
}

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
  /** bytes each send session put on the wire, by transfer id (resends and restarts included) */
  bytesSent(): Record<string, number>;
};

export class TransferManager {
  readonly deviceId: string;
  private readonly api: TransferApi;
  private readonly entries = new Map<string, Entry>();
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
  private corruptNext = false;
  private readonly handlers = new Set<ChannelHandler>();
  readonly debug: DebugHooks;

  constructor(options: { deviceId: string; api?: TransferApi }) {
    this.deviceId = options.deviceId;
    this.api = options.api ?? trpcTransferApi();
    this.snapshot = this.buildSnapshot();
    const corrupted: string[] = [];
    this.debug = {
      corruptNextChunk: () => {
        this.corruptNext = true;
      },
      corrupted,
      dropConnections: () => {
        for (const link of this.links.values()) link.reset(new TransferError('ERR_CONNECTION', 'Dropped by the debug hook.'));
      },
      bytesSent: () => Object.fromEntries([...this.entries.values()].flatMap((e) => (e.send ? [[e.server.id, e.send.bytesSent]] : []))),
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

  private emit(now = false) {
    if (now) {
      if (this.emitTimer) clearTimeout(this.emitTimer);
      this.emitTimer = null;
      this.snapshot = this.buildSnapshot();
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
      .map((e) => this.view(e))
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
    };
  }

  private view(entry: Entry): TransferView {
    const { server } = entry;
    const sizeBytes = server.item.sizeBytes;
    const active = entry.phase === 'transferring';
    const receiverHandle = server.receiver.handle;
    return {
      id: server.id,
      itemId: server.itemId,
      role: entry.role,
      title: server.item.title,
      mediaType: server.item.mediaType,
      sizeBytes,
      sha256: server.item.sha256,
      peerDeviceId: entry.role === 'receive' ? server.senderDeviceId : server.receiverDeviceId,
      peerLabel: entry.role === 'receive' ? `@${server.item.owner.handle}` : receiverHandle ? `@${receiverHandle}` : 'the requester',
      pricing: server.item.pricing,
      price: server.item.price,
      contractId: server.contractId,
      serverStatus: server.status,
      phase: entry.phase,
      bytesDone: entry.phase === 'completed' ? sizeBytes : entry.bytesDone,
      bytesPerSecond: active ? entry.meter.bytesPerSecond : 0,
      secondsLeft: active ? entry.meter.secondsLeft(sizeBytes) : null,
      refetched: entry.refetched,
      resumedAt: entry.resumedAt,
      error: entry.error,
      createdAt: server.createdAt,
    };
  }

  private noteError(message: string) {
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
        this.pump();
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
    const role = row.receiverDeviceId === this.deviceId ? 'receive' : 'send';
    let entry = this.entries.get(row.id);
    if (!entry) {
      entry = {
        server: row,
        role,
        phase: isOpen(row.status) ? (role === 'receive' ? 'queued' : 'ready') : closedPhase(row.status),
        error: null,
        receive: null,
        send: null,
        meter: new RateMeter(),
        bytesDone: role === 'receive' ? Math.min(row.item.sizeBytes, row.verifiedChunks * row.item.chunkSize) : 0,
        refetched: 0,
        resumedAt: null,
        lastReportAt: 0,
        reportedChunks: row.verifiedChunks,
        reports: Promise.resolve(),
        starting: false,
      };
      this.entries.set(row.id, entry);
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

  private report(entry: Entry, verifiedChunks: number, status?: 'ACTIVE' | 'COMPLETED' | 'CANCELLED' | 'FAILED') {
    entry.lastReportAt = Date.now();
    entry.reportedChunks = verifiedChunks;
    const input = { transferId: entry.server.id, deviceId: this.deviceId, verifiedChunks, ...(status ? { status } : {}) };
    entry.reports = entry.reports
      .then(() => this.api.updateTransfer(input))
      .then(
        () => {
          if (status && status !== 'ACTIVE') void this.refresh();
        },
        (error: unknown) => {
          this.noteError(`Could not report the transfer: ${error instanceof Error ? error.message : String(error)}`);
          if (status === 'COMPLETED') void this.refresh();
        },
      );
    return entry.reports;
  }

  // ---- the receive queue ---------------------------------------------------------------------

  /** Asks for a copy of an item onto this device and queues its transfer. */
  async request(itemId: string): Promise<{ transferId: string; contractId: string | null }> {
    const result = await this.api.request(itemId, this.deviceId);
    await this.refresh();
    return { transferId: result.transfer.id, contractId: result.contractId };
  }

  private pump() {
    if (!this.started || this.passive) return;
    const running = [...this.entries.values()].filter(
      (e) => e.role === 'receive' && (e.starting || e.receive?.session.active) && e.phase !== 'queued',
    ).length;
    let free = MAX_ACTIVE_RECEIVES - running;
    const queued = [...this.entries.values()]
      .filter((e) => e.role === 'receive' && e.phase === 'queued' && isOpen(e.server.status))
      .sort((a, b) => a.server.createdAt.localeCompare(b.server.createdAt));
    for (const entry of queued) {
      if (free <= 0) break;
      free--;
      void this.startReceive(entry);
    }
  }

  private async startReceive(entry: Entry) {
    entry.starting = true;
    entry.phase = 'connecting';
    entry.error = null;
    this.emit(true);
    const { server } = entry;
    const manifest = manifestOf(server);
    const problem = manifestProblem(manifest);
    try {
      if (problem) throw new TransferError('ERR_PROTOCOL', `The item's manifest is unusable: ${problem}.`);
      if (!storageSupported()) throw new TransferError('ERR_STORAGE', 'This browser cannot store files for transfers (no Origin Private File System).');
      let opened: Awaited<ReturnType<typeof OpfsIncoming.open>>;
      try {
        opened = await OpfsIncoming.open(
          { transferId: server.id, itemId: server.itemId, title: server.item.title, mediaType: server.item.mediaType, sizeBytes: manifest.sizeBytes, sha256: manifest.sha256, chunkSize: manifest.chunkSize },
          manifest,
        );
      } catch (error) {
        throw new TransferError('ERR_STORAGE', `Could not open the file on this device (is it open in another tab?): ${String(error)}`);
      }
      const count = chunkCount(manifest.sizeBytes, manifest.chunkSize);
      if (opened.complete) {
        await opened.sink.close();
        entry.phase = 'completed';
        this.report(entry, count, 'COMPLETED');
        return;
      }
      const session = new ReceiveSession({
        transferId: server.id,
        manifest,
        watermark: opened.watermark,
        sink: opened.sink,
        events: {
          onProgress: (_verified, bytes) => {
            entry.bytesDone = bytes;
            entry.meter.add(Date.now(), bytes);
            if (entry.phase === 'waiting' || entry.phase === 'connecting') entry.phase = 'transferring';
            this.emit();
          },
          onCommit: (watermark) => {
            if (Date.now() - entry.lastReportAt >= REPORT_EVERY_MS && watermark !== entry.reportedChunks && watermark < count) this.report(entry, watermark, 'ACTIVE');
          },
          onBadChunk: () => {
            entry.refetched++;
            this.emit();
          },
          onComplete: () => {
            entry.phase = 'verifying';
            this.emit(true);
            void opened.sink.markComplete().then(
              () => {
                entry.phase = 'completed';
                entry.bytesDone = manifest.sizeBytes;
                this.report(entry, count, 'COMPLETED');
                this.emit(true);
                this.pump();
              },
              (error: unknown) => this.receiveFailed(entry, new TransferError('ERR_STORAGE', String(error))),
            );
          },
          onFailure: (error) => this.receiveFailed(entry, error),
          onStalled: () => this.links.get(server.senderDeviceId)?.reset(new TransferError('ERR_TIMEOUT', 'No data for a while.')),
        },
      });
      entry.receive = { session, sink: opened.sink };
      entry.bytesDone = session.bytesDone;
      if (opened.watermark > 0) entry.resumedAt = session.bytesDone;
      entry.meter.reset();
      entry.meter.add(Date.now(), session.bytesDone);
      if (server.status === 'REQUESTED' || server.verifiedChunks !== opened.watermark) this.report(entry, opened.watermark, 'ACTIVE');
      const link = this.linkFor(server.senderDeviceId);
      const wire = link.currentWire;
      if (wire) this.attachReceive(entry, wire);
      else {
        link.connect();
        entry.phase = link.state === 'idle' ? 'waiting' : 'connecting';
      }
    } catch (error) {
      const failure = error instanceof TransferError ? error : new TransferError('ERR_STORAGE', String(error));
      this.receiveFailed(entry, failure);
    } finally {
      entry.starting = false;
      this.emit(true);
    }
  }

  private attachReceive(entry: Entry, wire: Wire) {
    const session = entry.receive?.session;
    if (!session?.active) return;
    if (session.watermark > 0) entry.resumedAt = session.bytesDone;
    entry.phase = 'transferring';
    entry.meter.reset();
    entry.meter.add(Date.now(), session.bytesDone);
    session.attach(wire);
  }

  private receiveFailed(entry: Entry, error: TransferError) {
    if (entry.phase === 'cancelled' || entry.phase === 'completed') return;
    entry.error = { code: error.code, message: error.message };
    if (error.code === 'ERR_CANCELLED') {
      entry.phase = 'cancelled';
      void this.refresh();
    } else {
      entry.phase = 'failed';
      if (FATAL.includes(error.code) && isOpen(entry.server.status)) this.report(entry, entry.receive?.session.watermark ?? 0, 'FAILED');
    }
    void entry.receive?.sink.close().catch(() => undefined);
    this.emit(true);
    this.pump();
  }

  /** Cancels a transfer on this side, tells the other device and the coordinator. */
  async cancel(transferId: string) {
    const entry = this.entries.get(transferId);
    if (!entry) return;
    entry.receive?.session.cancel();
    entry.send?.cancel();
    entry.phase = 'cancelled';
    entry.error = { code: 'ERR_CANCELLED', message: 'Cancelled on this device.' };
    this.emit(true);
    if (isOpen(entry.server.status)) await this.report(entry, entry.receive?.session.watermark ?? entry.server.verifiedChunks, 'CANCELLED');
    if (entry.role === 'receive') await removeIncoming(transferId).catch(() => undefined);
    this.pump();
  }

  /**
   * Tries again: an open transfer that failed here restarts from its watermark; one the
   * coordinator has closed is requested anew (a priced item is bought again: its first
   * payment was refunded).
   */
  async retry(transferId: string): Promise<string> {
    const entry = this.entries.get(transferId);
    if (!entry || entry.role !== 'receive') throw new Error('Only a receiving transfer can be retried.');
    if (isOpen(entry.server.status)) {
      entry.phase = 'queued';
      entry.error = null;
      entry.receive = null;
      this.pump();
      this.emit(true);
      return transferId;
    }
    const { transferId: fresh } = await this.request(entry.server.itemId);
    return fresh;
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

  // ---- links -----------------------------------------------------------------------------------

  private linkFor(remoteDeviceId: string): PeerLink {
    let link = this.links.get(remoteDeviceId);
    if (!link) {
      link = new PeerLink({
        selfDeviceId: this.deviceId,
        remoteDeviceId,
        sendSignal: async (to, message) => {
          await this.api.sendSignal(this.deviceId, to, message);
        },
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
      if (entry.role === 'receive' && entry.server.senderDeviceId === link.remoteDeviceId) this.attachReceive(entry, wire);
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
      if (!frame.ok) return this.tell(link, { type: 'error', transferId: null, code: 'ERR_PROTOCOL', message: frame.reason });
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
    if (!parsed.ok) return this.tell(link, { type: 'error', transferId: null, code: 'ERR_PROTOCOL', message: parsed.reason });
    const message = parsed.value;
    switch (message.type) {
      case 'want':
        void this.onWant(link, message);
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

  private tell(link: PeerLink, message: ControlMessage) {
    const wire = link.currentWire;
    if (wire?.open) wire.send(encodeControl(message));
  }

  private async onWant(link: PeerLink, want: Extract<ControlMessage, { type: 'want' }>): Promise<void> {
    let entry = this.entries.get(want.transferId);
    // a session that ended here (failed, or done while the receiver lost its copy) starts afresh
    if (entry?.send && !entry.send.active && entry.server.receiverDeviceId === link.remoteDeviceId) entry.send = null;
    if (entry?.send) {
      if (entry.server.receiverDeviceId !== link.remoteDeviceId) return;
      const wire = link.currentWire;
      if (wire) entry.send.attach(wire);
      if (entry.send.active) entry.phase = 'transferring';
      entry.send.handleControl(want);
      this.emit(true);
      return;
    }
    if (!entry || entry.role !== 'send' || !isOpen(entry.server.status)) {
      await this.refresh();
      entry = this.entries.get(want.transferId);
    }
    const refuse = (code: ErrorCode, message: string) => this.tell(link, { type: 'error', transferId: want.transferId, code, message });
    if (!entry || entry.role !== 'send') return refuse('ERR_NOT_FOUND', 'This device has no such transfer to send.');
    if (entry.server.receiverDeviceId !== link.remoteDeviceId) return refuse('ERR_FORBIDDEN', 'This transfer is for another device.');
    if (!isOpen(entry.server.status)) return refuse(entry.server.status === 'CANCELLED' ? 'ERR_CANCELLED' : 'ERR_NOT_FOUND', `This transfer is ${entry.server.status.toLowerCase()}.`);
    if (entry.send) return this.onWant(link, want); // created meanwhile by another want
    const item = entry.server.item;
    const source = await offerSource(item.sha256, item.chunkSize, item.sizeBytes).catch(() => null);
    if (!source) return refuse('ERR_NOT_FOUND', 'The file is no longer on the sending device.');
    if (entry.send) return this.onWant(link, want);
    const owner = entry;
    const session = new SendSession({
      transferId: entry.server.id,
      sizeBytes: item.sizeBytes,
      chunkSize: item.chunkSize,
      source,
      events: {
        onProgress: (_chunks, bytes) => {
          owner.bytesDone = bytes;
          owner.meter.add(Date.now(), bytes);
          this.emit();
        },
        onComplete: () => {
          owner.phase = 'completed';
          owner.bytesDone = item.sizeBytes;
          this.emit(true);
          setTimeout(() => void this.refresh(), 1_000);
        },
        onFailure: (error) => {
          owner.phase = error.code === 'ERR_CANCELLED' ? 'cancelled' : 'failed';
          owner.error = { code: error.code, message: error.message };
          this.emit(true);
          void this.refresh();
        },
      },
    });
    session.tamper = (index, bytes) => {
      if (!this.corruptNext) return bytes;
      this.corruptNext = false;
      this.debug.corrupted.push(`${owner.server.id}:${index}`);
      const copy = bytes.slice(); // never damage the source's cached block
      copy[Math.floor(copy.length / 2)]! ^= 0xff;
      return copy;
    };
    entry.send = session;
    entry.meter.reset();
    return this.onWant(link, want);
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
