import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildManifest, type Manifest } from '@/app/_lib/transfer/chunks';
import {
  ACK_EVERY,
  ChunkAssembler,
  encodeChunkFrames,
  encodeRunFrame,
  LOW_WATER_BYTES,
  MAX_CHUNK_RETRIES,
  MAX_RUN_FRAME,
  parseChunkFrame,
  parseControl,
  RateMeter,
  ReceiveTracker,
  SendSchedule,
  type ControlMessage,
  type ErrorCode,
} from '@/app/_lib/transfer/protocol';
import { ReceiveSession, SendSession, type Wire } from '@/app/_lib/transfer/session';
import { MemoryChunkStore } from '@/app/_lib/transfer/storage';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function bytesOf(length: number, seed = 1): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('ReceiveTracker: the watermark', () => {
  it('advances over the verified prefix only, whatever the arrival order', () => {
    const t = new ReceiveTracker(5);
    expect(t.accept(1, true)).toMatchObject({ kind: 'accepted', watermark: 0 });
    expect(t.accept(2, true)).toMatchObject({ kind: 'accepted', watermark: 0 });
    expect(t.accept(0, true)).toMatchObject({ kind: 'accepted', watermark: 3 });
    expect(t.accept(4, true)).toMatchObject({ kind: 'accepted', watermark: 3, done: false });
    expect(t.accept(3, true)).toMatchObject({ kind: 'accepted', watermark: 5, done: true, ack: true });
  });

  it('asks again for a corrupt chunk, up to the retry limit, then fails with ERR_BAD_CHUNK', () => {
    const t = new ReceiveTracker(3);
    for (let attempt = 1; attempt <= MAX_CHUNK_RETRIES; attempt++) expect(t.accept(1, false)).toEqual({ kind: 'resend', index: 1, attempt });
    expect(t.accept(1, false)).toEqual({ kind: 'fail', code: 'ERR_BAD_CHUNK' });
  });

  it('forgets the failures of a chunk once it verified', () => {
    const t = new ReceiveTracker(2);
    for (let i = 0; i < MAX_CHUNK_RETRIES; i++) t.accept(0, false);
    expect(t.accept(0, true).kind).toBe('accepted');
    expect(t.accept(0, true)).toEqual({ kind: 'duplicate' });
  });

  it('ignores chunks below a resumed watermark, and refuses indexes outside the file', () => {
    const t = new ReceiveTracker(10, 4);
    expect(t.watermark).toBe(4);
    expect(t.verifiedCount).toBe(4);
    expect(t.accept(2, true)).toEqual({ kind: 'duplicate' });
    expect(t.accept(10, true)).toEqual({ kind: 'fail', code: 'ERR_PROTOCOL' });
    expect(t.accept(-1, true)).toEqual({ kind: 'fail', code: 'ERR_PROTOCOL' });
    expect(new ReceiveTracker(10, 99).watermark).toBe(10);
  });

  it('acknowledges every ACK_EVERY chunks of watermark progress, and at the end', () => {
    const t = new ReceiveTracker(ACK_EVERY * 2 + 3);
    const acks: number[] = [];
    for (let i = 0; i < t.count; i++) {
      const d = t.accept(i, true);
      if (d.kind === 'accepted' && d.ack) acks.push(d.watermark);
    }
    expect(acks).toEqual([ACK_EVERY, ACK_EVERY * 2, ACK_EVERY * 2 + 3]);
  });

  it('drops the watermark to the first chunk found bad on disk', () => {
    const t = new ReceiveTracker(8);
    for (let i = 0; i < 8; i++) t.accept(i, true);
    expect(t.invalidate([5, 2])).toBe(2);
    expect(t.done).toBe(false);
    expect(t.accept(2, true)).toMatchObject({ watermark: 5 });
    expect(t.accept(5, true)).toMatchObject({ watermark: 8, done: true });
  });

  it('property: the watermark is always the length of the verified prefix', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 200 }), (count, arrivals) => {
        const t = new ReceiveTracker(count);
        const ok = new Set<number>();
        for (const [raw, valid] of arrivals) {
          const i = raw % count;
          const d = t.accept(i, valid);
          if (d.kind === 'accepted') ok.add(i);
          let prefix = 0;
          while (ok.has(prefix)) prefix++;
          expect(t.watermark).toBe(prefix);
        }
      }),
    );
  });
});

describe('SendSchedule', () => {
  it('sends resends first, then in order, within the window past the ack', () => {
    const s = new SendSchedule(10, 0, 3);
    expect([s.take(), s.take(), s.take(), s.take()]).toEqual([0, 1, 2, null]);
    s.ack(2);
    expect(s.resend(1)).toBe(true);
    expect([s.take(), s.take(), s.take(), s.take()]).toEqual([1, 3, 4, null]);
    expect(s.resend(9)).toBe(false); // not sent yet
    s.restart(7);
    expect([s.take(), s.take(), s.take(), s.take()]).toEqual([7, 8, 9, null]);
    expect(s.allSent).toBe(true);
  });

  it('never moves the ack backwards and never past the end', () => {
    const s = new SendSchedule(5, 0, 100);
    s.ack(3);
    s.ack(1);
    expect(s.acknowledged).toBe(3);
    s.ack(50);
    expect(s.acknowledged).toBe(5);
  });
});

describe('ChunkAssembler', () => {
  it('passes a one-frame chunk through and joins a multi-frame chunk', () => {
    const a = new ChunkAssembler();
    const small = bytesOf(100);
    const [one] = encodeChunkFrames(1, 0, small, 100).map((f) => parseChunkFrame(f));
    expect(one?.ok && a.add(one.value, 100)).toEqual([{ kind: 'chunk', index: 0, bytes: expect.any(Uint8Array) }]);
    const frames = encodeChunkFrames(1, 3, small, 64).map((f) => (parseChunkFrame(f) as { ok: true; value: Parameters<ChunkAssembler['add']>[0] }).value);
    expect(frames).toHaveLength(2);
    expect(a.add(frames[0]!, 100)).toEqual([]);
    const [done] = a.add(frames[1]!, 100);
    expect(done).toMatchObject({ kind: 'chunk', index: 3 });
    expect(done?.kind === 'chunk' && sha(done.bytes)).toBe(sha(small));
  });

  it('marks a chunk bad when its parts do not follow each other', () => {
    const a = new ChunkAssembler();
    const f = (index: number, offset: number, n: number) => ({ key: 1, index, offset, payload: new Uint8Array(n) });
    expect(a.add(f(2, 0, 10), 30)).toEqual([]);
    expect(a.add(f(2, 20, 10), 30)).toEqual([{ kind: 'bad', index: 2 }]);
    expect(a.add(f(4, 0, 10), 30)).toEqual([]);
    expect(a.add(f(5, 0, 30), 30)).toEqual([{ kind: 'bad', index: 4 }, expect.objectContaining({ kind: 'chunk', index: 5 })]);
    expect(a.add(f(6, 0, 31), 30)).toEqual([{ kind: 'bad', index: 6 }]);
  });
});

describe('RateMeter', () => {
  it('measures speed over its window and the time left', () => {
    const m = new RateMeter(5_000);
    expect(m.bytesPerSecond).toBe(0);
    expect(m.secondsLeft(100)).toBeNull();
    m.add(0, 0);
    m.add(1_000, 1_000_000);
    m.add(2_000, 2_000_000);
    expect(m.bytesPerSecond).toBe(1_000_000);
    expect(m.secondsLeft(10_000_000)).toBe(8);
    m.add(10_000, 2_000_000); // stalled: old samples fall out of the window
    expect(m.bytesPerSecond).toBeLessThan(300_000);
  });
});

// ---- whole transfers over an in-memory channel ----------------------------------------------

type End = Omit<Wire, 'open'> & { open: boolean; close(): void; onData: ((data: string | Uint8Array) => void) | null; framesSent: number };

/** Two connected wire ends; delivery is asynchronous and `bufferedAmount` counts undelivered bytes. */
function pipe(maxMessageSize = 0): [End, End] {
  const make = (): End => {
    let buffered = 0;
    let waiters: (() => void)[] = [];
    const end: End = {
      open: true,
      maxMessageSize,
      onData: null,
      framesSent: 0,
      get bufferedAmount() {
        return buffered;
      },
      send(data) {
        if (!end.open) throw new Error('closed');
        const size = typeof data === 'string' ? data.length : data.byteLength;
        buffered += size;
        if (typeof data !== 'string') end.framesSent++;
        const copy = typeof data === 'string' ? data : data.slice();
        setTimeout(() => {
          buffered -= size;
          if (buffered <= LOW_WATER_BYTES) {
            const w = waiters;
            waiters = [];
            w.forEach((f) => f());
          }
          if (end.open && other(end).open) other(end).onData?.(copy);
        }, 0);
      },
      drained() {
        return buffered <= LOW_WATER_BYTES || !end.open ? Promise.resolve() : new Promise((r) => waiters.push(r));
      },
      close() {
        a.open = false;
        b.open = false;
        for (const f of waiters) f();
        waiters = [];
      },
    };
    return end;
  };
  const a = make();
  const b = make();
  const other = (e: End) => (e === a ? b : a);
  return [a, b];
}

/** Routes what arrives on a wire end to a session, as the manager does. */
function route(end: End, session: ReceiveSession | SendSession, log: ControlMessage[] = []) {
  end.onData = (data) => {
    if (typeof data === 'string') {
      const parsed = parseControl(data);
      if (!parsed.ok) throw new Error(parsed.reason);
      log.push(parsed.value);
      session.handleControl(parsed.value);
    } else if (session instanceof ReceiveSession) {
      const frame = parseChunkFrame(data);
      if (frame.ok && frame.value.key === session.key) session.handleFrame(frame.value);
    }
  };
}

type Outcome = { ok: true } | { ok: false; code: ErrorCode };

function run(manifest: Manifest, sender: SendSession, receiver: ReceiveSession, wires = pipe()) {
  const toSender: ControlMessage[] = [];
  const [r, s] = wires;
  route(s, sender, toSender);
  route(r, receiver);
  sender.attach(s);
  receiver.attach(r);
  return { wires, toSender };
}

function sessions(manifest: Manifest, file: Uint8Array, options: { watermark?: number; sink?: MemoryChunkStore } = {}) {
  const source = new MemoryChunkStore(manifest, file);
  const sink = options.sink ?? new MemoryChunkStore(manifest);
  let settle!: (o: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => (settle = resolve));
  const bad: number[] = [];
  const receiver = new ReceiveSession({
    transferId: 'transfer-1',
    manifest,
    watermark: options.watermark ?? 0,
    sink,
    events: { onComplete: () => settle({ ok: true }), onFailure: (e) => settle({ ok: false, code: e.code }), onBadChunk: (i) => bad.push(i) },
  });
  const sender = new SendSession({ transferId: 'transfer-1', sizeBytes: manifest.sizeBytes, chunkSize: manifest.chunkSize, source });
  return { source, sink, receiver, sender, outcome, bad };
}

describe('a transfer between two sessions', () => {
  it('copies the file, verified, and the sender hears it completed', async () => {
    const file = bytesOf(40 * 16_384 + 777, 11);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    let senderDone = false;
    t.sender['events'].onComplete = () => (senderDone = true);
    run(manifest, t.sender, t.receiver);
    expect(await t.outcome).toEqual({ ok: true });
    expect(sha(t.sink.bytes)).toBe(sha(file));
    expect(t.sink.watermark).toBe(manifest.chunkHashes.length);
    await new Promise((r) => setTimeout(r, 10));
    expect(senderDone).toBe(true);
    expect(t.sender.state).toBe('done');
    expect(t.receiver.bytesDone).toBe(file.length);
  });

  it('detects a chunk corrupted on the way, fetches it again and completes', async () => {
    const file = bytesOf(30 * 16_384, 12);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    let flipped = false;
    t.sender.damage = (index) => {
      if (index !== 7 || flipped) return false;
      flipped = true;
      return true;
    };
    const { toSender } = run(manifest, t.sender, t.receiver);
    expect(await t.outcome).toEqual({ ok: true });
    expect(t.bad).toEqual([7]);
    expect(toSender).toContainEqual({ type: 'resend', transferId: 'transfer-1', index: 7, code: 'ERR_BAD_CHUNK' });
    expect(sha(t.sink.bytes)).toBe(sha(file));
  });

  it('gives up with ERR_BAD_CHUNK on a chunk that is always corrupt', async () => {
    const file = bytesOf(10 * 16_384, 13);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    t.sender.damage = (index) => index === 3;
    run(manifest, t.sender, t.receiver);
    expect(await t.outcome).toEqual({ ok: false, code: 'ERR_BAD_CHUNK' });
    await new Promise((r) => setTimeout(r, 10));
    expect(t.sender.state).toBe('failed'); // told with a cancel carrying the code
  });

  it('resumes after the connection drops (and the receiver reloads) from the durable watermark', async () => {
    // larger than the send window (4 MiB buffered), so the cut comes mid-file
    const chunks = 600;
    const file = bytesOf(chunks * 16_384, 14);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const sink = new MemoryChunkStore(manifest);
    const first = sessions(manifest, file, { sink });
    const { wires } = run(manifest, first.sender, first.receiver);
    // cut the connection once some progress is durable
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (first.receiver.watermark >= 60) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    wires[0].close();
    first.receiver.detach();
    first.sender.detach();
    await first.receiver.settled();
    const durable = sink.watermark;
    expect(durable).toBeGreaterThanOrEqual(60);
    expect(durable).toBeLessThan(chunks);

    // "reload": a new receiving session from the recorded watermark, on a new connection
    const second = sessions(manifest, file, { sink, watermark: durable });
    const { toSender, wires: again } = run(manifest, first.sender, second.receiver);
    expect(await second.outcome).toEqual({ ok: true });
    expect(toSender[0]).toEqual({ type: 'want', transferId: 'transfer-1', from: durable, maxFrame: MAX_RUN_FRAME });
    expect(sha(sink.bytes)).toBe(sha(file));
    // only what was missing travelled again (plus at most the in-flight window)
    expect(again[1].framesSent).toBe(chunks - durable);
  });

  it('fails with ERR_HASH_MISMATCH when the chunks match but the file hash does not', async () => {
    const file = bytesOf(5 * 16_384, 15);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const lying = { ...manifest, sha256: 'f'.repeat(64) };
    const t = sessions(lying, file);
    run(lying, t.sender, t.receiver);
    expect(await t.outcome).toEqual({ ok: false, code: 'ERR_HASH_MISMATCH' });
  });

  it('re-fetches a chunk that was damaged on disk after it verified', async () => {
    const file = bytesOf(20 * 16_384, 16);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const sink = new MemoryChunkStore(manifest);
    const put = sink.put.bind(sink);
    let damaged = false;
    sink.put = async (index, bytes, hex) => {
      const ok = await put(index, bytes, hex);
      if (ok && index === 4 && !damaged) {
        damaged = true;
        sink.bytes[4 * 16_384 + 9]! ^= 0x40; // bit rot after the write
      }
      return ok;
    };
    const t = sessions(manifest, file, { sink });
    const { toSender } = run(manifest, t.sender, t.receiver);
    expect(await t.outcome).toEqual({ ok: true });
    expect(toSender.filter((m) => m.type === 'want').map((m) => m.type === 'want' && m.from)).toEqual([0, 4]);
    expect(sha(sink.bytes)).toBe(sha(file));
  });

  it('carries chunks larger than one frame', async () => {
    const file = bytesOf(3 * 256 * 1024 + 5, 17);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 256 * 1024 });
    const t = sessions(manifest, file);
    const { wires } = run(manifest, t.sender, t.receiver);
    expect(await t.outcome).toEqual({ ok: true });
    expect(wires[1].framesSent).toBe(13); // 4 + 4 + 4 + 1
    expect(sha(t.sink.bytes)).toBe(sha(file));
  });

  it('a receiver cancel reaches the sender with ERR_CANCELLED', async () => {
    const file = bytesOf(400 * 16_384, 18);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    let code: string | null = null;
    t.sender['events'].onFailure = (e) => (code = e.code);
    run(manifest, t.sender, t.receiver);
    await new Promise((r) => setTimeout(r, 5));
    t.receiver.cancel();
    await new Promise((r) => setTimeout(r, 20));
    expect(code).toBe('ERR_CANCELLED');
    expect(t.sender.state).toBe('cancelled');
    expect(t.receiver.state).toBe('cancelled');
  });

  it('property: corruption and a drop at random points still end with the right file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.array(fc.nat({ max: 39 }), { maxLength: 4 }), fc.integer({ min: 0, max: 60 }), async (chunks, corrupt, dropAfter) => {
        const file = bytesOf(chunks * 16_384 - 3, chunks);
        const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
        const sink = new MemoryChunkStore(manifest);
        const first = sessions(manifest, file, { sink });
        const pending = new Set(corrupt.filter((i) => i < chunks));
        const damage = (index: number) => pending.delete(index);
        first.sender.damage = damage;
        const { wires } = run(manifest, first.sender, first.receiver);
        let sent = 0;
        const originalSend = wires[1].send.bind(wires[1]);
        wires[1].send = (data) => {
          if (typeof data !== 'string' && ++sent === dropAfter) {
            wires[0].close();
            first.receiver.detach();
            first.sender.detach();
            return;
          }
          originalSend(data);
        };
        const firstOutcome = await Promise.race([first.outcome, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
        if (firstOutcome) {
          expect(firstOutcome).toEqual({ ok: true });
        } else {
          await first.receiver.settled();
          const second = sessions(manifest, file, { sink, watermark: sink.watermark });
          second.sender.damage = damage;
          run(manifest, second.sender, second.receiver);
          expect(await second.outcome).toEqual({ ok: true });
        }
        expect(sha(sink.bytes)).toBe(sha(file));
      }),
      { numRuns: 25 },
    );
  });
});

describe('run frames: several chunks per message when both ends take them', () => {
  const CHROMIUM_LIMIT = 256 * 1024;

  it('copies the file in fewer messages, verified', async () => {
    const file = bytesOf(40 * 16_384 + 777, 21); // 41 chunks
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    const { wires, toSender } = run(manifest, t.sender, t.receiver, pipe(CHROMIUM_LIMIT));
    expect(await t.outcome).toEqual({ ok: true });
    expect(toSender[0]).toMatchObject({ type: 'want', from: 0, maxFrame: MAX_RUN_FRAME });
    expect(wires[1].framesSent).toBe(3); // 15 + 15 + 11 chunks (15 × 16 KiB + header < 256 KiB)
    expect(sha(t.sink.bytes)).toBe(sha(file));
    expect(t.receiver.bytesDone).toBe(file.length);
  });

  it('keeps one chunk per frame for a receiver that names no frame size (an older version)', async () => {
    const file = bytesOf(12 * 16_384, 22);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    const wires = pipe(CHROMIUM_LIMIT);
    const receiverSend = wires[0].send.bind(wires[0]);
    wires[0].send = (data) => {
      if (typeof data === 'string' && data.includes('"want"')) {
        const { maxFrame: _dropped, ...old } = JSON.parse(data) as Record<string, unknown>;
        return receiverSend(JSON.stringify(old));
      }
      receiverSend(data);
    };
    run(manifest, t.sender, t.receiver, wires);
    expect(await t.outcome).toEqual({ ok: true });
    expect(wires[1].framesSent).toBe(12);
    expect(sha(t.sink.bytes)).toBe(sha(file));
  });

  it('keeps one chunk per frame on a connection whose message limit is unknown', async () => {
    const file = bytesOf(6 * 16_384, 23);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    const { wires } = run(manifest, t.sender, t.receiver, pipe(0));
    expect(await t.outcome).toEqual({ ok: true });
    expect(wires[1].framesSent).toBe(6);
  });

  it('fetches a chunk corrupted inside a run again, alone', async () => {
    const file = bytesOf(30 * 16_384, 24);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    let flipped = false;
    t.sender.damage = (index) => {
      if (index !== 17 || flipped) return false;
      flipped = true;
      return true;
    };
    const { toSender, wires } = run(manifest, t.sender, t.receiver, pipe(CHROMIUM_LIMIT));
    expect(await t.outcome).toEqual({ ok: true });
    expect(t.bad).toEqual([17]);
    expect(toSender).toContainEqual({ type: 'resend', transferId: 'transfer-1', index: 17, code: 'ERR_BAD_CHUNK' });
    expect(wires[1].framesSent).toBe(3); // 15 + 15, then chunk 17 alone
    expect(sha(t.sink.bytes)).toBe(sha(file));
  });

  it('a run frame shorter or longer than its chunks makes each of them bad, and they are fetched again', async () => {
    const file = bytesOf(4 * 16_384, 25);
    const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
    const t = sessions(manifest, file);
    const [r, s] = pipe(CHROMIUM_LIMIT);
    const toSender: ControlMessage[] = [];
    s.onData = (data) => typeof data === 'string' && toSender.push((parseControl(data) as { ok: true; value: ControlMessage }).value);
    t.receiver.attach(r);
    const chunks = [0, 1, 2].map((i) => file.subarray(i * 16_384, (i + 1) * 16_384));
    const frame = encodeRunFrame(t.receiver.key, 0, chunks);
    for (const cut of [frame.subarray(0, frame.length - 1), new Uint8Array([...frame, 7])]) {
      const parsed = parseChunkFrame(cut.slice());
      expect(parsed.ok && parsed.value.run).toBe(3);
      if (parsed.ok) t.receiver.handleFrame(parsed.value);
    }
    await t.receiver.settled();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(t.bad).toEqual([0, 1, 2, 0, 1, 2]);
    expect(t.receiver.watermark).toBe(0);
    // the right frame afterwards is taken
    const good = parseChunkFrame(frame.slice());
    if (good.ok) t.receiver.handleFrame(good.value);
    await t.receiver.settled();
    expect(t.receiver.watermark).toBe(3);
    expect(toSender.filter((m) => m.type === 'resend')).toHaveLength(6);
  });

  it('a run frame in the middle of a chunk sent in parts makes that chunk bad', () => {
    const a = new ChunkAssembler();
    expect(a.add({ key: 1, index: 2, offset: 0, payload: new Uint8Array(10) }, 30)).toEqual([]);
    expect(a.interrupt()).toEqual([{ kind: 'bad', index: 2 }]);
    expect(a.interrupt()).toEqual([]);
  });

  it('property: corruption and a drop at random points still end with the right file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 50 }), fc.array(fc.nat({ max: 49 }), { maxLength: 4 }), fc.integer({ min: 0, max: 12 }), async (chunks, corrupt, dropAfter) => {
        const file = bytesOf(chunks * 16_384 - 5, chunks + 100);
        const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
        const sink = new MemoryChunkStore(manifest);
        const first = sessions(manifest, file, { sink });
        const pending = new Set(corrupt.filter((i) => i < chunks));
        const damage = (index: number) => pending.delete(index);
        first.sender.damage = damage;
        const { wires } = run(manifest, first.sender, first.receiver, pipe(CHROMIUM_LIMIT));
        let sent = 0;
        const originalSend = wires[1].send.bind(wires[1]);
        wires[1].send = (data) => {
          if (typeof data !== 'string' && ++sent === dropAfter) {
            wires[0].close();
            first.receiver.detach();
            first.sender.detach();
            return;
          }
          originalSend(data);
        };
        const firstOutcome = await Promise.race([first.outcome, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
        if (firstOutcome) {
          expect(firstOutcome).toEqual({ ok: true });
        } else {
          await first.receiver.settled();
          const second = sessions(manifest, file, { sink, watermark: sink.watermark });
          second.sender.damage = damage;
          run(manifest, second.sender, second.receiver, pipe(CHROMIUM_LIMIT));
          expect(await second.outcome).toEqual({ ok: true });
        }
        expect(sha(sink.bytes)).toBe(sha(file));
      }),
      { numRuns: 25 },
    );
  });
});
