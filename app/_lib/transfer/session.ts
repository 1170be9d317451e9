/**
 * One transfer on one data channel, seen from each side. Both sessions are transport- and
 * storage-agnostic (a `Wire`, a `ChunkSink` / `ChunkSource`), so the same code runs over a
 * simple-peer channel in the browser and over an in-memory pipe in unit tests.
 *
 * Receiver: `attach(wire)` asks `want { from: watermark }`; every chunk is verified against the
 * manifest and written before it counts; a bad chunk is discarded and asked for again; every
 * ACK_EVERY chunks it acknowledges and makes the watermark durable; at the end the stored file's
 * SHA-256 must equal the manifest's. A dropped connection is just `detach()`; the next `attach()`
 * resumes from the watermark.
 *
 * Sender: answers `want` by streaming from `from`, resends first, never more than WINDOW_CHUNKS
 * past the last ack, and never more than the wire's window (`window.ts`) buffered on the channel.
 */
import { runSpan, sendsOnBulk, type BulkRun, type StoredRun } from './bulk-frames';
import { chunkCount, chunkLength, type Manifest } from './chunks';
import {
  ChunkAssembler,
  chunksPerFrame,
  encodeChunkFrames,
  encodeControl,
  encodeRunFrame,
  MAX_FRAME_PAYLOAD,
  MAX_RUN_FRAME,
  ReceiveTracker,
  splitRun,
  SendSchedule,
  TransferError,
  transferKey,
  WINDOW_CHUNKS,
  type AssemblyEvent,
  type ChunkFrame,
  type ControlMessage,
  type ErrorCode,
} from './protocol';
import { canSend, type WindowConfig } from './window';

/** The data channel as the sessions need it. */
export interface Wire {
  readonly open: boolean;
  /** Queues a message; the bytes are copied before it returns (as `RTCDataChannel.send` does), so the caller may reuse them. */
  send(data: string | Uint8Array): void;
  readonly bufferedAmount: number;
  /** Resolves once the buffered amount fell to the low-water mark, or the wire closed. */
  drained(): Promise<void>;
  /** The send window on this wire (DEFAULT_WINDOW when absent). */
  readonly window?: WindowConfig;
  /** The largest message this wire may send (the connection's `sctp.maxMessageSize`); absent or 0: unknown, one chunk per frame. */
  readonly maxMessageSize?: number;
  /** The connection's bulk channel (bulk.ts), when this side has one. */
  readonly bulk?: BulkSender | null;
}

/**
 * A second channel of the same connection, owned by the storage worker, which reads each run frame from the
 * offered file and sends it itself (bulk-frames.ts); the sender posts runs under a window of its own.
 */
export interface BulkSender {
  readonly open: boolean;
  /** Resolves once the run went out (or the channel closed first); rejects when the file could not be read. */
  sendRun(run: BulkRun): Promise<void>;
  canSend(bytes: number): boolean;
  /** Resolves when more runs may be posted, or the channel closed. */
  drained(): Promise<void>;
}

/** Where a receiver puts verified chunks. */
export interface ChunkSink {
  /**
   * Verifies `bytes` against `expectedHex` and stores them as chunk `index`; false (nothing stored) on a mismatch.
   * The sink may take the bytes' buffer over (transfer it to a worker): the caller does not read them afterwards.
   */
  put(index: number, bytes: Uint8Array, expectedHex: string): Promise<boolean>;
  /** Makes what was stored durable, then records the watermark. */
  commit(watermark: number): Promise<void>;
  /** SHA-256 of the stored file, hex. */
  sha256(): Promise<string>;
  /** Stored chunks whose bytes do not match their hash. */
  badChunks(): Promise<number[]>;
  /**
   * Present when the sink takes run frames from the connection's bulk channel by itself (the storage worker checks
   * and writes them): `listener` hears each frame's outcome. Absent: every frame comes through `put`.
   */
  listen?(listener: (result: StoredRun) => void): void;
}

/** Where a sender reads chunks from. */
export interface ChunkSource {
  readChunk(index: number): Promise<Uint8Array>;
  /** The offered file's SHA-256 when the storage worker reads it by that name (then it can send on a bulk channel). */
  readonly offerSha256?: string;
}

/** Receiver: no frame for this long while receiving → ask again from the watermark. */
export const STALL_MS = 10_000;
/** Receiver: after this many re-asks without progress the connection is presumed dead. */
export const MAX_STALLS = 3;
/**
 * Receiver: the watermark is made durable (file flushed, record written) at most this often, and always at the
 * end and when the connection drops. Each commit costs an fsync, which blocks the storage worker (a fifth of a
 * 50 MB loopback transfer's time at 250 ms, bench/transfer.mjs BENCH_PROFILE=1); a reload loses nothing written
 * (the bytes are in the file, only the record is older), so the watermark a reload resumes from is at most a
 * second behind.
 */
export const COMMIT_EVERY_MS = 1_000;

export type ReceiveState = 'waiting' | 'receiving' | 'verifying' | 'done' | 'failed' | 'cancelled';

export type ReceiveEvents = {
  onProgress?: (verifiedChunks: number, bytesDone: number) => void;
  /** the watermark reached storage */
  onCommit?: (watermark: number) => void;
  onComplete?: () => void;
  onFailure?: (error: TransferError) => void;
  /** MAX_STALLS re-asks brought nothing: the connection should be rebuilt */
  onStalled?: () => void;
  onBadChunk?: (index: number, attempt: number) => void;
};

export class ReceiveSession {
  readonly transferId: string;
  readonly key: number;
  readonly manifest: Manifest;
  private readonly tracker: ReceiveTracker;
  private readonly assembler = new ChunkAssembler();
  private readonly sink: ChunkSink;
  private readonly events: ReceiveEvents;
  private readonly now: () => number;
  private wire: Wire | null = null;
  private chain: Promise<void> = Promise.resolve();
  private lastActivity = 0;
  private stalls = 0;
  private lastCommit = 0;
  private committedMark: number;
  private reverified = false;
  private pendingPuts = new Set<number>();
  state: ReceiveState = 'waiting';

  constructor(options: { transferId: string; manifest: Manifest; watermark?: number; sink: ChunkSink; events?: ReceiveEvents; now?: () => number }) {
    this.transferId = options.transferId;
    this.key = transferKey(options.transferId);
    this.manifest = options.manifest;
    this.tracker = new ReceiveTracker(chunkCount(options.manifest.sizeBytes, options.manifest.chunkSize), options.watermark ?? 0);
    this.committedMark = this.tracker.watermark;
    this.sink = options.sink;
    this.events = options.events ?? {};
    this.now = options.now ?? Date.now;
    this.sink.listen?.((result) => this.stored(result));
  }

  get watermark() {
    return this.tracker.watermark;
  }
  get chunkCount() {
    return this.tracker.count;
  }
  get verifiedChunks() {
    return this.tracker.verifiedCount;
  }
  get bytesDone(): number {
    const { count } = this.tracker;
    if (count === 0) return 0;
    const full = this.tracker.verifiedCount * this.manifest.chunkSize;
    const lastShort = this.manifest.chunkSize - chunkLength(count - 1, this.manifest.sizeBytes, this.manifest.chunkSize);
    return this.tracker.isVerified(count - 1) ? full - lastShort : full;
  }
  get active() {
    return this.state === 'waiting' || this.state === 'receiving' || this.state === 'verifying';
  }

  /** A (new) connection to the sender: ask from the watermark. */
  attach(wire: Wire) {
    if (!this.active) return;
    this.wire = wire;
    this.assembler.reset();
    this.stalls = 0;
    if (this.state === 'verifying') return; // already checking the whole file
    if (this.tracker.done) {
      this.state = 'verifying';
      this.chain = this.chain.then(() => this.finish());
      return;
    }
    this.state = 'receiving';
    this.lastActivity = this.now();
    this.want();
  }

  /** Asks the sender from the watermark, naming the largest frame this receiver takes, and whether it takes them on the bulk channel. */
  private want() {
    const bulk = Boolean(this.wire?.bulk?.open && this.sink.listen);
    this.send({ type: 'want', transferId: this.transferId, from: this.tracker.watermark, maxFrame: MAX_RUN_FRAME, ...(bulk ? { bulk } : {}) });
  }

  /** The connection is gone; what is verified stays, and is made durable. */
  detach() {
    this.wire = null;
    this.assembler.reset();
    if (this.state === 'receiving') this.state = 'waiting';
    this.chain = this.chain.then(() => this.commit(true));
  }

  handleFrame(frame: ChunkFrame) {
    if (this.state !== 'receiving') return;
    this.lastActivity = this.now();
    this.stalls = 0;
    const index = frame.index;
    const last = index + Math.max(1, frame.run ?? 1) - 1;
    if (last >= this.tracker.count) return this.fail(new TransferError('ERR_PROTOCOL', `The sender sent chunk ${last} of ${this.tracker.count}.`));
    const { sizeBytes, chunkSize } = this.manifest;
    const events: AssemblyEvent[] = frame.run
      ? [...this.assembler.interrupt(), ...splitRun(frame, (i) => chunkLength(i, sizeBytes, chunkSize))]
      : this.assembler.add(frame, chunkLength(index, sizeBytes, chunkSize));
    // start every write now (the sink queues them, several in one batch), decide in arrival order
    const outcomes: { index: number; put: Promise<{ ok: boolean; error: unknown }> | null }[] = [];
    for (const event of events) {
      if (event.kind === 'bad') {
        outcomes.push({ index: event.index, put: null });
        continue;
      }
      if (this.tracker.isVerified(event.index) || this.pendingPuts.has(event.index)) continue; // a restart overlapped
      this.pendingPuts.add(event.index);
      const put = this.sink.put(event.index, event.bytes, this.manifest.chunkHashes[event.index] ?? '').then(
        (ok) => ({ ok, error: null as unknown }),
        (error: unknown) => ({ ok: false, error }),
      );
      outcomes.push({ index: event.index, put });
    }
    if (outcomes.length === 0) return;
    this.chain = this.chain.then(async () => {
      for (const { index: i, put } of outcomes) {
        if (!put) {
          await this.decide(i, false);
          continue;
        }
        const { ok, error } = await put;
        this.pendingPuts.delete(i);
        if (error) return this.fail(new TransferError('ERR_STORAGE', `Could not store chunk ${i}: ${String(error)}`));
        await this.decide(i, ok);
      }
    });
  }

  /** A run frame the sink received on the bulk channel and checked (and stored) by itself: each chunk's outcome, in arrival order. */
  private stored(result: StoredRun) {
    if (!this.active) return;
    this.lastActivity = this.now();
    this.stalls = 0;
    if ('error' in result) {
      return this.fail(new TransferError(result.code, result.code === 'ERR_STORAGE' ? `Could not store chunks: ${result.error}` : `A frame from the sender was refused: ${result.error}.`));
    }
    const { first, ok } = result;
    this.chain = this.chain.then(async () => {
      for (let k = 0; k < ok.length; k++) await this.decide(first + k, ok[k] === 1);
    });
  }

  handleControl(message: ControlMessage) {
    if (message.type === 'cancel' || message.type === 'error') {
      this.fail(new TransferError(message.code, message.type === 'error' ? message.message : 'The sender cancelled the transfer.'), false);
    }
  }

  /** Called every second or so: re-asks after a stall, reports a dead connection. */
  tick() {
    if (this.state !== 'receiving' || !this.wire) return;
    if (this.now() - this.lastActivity < STALL_MS || this.pendingPuts.size > 0) return;
    this.stalls++;
    this.lastActivity = this.now();
    if (this.stalls > MAX_STALLS) {
      this.events.onStalled?.();
      return;
    }
    this.assembler.reset();
    this.want();
  }

  cancel(code: ErrorCode = 'ERR_CANCELLED') {
    if (!this.active) return;
    this.send({ type: 'cancel', transferId: this.transferId, code });
    this.state = 'cancelled';
    this.chain = this.chain.then(() => this.commit(true));
  }

  /** Resolves when every chunk that arrived so far has been decided on. */
  settled(): Promise<void> {
    return this.chain;
  }

  private async decide(index: number, valid: boolean) {
    if (!this.active) return;
    const decision = this.tracker.accept(index, valid);
    switch (decision.kind) {
      case 'duplicate':
        return;
      case 'fail':
        return this.fail(new TransferError(decision.code, decision.code === 'ERR_BAD_CHUNK' ? `Chunk ${index} failed its hash too many times.` : `Unexpected chunk ${index}.`));
      case 'resend':
        this.events.onBadChunk?.(index, decision.attempt);
        this.send({ type: 'resend', transferId: this.transferId, index, code: 'ERR_BAD_CHUNK' });
        return;
      case 'accepted':
        this.events.onProgress?.(this.tracker.verifiedCount, this.bytesDone);
        if (decision.ack) this.send({ type: 'ack', transferId: this.transferId, upTo: decision.watermark });
        if (decision.done) return this.finish();
        if (decision.ack) await this.commit(false);
        return;
    }
  }

  private async commit(force: boolean) {
    const mark = this.tracker.watermark;
    if (mark === this.committedMark) return;
    if (!force && this.now() - this.lastCommit < COMMIT_EVERY_MS) return;
    this.lastCommit = this.now();
    try {
      await this.sink.commit(mark);
      this.committedMark = mark;
      this.events.onCommit?.(mark);
    } catch (error) {
      this.fail(new TransferError('ERR_STORAGE', `Could not save progress: ${String(error)}`));
    }
  }

  private async finish() {
    if (!this.active) return;
    this.state = 'verifying';
    await this.commit(true);
    if (this.state !== 'verifying') return;
    let hash: string;
    try {
      hash = await this.sink.sha256();
    } catch (error) {
      return this.fail(new TransferError('ERR_STORAGE', `Could not read the file back: ${String(error)}`));
    }
    if (hash === this.manifest.sha256) {
      this.state = 'done';
      this.send({ type: 'complete', transferId: this.transferId, sha256: hash });
      this.events.onComplete?.();
      return;
    }
    // every chunk matched on arrival, yet the file does not: re-check what is on disk once
    const bad = this.reverified ? [] : await this.sink.badChunks().catch(() => []);
    if (bad.length === 0) return this.fail(new TransferError('ERR_HASH_MISMATCH', 'Every chunk matched, but the whole file does not match its SHA-256.'));
    this.reverified = true;
    this.tracker.invalidate(bad);
    this.committedMark = -1;
    await this.commit(true);
    this.state = this.wire ? 'receiving' : 'waiting';
    this.lastActivity = this.now();
    this.want();
  }

  private fail(error: TransferError, tell = true) {
    if (!this.active) return;
    if (tell) this.send({ type: 'cancel', transferId: this.transferId, code: error.code });
    this.state = error.code === 'ERR_CANCELLED' ? 'cancelled' : 'failed';
    this.chain = this.chain.then(() => this.commit(true));
    this.events.onFailure?.(error);
  }

  private send(message: ControlMessage) {
    if (this.wire?.open) this.wire.send(encodeControl(message));
  }
}

export type SendState = 'idle' | 'sending' | 'done' | 'failed' | 'cancelled';

export type SendEvents = {
  onProgress?: (acknowledgedChunks: number, bytesSent: number) => void;
  onComplete?: () => void;
  onFailure?: (error: TransferError) => void;
};

export class SendSession {
  readonly transferId: string;
  readonly key: number;
  readonly sizeBytes: number;
  readonly chunkSize: number;
  readonly count: number;
  private readonly schedule: SendSchedule;
  private readonly source: ChunkSource;
  private readonly events: SendEvents;
  private wire: Wire | null = null;
  private generation = 0;
  private running = false;
  private wake: (() => void) | null = null;
  /** the largest frame the receiver takes (its last `want`), 0 when it named none */
  private peerMaxFrame = 0;
  /** the receiver takes run frames on the bulk channel (its last `want`) */
  private peerBulk = false;
  private scratch: Uint8Array | null = null;
  bytesSent = 0;
  /** of which on the bulk channel */
  bytesOnBulk = 0;
  lastActivity = Date.now();
  state: SendState = 'idle';
  /** Debug: whether chunk `index` goes out with its middle byte flipped (asked once per chunk sent). */
  damage: ((index: number) => boolean) | null = null;

  private readonly framePayload: number;

  constructor(options: { transferId: string; sizeBytes: number; chunkSize: number; source: ChunkSource; events?: SendEvents; window?: number; framePayload?: number }) {
    this.transferId = options.transferId;
    this.key = transferKey(options.transferId);
    this.sizeBytes = options.sizeBytes;
    this.chunkSize = options.chunkSize;
    this.count = chunkCount(options.sizeBytes, options.chunkSize);
    this.schedule = new SendSchedule(this.count, 0, options.window ?? WINDOW_CHUNKS);
    this.source = options.source;
    this.events = options.events ?? {};
    this.framePayload = options.framePayload ?? MAX_FRAME_PAYLOAD;
  }

  get active() {
    return this.state === 'idle' || this.state === 'sending';
  }
  get acknowledged() {
    return this.schedule.acknowledged;
  }

  attach(wire: Wire) {
    this.wire = wire;
    this.generation++;
    if (this.state === 'sending') this.state = 'idle';
    this.poke();
  }

  detach() {
    this.wire = null;
    this.generation++;
    if (this.state === 'sending') this.state = 'idle';
    this.poke();
  }

  handleControl(message: ControlMessage) {
    if (!this.active && message.type !== 'complete') return;
    this.lastActivity = Date.now();
    switch (message.type) {
      case 'want':
        if (message.from > this.count) return this.fail(new TransferError('ERR_PROTOCOL', `Asked from chunk ${message.from} of ${this.count}.`));
        this.peerMaxFrame = message.maxFrame ?? 0;
        this.peerBulk = message.bulk === true;
        this.schedule.restart(message.from);
        this.state = 'sending';
        void this.run();
        this.poke();
        return;
      case 'ack':
        this.schedule.ack(message.upTo);
        this.events.onProgress?.(this.schedule.acknowledged, Math.min(this.sizeBytes, this.schedule.acknowledged * this.chunkSize));
        this.poke();
        return;
      case 'resend':
        this.schedule.resend(message.index);
        this.poke();
        return;
      case 'complete':
        if (this.state === 'done') return;
        this.state = 'done';
        this.schedule.ack(this.count);
        this.events.onProgress?.(this.count, this.sizeBytes);
        this.events.onComplete?.();
        this.poke();
        return;
      case 'cancel':
      case 'error':
        this.state = message.code === 'ERR_CANCELLED' ? 'cancelled' : 'failed';
        this.events.onFailure?.(new TransferError(message.code, message.type === 'error' ? message.message : 'The receiver cancelled the transfer.'));
        this.poke();
        return;
      case 'gift':
        return;
    }
  }

  cancel(code: ErrorCode = 'ERR_CANCELLED') {
    if (!this.active) return;
    if (this.wire?.open) this.wire.send(encodeControl({ type: 'cancel', transferId: this.transferId, code }));
    this.state = 'cancelled';
    this.poke();
  }

  private fail(error: TransferError) {
    if (this.wire?.open) this.wire.send(encodeControl({ type: 'error', transferId: this.transferId, code: error.code, message: error.message.slice(0, 300) }));
    this.state = 'failed';
    this.events.onFailure?.(error);
    this.poke();
  }

  private poke() {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private async run() {
    if (this.running) return;
    this.running = true;
    try {
      while (this.state === 'sending' && this.wire?.open) {
        const wire = this.wire;
        const generation = this.generation;
        // several chunks per frame when both ends take larger messages (and a chunk fits the frame payload)
        const perFrame = this.chunkSize <= this.framePayload ? chunksPerFrame(this.peerMaxFrame, wire.maxMessageSize, this.chunkSize) : 1;
        const run = this.schedule.takeRun(perFrame);
        if (run === null) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          continue;
        }
        const bulk = wire.bulk;
        const onBulk = bulk && sendsOnBulk({ asked: this.peerBulk, open: bulk.open, offered: Boolean(this.source.offerSha256), chunkSize: this.chunkSize, framePayload: this.framePayload });
        if (onBulk) await this.sendOnBulk(bulk, run, generation);
        else if (!(await this.sendOnWire(wire, run, generation))) return;
        this.lastActivity = Date.now();
      }
    } catch {
      // a send on a channel that just closed: the receiver's next `want` resumes
      if (this.state === 'sending') this.state = 'idle';
    } finally {
      this.running = false;
    }
  }

  /** The first chunk of a run the debug hook damages, or -1. */
  private damaged(first: number, count: number): number {
    for (let index = first; index < first + count; index++) if (this.damage?.(index)) return index;
    return -1;
  }

  /** Reads a run's chunks here and sends them on the wire; false when a chunk could not be read (the session failed). */
  private async sendOnWire(wire: Wire, run: { first: number; count: number }, generation: number): Promise<boolean> {
    const chunks: Uint8Array[] = [];
    for (let index = run.first; index < run.first + run.count; index++) {
      let bytes: Uint8Array;
      try {
        bytes = await this.source.readChunk(index);
      } catch (error) {
        this.fail(new TransferError('ERR_STORAGE', `Could not read chunk ${index}: ${String(error)}`));
        return false;
      }
      if (this.damaged(index, 1) === index) {
        bytes = bytes.slice(); // never damage the source's cached block
        bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      }
      chunks.push(bytes);
    }
    // a run frame is built in one scratch buffer, reused for every frame (the wire copies what it sends)
    if (chunks.length > 1) this.scratch ??= new Uint8Array(MAX_RUN_FRAME);
    const frames = chunks.length === 1 ? encodeChunkFrames(this.key, run.first, chunks[0]!, this.framePayload) : [encodeRunFrame(this.key, run.first, chunks, this.scratch ?? undefined)];
    for (const frame of frames) {
      while (!canSend(wire.bufferedAmount, frame.byteLength, wire.window) && wire.open && generation === this.generation) await wire.drained();
      if (generation !== this.generation || !wire.open || this.state !== 'sending') break;
      wire.send(frame);
    }
    for (const bytes of chunks) this.bytesSent += bytes.length;
    return true;
  }

  /** Asks the storage worker to read a run and send it on the bulk channel, under the channel's window of runs. */
  private async sendOnBulk(bulk: BulkSender, run: { first: number; count: number }, generation: number) {
    const span = { first: run.first, count: run.count, sizeBytes: this.sizeBytes, chunkSize: this.chunkSize };
    const { length } = runSpan(span);
    while (!bulk.canSend(length) && bulk.open && generation === this.generation) await bulk.drained();
    if (generation !== this.generation || !bulk.open || this.state !== 'sending') return;
    const damage = this.damaged(run.first, run.count);
    bulk.sendRun({ ...span, key: this.key, sha256: this.source.offerSha256!, damage }).catch((error: unknown) => {
      if (generation === this.generation && this.state === 'sending') this.fail(new TransferError('ERR_STORAGE', `Could not read chunks ${run.first}…${run.first + run.count - 1}: ${String(error)}`));
    });
    this.bytesSent += length;
    this.bytesOnBulk += length;
  }
}
