/**
 * The peer-to-peer transfer protocol on one WebRTC data channel (objectMode), and its pure rules.
 *
 * Control messages are JSON strings, a discriminated union on `type` validated on arrival.
 * Chunk payloads are binary frames: a 16-byte header (magic, version, kind, transfer key, chunk
 * index, byte offset in the chunk) followed by the bytes; a chunk larger than MAX_FRAME_PAYLOAD
 * travels as several frames. The transfer key is a 32-bit hash of the transfer id, so
 * several transfers can share one connection. A receiver that names the largest message it takes
 * in its `want` (`maxFrame`) may get run frames instead: the same header with kind 2 and, in place
 * of the offset, how many consecutive whole chunks follow back to back (three 64 KiB chunks in one
 * 192 KiB message under Chromium's 256 KiB limit): fewer messages, and one write and one transfer
 * to the storage worker for several chunks. A sender that does not know run frames ignores
 * `maxFrame`; a receiver that does not name it gets one chunk per frame. A receiver whose connection has a bulk
 * channel (bulk-frames.ts) says so in its `want`, and a sender that has one too sends its run frames there instead.
 *
 *   receiver → sender  want { transferId, from, maxFrame?, bulk? }   start (or restart) at chunk `from` (the watermark)
 *   sender → receiver  frames                       chunk by chunk, `bufferedAmount` capped
 *   receiver → sender  ack { transferId, upTo }     every ACK_EVERY verified chunks: the watermark
 *   receiver → sender  resend { transferId, index } a chunk failed its hash: it is sent again
 *   receiver → sender  complete { transferId, sha256 } the whole file matched
 *   either             cancel / error { code }      a stable ERR_* code
 *   sender → receiver  gift { itemId, … }           "send to nearby": the receiver may request it
 *
 * The sender never runs more than WINDOW_CHUNKS ahead of the last acknowledged watermark, which
 * bounds what the receiver holds in memory while its disk catches up.
 */
import { z } from 'zod';
import { DEFAULT_WINDOW } from './window';

export const PROTOCOL_VERSION = 1;

export const ERROR_CODES = [
  'ERR_BAD_CHUNK', // a chunk failed its hash too many times
  'ERR_NOT_FOUND', // the sender does not have the file, or does not know the transfer
  'ERR_FORBIDDEN', // the transfer is not between these two devices
  'ERR_CANCELLED', // one side cancelled
  'ERR_PROTOCOL', // a malformed or unexpected message or frame
  'ERR_HASH_MISMATCH', // every chunk matched but the whole file did not
  'ERR_STORAGE', // the file could not be read or written (quota, permissions)
  'ERR_CONNECTION', // the peer connection failed or could not be made
  'ERR_TIMEOUT', // no progress for too long
  'ERR_BUSY', // the sender has too many transfers running; retry later
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];
export const errorCodeSchema = z.enum(ERROR_CODES);

/** An Error carrying a stable code, thrown and reported across the transfer code. */
export class TransferError extends Error {
  override name = 'TransferError';
  constructor(
    readonly code: ErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}

const id = z.string().min(1).max(64);
const index = z.number().int().min(0).max(0xffff_ffff);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

export const controlMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('want'),
    transferId: id,
    from: index,
    maxFrame: z.number().int().min(0).max(16 * 1024 * 1024).optional(),
    /** the receiver takes run frames on the connection's bulk channel too (bulk.ts) */
    bulk: z.boolean().optional(),
  }),
  z.object({ type: z.literal('ack'), transferId: id, upTo: index }),
  z.object({ type: z.literal('resend'), transferId: id, index, code: z.literal('ERR_BAD_CHUNK') }),
  z.object({ type: z.literal('complete'), transferId: id, sha256: hex64 }),
  z.object({ type: z.literal('cancel'), transferId: id, code: errorCodeSchema }),
  z.object({ type: z.literal('error'), transferId: id.nullable(), code: errorCodeSchema, message: z.string().max(300) }),
  z.object({
    type: z.literal('gift'),
    itemId: id,
    title: z.string().min(1).max(200),
    sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
]);
export type ControlMessage = z.infer<typeof controlMessageSchema>;

/** Longer strings are refused before JSON.parse. */
export const MAX_CONTROL_LENGTH = 2048;

export type Parsed<T> = { ok: true; value: T } | { ok: false; code: 'ERR_PROTOCOL'; reason: string };

export function encodeControl(message: ControlMessage): string {
  return JSON.stringify(controlMessageSchema.parse(message));
}

export function parseControl(text: string): Parsed<ControlMessage> {
  if (text.length > MAX_CONTROL_LENGTH) return { ok: false, code: 'ERR_PROTOCOL', reason: 'control message too long' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, code: 'ERR_PROTOCOL', reason: 'not JSON' };
  }
  const result = controlMessageSchema.safeParse(json);
  if (!result.success) return { ok: false, code: 'ERR_PROTOCOL', reason: result.error.issues[0]?.message ?? 'invalid message' };
  return { ok: true, value: result.data };
}

// ---- binary frames -------------------------------------------------------------------------

const MAGIC = 0x534d; // "SM"
const KIND_CHUNK = 1;
export const FRAME_HEADER_BYTES = 16;
/**
 * Most payload bytes in one frame. A chunk larger than this (a manifest may use chunks up to
 * 4 MiB) travels as several frames, each naming its byte offset in the chunk; 64 KiB frames stay
 * under every browser's data-channel message limit.
 */
export const MAX_FRAME_PAYLOAD = 64 * 1024;

const KIND_RUN = 2;
/**
 * The largest message a receiver of this version takes, named in its `want`: Chromium's data-channel
 * limit (the `a=max-message-size:262144` of its SDP). The sender also keeps under the limit its own
 * connection reports (`Wire.maxMessageSize`).
 */
export const MAX_RUN_FRAME = 256 * 1024;
/** Most chunks in one run frame. */
export const MAX_RUN_CHUNKS = 16;

/**
 * One frame: `payload` holds the chunk's bytes from `offset` on; or, when `run` is set (a run frame),
 * `run` whole consecutive chunks from chunk `index` on, back to back (`offset` is 0).
 */
export type ChunkFrame = { key: number; index: number; offset: number; payload: Uint8Array; run?: number };

/** 32-bit FNV-1a of the transfer id: names the transfer in each binary frame. */
export function transferKey(transferId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < transferId.length; i++) {
    hash ^= transferId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A frame: header + payload, in one new buffer (the payload is copied once). */
export function encodeChunkFrame(key: number, chunkIndex: number, payload: Uint8Array, offset = 0): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  writeHeader(frame, KIND_CHUNK, key, chunkIndex, offset);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** The frames that carry one chunk, in order. */
export function encodeChunkFrames(key: number, chunkIndex: number, chunk: Uint8Array, maxPayload = MAX_FRAME_PAYLOAD): Uint8Array[] {
  if (chunk.length <= maxPayload) return [encodeChunkFrame(key, chunkIndex, chunk, 0)];
  const frames: Uint8Array[] = [];
  for (let at = 0; at < chunk.length; at += maxPayload) frames.push(encodeChunkFrame(key, chunkIndex, chunk.subarray(at, at + maxPayload), at));
  return frames;
}

/**
 * How many chunks of `chunkSize` bytes the sender puts in one frame, given the largest message the
 * receiver takes (`maxFrame` from its `want`, 0 when it named none) and the largest its own connection
 * may send (0 when unknown): 1 means one chunk per frame (the frames of protocol version 1 alone).
 */
export function chunksPerFrame(maxFrame: number | undefined, channelLimit: number | undefined, chunkSize: number): number {
  const limit = Math.min(maxFrame ?? 0, channelLimit ?? 0, MAX_RUN_FRAME);
  if (!Number.isFinite(limit) || !(chunkSize > 0)) return 1;
  return Math.max(1, Math.min(MAX_RUN_CHUNKS, Math.floor((limit - FRAME_HEADER_BYTES) / chunkSize)));
}

/** Writes a run frame's header (`count` chunks from `firstIndex` on follow it) at the start of `frame`. */
export function writeRunHeader(frame: Uint8Array, key: number, firstIndex: number, count: number) {
  writeHeader(frame, KIND_RUN, key, firstIndex, count);
}

/** A frame's 16-byte header: magic, version, kind, the transfer's key, a chunk index and a kind's own number (offset or count). */
function writeHeader(frame: Uint8Array, kind: number, key: number, index: number, extra: number) {
  const view = new DataView(frame.buffer, frame.byteOffset, FRAME_HEADER_BYTES);
  view.setUint16(0, MAGIC);
  view.setUint8(2, PROTOCOL_VERSION);
  view.setUint8(3, kind);
  view.setUint32(4, key >>> 0);
  view.setUint32(8, index >>> 0);
  view.setUint32(12, extra >>> 0);
}

/**
 * A run frame: header + the chunks back to back (each chunk copied once), in a new buffer, or at the start of
 * `into` when it is large enough (a sender's scratch buffer: a data channel copies what it is given before
 * `send` returns, so one buffer serves every frame).
 */
export function encodeRunFrame(key: number, firstIndex: number, chunks: readonly Uint8Array[], into?: Uint8Array): Uint8Array {
  let size = FRAME_HEADER_BYTES;
  for (const chunk of chunks) size += chunk.length;
  const frame = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  writeRunHeader(frame, key, firstIndex, chunks.length);
  let at = FRAME_HEADER_BYTES;
  for (const chunk of chunks) {
    frame.set(chunk, at);
    at += chunk.length;
  }
  return frame;
}

/**
 * The chunks of a run frame, each a view on the frame's bytes (no copy), given each chunk's expected
 * length; when the payload is not exactly those chunks back to back, every chunk of the run is bad.
 */
export function splitRun(frame: ChunkFrame, lengthOf: (index: number) => number): AssemblyEvent[] {
  const count = frame.run ?? 0;
  const events: AssemblyEvent[] = [];
  let at = 0;
  for (let k = 0; k < count; k++) {
    const length = lengthOf(frame.index + k);
    events.push({ kind: 'chunk', index: frame.index + k, bytes: frame.payload.subarray(at, at + length) });
    at += length;
  }
  if (at !== frame.payload.length) return events.map((e) => ({ kind: 'bad', index: e.index }));
  return events;
}

/** Reads a frame's header; the payload is a view on the same bytes (no copy). */
export function parseChunkFrame(bytes: Uint8Array): Parsed<ChunkFrame> {
  if (bytes.byteLength < FRAME_HEADER_BYTES) return { ok: false, code: 'ERR_PROTOCOL', reason: 'frame shorter than its header' };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== MAGIC) return { ok: false, code: 'ERR_PROTOCOL', reason: 'bad frame magic' };
  if (view.getUint8(2) !== PROTOCOL_VERSION) return { ok: false, code: 'ERR_PROTOCOL', reason: 'unsupported frame version' };
  const kind = view.getUint8(3);
  if (kind === KIND_RUN) {
    const run = view.getUint32(12);
    if (run < 1 || run > MAX_RUN_CHUNKS) return { ok: false, code: 'ERR_PROTOCOL', reason: 'bad run length' };
    return { ok: true, value: { key: view.getUint32(4), index: view.getUint32(8), offset: 0, payload: bytes.subarray(FRAME_HEADER_BYTES), run } };
  }
  if (kind !== KIND_CHUNK) return { ok: false, code: 'ERR_PROTOCOL', reason: 'unknown frame kind' };
  return {
    ok: true,
    value: { key: view.getUint32(4), index: view.getUint32(8), offset: view.getUint32(12), payload: bytes.subarray(FRAME_HEADER_BYTES) },
  };
}

export type AssemblyEvent = { kind: 'chunk'; index: number; bytes: Uint8Array } | { kind: 'bad'; index: number };

/**
 * Puts a chunk back together from its frames (they arrive in order on the ordered channel).
 * A chunk that fits one frame passes through without a copy. A part that does not continue the
 * chunk in progress, or overruns its length, makes that chunk bad (the receiver asks for it again).
 */
export class ChunkAssembler {
  private index = -1;
  private buffer: Uint8Array | null = null;
  private filled = 0;

  /** Adds a frame of a chunk that must be `length` bytes long. */
  add(frame: ChunkFrame, length: number): AssemblyEvent[] {
    const events: AssemblyEvent[] = [];
    if (frame.offset === 0) {
      if (this.buffer) events.push({ kind: 'bad', index: this.index });
      this.reset();
      if (frame.payload.length === length) {
        events.push({ kind: 'chunk', index: frame.index, bytes: frame.payload });
        return events;
      }
      if (frame.payload.length > length) {
        events.push({ kind: 'bad', index: frame.index });
        return events;
      }
      this.index = frame.index;
      this.buffer = new Uint8Array(length);
    } else if (!this.buffer || frame.index !== this.index || frame.offset !== this.filled) {
      if (this.buffer) events.push({ kind: 'bad', index: this.index });
      if (!this.buffer || frame.index !== this.index) events.push({ kind: 'bad', index: frame.index });
      this.reset();
      return dedupe(events);
    }
    if (this.filled + frame.payload.length > length) {
      events.push({ kind: 'bad', index: this.index });
      this.reset();
      return events;
    }
    this.buffer.set(frame.payload, this.filled);
    this.filled += frame.payload.length;
    if (this.filled === length) {
      events.push({ kind: 'chunk', index: this.index, bytes: this.buffer });
      this.reset();
    }
    return events;
  }

  /** A frame that is not part of the chunk in progress (a run frame) arrived: that chunk is bad, if one was in progress. */
  interrupt(): AssemblyEvent[] {
    const events: AssemblyEvent[] = this.buffer ? [{ kind: 'bad', index: this.index }] : [];
    this.reset();
    return events;
  }

  reset() {
    this.index = -1;
    this.buffer = null;
    this.filled = 0;
  }
}

function dedupe(events: AssemblyEvent[]): AssemblyEvent[] {
  return events.filter((e, i) => events.findIndex((f) => f.kind === e.kind && f.index === e.index) === i);
}

// ---- flow control --------------------------------------------------------------------------

/** Sender: stop writing above this many buffered bytes (the window, `window.ts`) … */
export const HIGH_WATER_BYTES = DEFAULT_WINDOW.highWater;
/** … and resume when `bufferedamountlow` fires at this level. */
export const LOW_WATER_BYTES = DEFAULT_WINDOW.lowWater;
/** Receiver: acknowledge every this many verified chunks. */
export const ACK_EVERY = 16;
/** Sender: chunks it may send past the last acknowledged watermark. */
export const WINDOW_CHUNKS = 256;
/** Receiver: a chunk that fails its hash this many times fails the transfer (ERR_BAD_CHUNK). */
export const MAX_CHUNK_RETRIES = 5;

// ---- receiver rules (resume bookkeeping) ---------------------------------------------------

export type ChunkDecision =
  /** stored and verified; `ack` when the receiver should acknowledge now, `done` when all are in */
  | { kind: 'accepted'; watermark: number; ack: boolean; done: boolean }
  /** already verified earlier (a restart overlapped): ignore */
  | { kind: 'duplicate' }
  /** failed its hash: discard and ask for it again */
  | { kind: 'resend'; index: number; attempt: number }
  /** give up on the transfer */
  | { kind: 'fail'; code: ErrorCode };

/**
 * What the receiver knows about one transfer: which chunks are verified and on disk, and the
 * watermark (every chunk below it is verified). Only the watermark is persisted, so after a
 * reload the transfer resumes from it; chunks verified above it are simply fetched again.
 */
export class ReceiveTracker {
  readonly count: number;
  private verified: Uint8Array;
  private mark: number;
  private verifiedTotal: number;
  private sinceAck = 0;
  private retries = new Map<number, number>();

  constructor(count: number, watermark = 0) {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`Invalid chunk count ${count}`);
    this.count = count;
    this.mark = Math.max(0, Math.min(count, Math.floor(watermark)));
    this.verified = new Uint8Array(count);
    this.verified.fill(1, 0, this.mark);
    this.verifiedTotal = this.mark;
  }

  get watermark() {
    return this.mark;
  }
  get done() {
    return this.mark === this.count;
  }
  /** Verified chunks (kept as a count: it is read on every chunk). */
  get verifiedCount() {
    return this.verifiedTotal;
  }
  isVerified(chunkIndex: number) {
    return this.verified[chunkIndex] === 1;
  }

  /** A chunk arrived; `valid` is the outcome of its hash check (and of writing it to storage). */
  accept(chunkIndex: number, valid: boolean): ChunkDecision {
    if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.count) return { kind: 'fail', code: 'ERR_PROTOCOL' };
    if (this.verified[chunkIndex] === 1) return { kind: 'duplicate' };
    if (!valid) {
      const attempt = (this.retries.get(chunkIndex) ?? 0) + 1;
      this.retries.set(chunkIndex, attempt);
      if (attempt > MAX_CHUNK_RETRIES) return { kind: 'fail', code: 'ERR_BAD_CHUNK' };
      return { kind: 'resend', index: chunkIndex, attempt };
    }
    this.verified[chunkIndex] = 1;
    this.verifiedTotal++;
    this.retries.delete(chunkIndex);
    const before = this.mark;
    while (this.mark < this.count && this.verified[this.mark] === 1) this.mark++;
    this.sinceAck += this.mark - before;
    const done = this.mark === this.count;
    const ack = done || this.sinceAck >= ACK_EVERY;
    if (ack) this.sinceAck = 0;
    return { kind: 'accepted', watermark: this.mark, ack, done };
  }

  /**
   * Chunks found bad after the fact (the whole-file hash failed and a re-check of the stored
   * chunks found these): they become unverified and the watermark drops to the first of them.
   */
  invalidate(indexes: Iterable<number>): number {
    for (const i of indexes) {
      if (Number.isInteger(i) && i >= 0 && i < this.count) {
        this.verifiedTotal -= this.verified[i]!;
        this.verified[i] = 0;
        this.mark = Math.min(this.mark, i);
      }
    }
    return this.mark;
  }
}

// ---- sender rules ----------------------------------------------------------------------------

/**
 * Which chunk the sender sends next: a requested resend first, then the next chunk in order as
 * long as it stays within WINDOW_CHUNKS of the receiver's acknowledged watermark.
 */
export class SendSchedule {
  readonly count: number;
  private next: number;
  private acked: number;
  private resends: number[] = [];
  readonly window: number;

  constructor(count: number, from = 0, window = WINDOW_CHUNKS) {
    this.count = count;
    this.window = window;
    this.next = Math.max(0, Math.min(count, from));
    this.acked = this.next;
  }

  get acknowledged() {
    return this.acked;
  }
  get nextInOrder() {
    return this.next;
  }
  /** Everything has been sent once (resends may still come). */
  get allSent() {
    return this.next >= this.count && this.resends.length === 0;
  }

  /** The next chunk to send, or null to wait (window full, or nothing left). */
  take(): number | null {
    return this.takeRun(1)?.first ?? null;
  }

  /**
   * The next chunks to send in one frame: a requested resend alone, else up to `max` consecutive chunks in
   * order within the window; null to wait.
   */
  takeRun(max: number): { first: number; count: number } | null {
    const resend = this.resends.shift();
    if (resend !== undefined) return { first: resend, count: 1 };
    const limit = Math.min(this.count, this.acked + this.window);
    if (this.next >= limit) return null;
    const first = this.next;
    const count = Math.max(1, Math.min(Math.floor(max) || 1, limit - first));
    this.next += count;
    return { first, count };
  }

  /** The receiver's watermark: never goes backwards here (a restart uses `restart`). */
  ack(upTo: number) {
    if (Number.isInteger(upTo)) this.acked = Math.max(this.acked, Math.min(this.count, upTo));
  }

  /** A corrupt chunk the receiver wants again; false when the index makes no sense. */
  resend(chunkIndex: number): boolean {
    if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex >= this.count || chunkIndex >= this.next) return false;
    if (!this.resends.includes(chunkIndex)) this.resends.push(chunkIndex);
    return true;
  }

  /** A new `want` (after a reconnect): start over from the receiver's watermark. */
  restart(from: number) {
    this.next = Math.max(0, Math.min(this.count, from));
    this.acked = this.next;
    this.resends = [];
  }
}

// ---- progress --------------------------------------------------------------------------------

/**
 * Speed over a sliding window of samples (bytes done at a time), and the time left at that
 * speed. Pure: the caller passes the clock.
 */
export class RateMeter {
  private samples: { at: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5_000) {}

  add(at: number, bytes: number) {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > this.windowMs) this.samples.shift();
  }
  reset() {
    this.samples = [];
  }
  /** bytes per second, 0 until two samples exist */
  get bytesPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return 0;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.at - first.at));
  }
  /** seconds left for `total` bytes, null when the speed is unknown */
  secondsLeft(total: number): number | null {
    const last = this.samples[this.samples.length - 1];
    const speed = this.bytesPerSecond;
    if (!last || speed <= 0) return null;
    return Math.max(0, (total - last.bytes) / speed);
  }
}
