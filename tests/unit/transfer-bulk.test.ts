import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkView } from '@/app/_lib/transfer/chunk-batch';
import { bulkBatch, damageOffset, runSpan, sendsOnBulk, type BulkRun, type Receipt, type StoredRun } from '@/app/_lib/transfer/bulk-frames';
import { buildManifest, type Manifest } from '@/app/_lib/transfer/chunks';
import { encodeChunkFrame, encodeRunFrame, FRAME_HEADER_BYTES, MAX_RUN_FRAME, parseChunkFrame, parseControl, transferKey, writeRunHeader, type ControlMessage } from '@/app/_lib/transfer/protocol';
import { ReceiveSession, SendSession, type BulkSender, type ChunkSink, type Wire } from '@/app/_lib/transfer/session';
import { MemoryChunkStore } from '@/app/_lib/transfer/storage';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const filled = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('sendsOnBulk: a sender uses the bulk channel only when both ends can', () => {
  const yes = { asked: true, open: true, offered: true, chunkSize: 65_536, framePayload: 65_536 };
  it('when the receiver asked, the channel is open, the worker can read the file and a chunk fits a frame', () => {
    expect(sendsOnBulk(yes)).toBe(true);
  });
  it('not for a receiver that did not ask (an older client, the agent)', () => {
    expect(sendsOnBulk({ ...yes, asked: false })).toBe(false);
  });
  it('not without an open channel, a file the worker reads, or for chunks larger than a frame', () => {
    expect(sendsOnBulk({ ...yes, open: false })).toBe(false);
    expect(sendsOnBulk({ ...yes, offered: false })).toBe(false);
    expect(sendsOnBulk({ ...yes, chunkSize: 131_072 })).toBe(false);
  });
});

describe('runSpan and damageOffset', () => {
  it('a run covers its chunks, the last one short', () => {
    expect(runSpan({ first: 2, count: 3, sizeBytes: 1000, chunkSize: 100 })).toEqual({ offset: 200, length: 300 });
    expect(runSpan({ first: 8, count: 3, sizeBytes: 950, chunkSize: 100 })).toEqual({ offset: 800, length: 150 });
  });
  it('damage flips the middle of its chunk, inside the run only', () => {
    const run = { first: 8, count: 2, sizeBytes: 950, chunkSize: 100 };
    expect(damageOffset({ ...run, damage: 8 })).toBe(50);
    expect(damageOffset({ ...run, damage: 9 })).toBe(125);
    expect(damageOffset({ ...run, damage: 7 })).toBe(-1);
    expect(damageOffset({ ...run, damage: -1 })).toBe(-1);
  });
});

describe('bulkBatch: a run frame from the bulk channel as a batch for the storage worker', () => {
  const receipt: Receipt = { transferId: 't1', sizeBytes: 250, chunkSize: 100, hashes: ['h0', 'h1', 'h2'] };
  const receiptOf = (key: number) => (key === 7 ? receipt : undefined);

  it('each chunk is a view on the frame with its file offset and hash; the last chunk may be short', () => {
    const chunks = [filled(100, 1), filled(50, 2)];
    // the frame at an offset in a larger buffer, as a view
    const framed = encodeRunFrame(7, 1, chunks);
    const outer = new Uint8Array(framed.length + 8);
    outer.set(framed, 8);
    const found = bulkBatch(outer.subarray(8), receiptOf);
    if (!found || 'error' in found || !found.batch) throw new Error('no batch');
    expect(found).toMatchObject({ transferId: 't1', first: 1, count: 2 });
    expect(found.batch.hashes).toEqual(['h1', 'h2']);
    expect(found.batch.buffers[0]).toBe(outer.buffer);
    expect([0, 1].map((i) => Array.from(chunkView(found.batch!, i)))).toEqual(chunks.map((c) => Array.from(c)));
    expect([found.batch.spans[3], found.batch.spans[7]]).toEqual([100, 200]);
  });

  it('a frame of a file not received here is dropped', () => {
    expect(bulkBatch(encodeRunFrame(8, 0, [filled(100, 1)]), receiptOf)).toBeNull();
    expect(bulkBatch(new Uint8Array(5), receiptOf)).toBeNull();
  });

  it('a frame past the end of the file, or not a run frame, is refused', () => {
    expect(bulkBatch(encodeRunFrame(7, 2, [filled(50, 1), filled(50, 1)]), receiptOf)).toMatchObject({ transferId: 't1', error: expect.stringContaining('chunk 3 of 3') });
    expect(bulkBatch(encodeChunkFrame(7, 0, filled(100, 1)), receiptOf)).toMatchObject({ transferId: 't1', error: expect.any(String) });
  });

  it('a payload that is not exactly its chunks makes every chunk of the run bad', () => {
    expect(bulkBatch(encodeRunFrame(7, 0, [filled(100, 1), filled(99, 2)]), receiptOf)).toEqual({ transferId: 't1', first: 0, count: 2, batch: null });
  });
});

// ---- the sessions over a bulk channel, in memory ---------------------------------------------

/**
 * Both storage workers and the bulk channel between them, in memory: `sendRun` reads the run from the sender's
 * file into a frame (as bulk-worker.ts does), the frame goes through `bulkBatch` on the other side, each chunk is
 * checked against its hash and written to the receiver's store, and the receiving sink hears the outcome.
 */
function bulkPair(source: MemoryChunkStore, target: MemoryChunkStore, manifest: Manifest, transferId: string) {
  let listener: ((result: StoredRun) => void) | null = null;
  const receipt: Receipt = { transferId, sizeBytes: manifest.sizeBytes, chunkSize: manifest.chunkSize, hashes: manifest.chunkHashes };
  const runs: BulkRun[] = [];
  let chain = Promise.resolve();
  const channel: BulkSender & { open: boolean } = {
    open: true,
    canSend: () => true,
    drained: () => Promise.resolve(),
    async sendRun(run) {
      runs.push(run);
      const { offset, length } = runSpan(run);
      const frame = new Uint8Array(FRAME_HEADER_BYTES + length);
      writeRunHeader(frame, run.key, run.first, run.count);
      frame.set(source.bytes.subarray(offset, offset + length), FRAME_HEADER_BYTES);
      const damage = damageOffset(run);
      if (damage >= 0) frame[FRAME_HEADER_BYTES + damage]! ^= 0xff;
      chain = chain.then(async () => {
        await new Promise((r) => setTimeout(r, 0));
        if (!channel.open) return;
        const found = bulkBatch(frame, (key) => (key === transferKey(transferId) ? receipt : undefined));
        if (!found) return;
        if ('error' in found) return listener?.({ error: found.error, code: 'ERR_PROTOCOL' });
        const ok = new Uint8Array(found.count);
        for (let k = 0; k < found.count && found.batch; k++) {
          const bytes = chunkView(found.batch, k);
          if (sha(bytes) !== found.batch.hashes[k]) continue;
          target.bytes.set(bytes, found.batch.spans[k * 4 + 3]!);
          ok[k] = 1;
        }
        listener?.({ first: found.first, ok });
      });
    },
  };
  const sink: ChunkSink = {
    put: (i, b, h) => target.put(i, b, h),
    commit: (w) => target.commit(w),
    sha256: () => target.sha256(),
    badChunks: () => target.badChunks(),
    listen: (l) => {
      listener = l;
    },
  };
  return { channel, sink, runs };
}

/** A control-and-page-frames wire pair carrying `bulk` on both ends (the same connection's bulk channel). */
function wires(bulk: BulkSender | null, onFrame: (data: Uint8Array) => void, onControl: { toSender: (m: ControlMessage) => void; toReceiver: (m: ControlMessage) => void }) {
  const end = (deliver: (data: string | Uint8Array) => void): Wire => ({
    open: true,
    bufferedAmount: 0,
    maxMessageSize: MAX_RUN_FRAME,
    bulk,
    drained: () => Promise.resolve(),
    send: (data) => {
      const copy = typeof data === 'string' ? data : data.slice();
      setTimeout(() => deliver(copy), 0);
    },
  });
  const control = (to: (m: ControlMessage) => void) => (data: string | Uint8Array) => {
    if (typeof data !== 'string') return onFrame(data);
    const parsed = parseControl(data);
    if (parsed.ok) to(parsed.value);
  };
  return { receiver: end(control(onControl.toSender)), sender: end(control(onControl.toReceiver)) };
}

async function transferOverBulk(options: { receiverListens: boolean; senderOffered: boolean; damage?: (index: number) => boolean }) {
  const file = filled(40 * 16_384 + 300, 5);
  const manifest = await buildManifest(new Blob([file]), { chunkSize: 16_384 });
  const source = new MemoryChunkStore(manifest, file);
  const target = new MemoryChunkStore(manifest);
  const transferId = 'bulk-1';
  const { channel, sink, runs } = bulkPair(source, target, manifest, transferId);
  const pageFrames: number[] = [];
  let done!: (outcome: string) => void;
  const outcome = new Promise<string>((r) => (done = r));
  const receiver = new ReceiveSession({
    transferId,
    manifest,
    sink: options.receiverListens ? sink : target,
    events: { onComplete: () => done('ok'), onFailure: (e) => done(e.code) },
  });
  const offer = Object.assign(Object.create(source) as MemoryChunkStore, options.senderOffered ? { offerSha256: manifest.sha256 } : {});
  const sender = new SendSession({ transferId, sizeBytes: manifest.sizeBytes, chunkSize: manifest.chunkSize, source: offer });
  sender.damage = options.damage ?? null;
  const wants: ControlMessage[] = [];
  const w = wires(
    channel,
    (data) => {
      pageFrames.push(data.length);
      const frame = parseChunkFrame(data);
      if (frame.ok) receiver.handleFrame(frame.value);
    },
    {
      toSender: (m) => {
        if (m.type === 'want') wants.push(m);
        sender.handleControl(m);
      },
      toReceiver: (m) => receiver.handleControl(m),
    },
  );
  sender.attach(w.sender);
  receiver.attach(w.receiver);
  const result = await outcome;
  return { result, runs, pageFrames, wants, target, file };
}

describe('sessions over the bulk channel', () => {
  it('a receiver that listens asks for it; the sender sends every run there, none through the page', async () => {
    const t = await transferOverBulk({ receiverListens: true, senderOffered: true });
    expect(t.result).toBe('ok');
    expect(t.wants[0]).toMatchObject({ type: 'want', bulk: true });
    expect(t.pageFrames).toEqual([]);
    expect(t.runs.length).toBeGreaterThan(0);
    expect(sha(t.target.bytes)).toBe(sha(t.file));
  });

  it('a chunk damaged on the bulk channel is refused, asked for again and the transfer completes', async () => {
    let flipped = false;
    const t = await transferOverBulk({ receiverListens: true, senderOffered: true, damage: (i) => i === 9 && !flipped && (flipped = true) });
    expect(t.result).toBe('ok');
    expect(t.runs.filter((r) => r.first === 9 && r.count === 1)).toHaveLength(1); // the resend, alone
    expect(sha(t.target.bytes)).toBe(sha(t.file));
  });

  it('a receiver without it does not ask, and gets every frame through the page', async () => {
    const t = await transferOverBulk({ receiverListens: false, senderOffered: true });
    expect(t.result).toBe('ok');
    expect(t.wants[0]).not.toHaveProperty('bulk');
    expect(t.runs).toEqual([]);
    expect(t.pageFrames.length).toBeGreaterThan(0);
  });

  it('a sender that cannot send on it (no file the worker reads) sends through the page though asked', async () => {
    const t = await transferOverBulk({ receiverListens: true, senderOffered: false });
    expect(t.result).toBe('ok');
    expect(t.wants[0]).toMatchObject({ bulk: true });
    expect(t.runs).toEqual([]);
    expect(sha(t.target.bytes)).toBe(sha(t.file));
  });
});
