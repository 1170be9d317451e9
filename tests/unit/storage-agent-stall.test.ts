/**
 * The storage agent when a piece stops arriving: two agents (a buyer's device serving a piece, a lender's device
 * fetching it) over an in-memory link. The first send of the piece is lost on the way; the lender asks again
 * after STALL_MS without bytes, and at its second stall drops the connection and asks on a new one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REFRESH_EVERY_MS, STALL_MS, StorageAgent, type ShardLinks, type ShardStore, type StorageApi, type Work } from '@/app/_lib/storage/agent';
import type { ChannelHandler } from '@/app/_lib/transfer/manager';
import { parseChunkFrame } from '@/app/_lib/transfer/protocol';
import type { Wire } from '@/app/_lib/transfer/session';

/** The real setTimeout (the tests fake timers): WebCrypto's digest completes on real time. */
const realTimeout = globalThis.setTimeout;

/** Advances the fake clock by `ms` in steps, letting real work (hashing) finish between them. */
async function run(ms: number) {
  for (let t = 0; t < ms; t += 250) {
    await vi.advanceTimersByTimeAsync(250);
    await new Promise((resolve) => realTimeout(resolve, 2));
  }
}

const BUYER = 'device-buyer';
const LENDER = 'device-lender';
const SHARD = 'shard-1';

/** Both ends of one connection; `lose` decides which binary frames from the buyer never arrive. */
class Connection {
  readonly ends = new Map<string, FakeLinks>();
  generation = 1;
  resets = 0;
  lose: (frame: { generation: number; offset: number }) => boolean = () => false;

  deliver(from: string, to: string, data: string | Uint8Array, generation: number) {
    const copy = typeof data === 'string' ? data : data.slice();
    queueMicrotask(() => {
      if (generation !== this.generation) return; // that connection is gone
      if (typeof copy !== 'string' && from === BUYER) {
        const frame = parseChunkFrame(copy);
        if (frame.ok && this.lose({ generation, offset: frame.value.offset })) return;
      }
      this.ends.get(to)!.receive(from, copy);
    });
  }

  reset() {
    this.resets++;
    this.generation++;
    for (const [self, end] of this.ends) end.closed(self === BUYER ? LENDER : BUYER);
    for (const [self, end] of this.ends) end.opened(self === BUYER ? LENDER : BUYER);
  }
}

class FakeLinks implements ShardLinks {
  private readonly handlers = new Set<ChannelHandler>();
  constructor(
    private readonly self: string,
    private readonly connection: Connection,
  ) {
    connection.ends.set(self, this);
  }
  start() {}
  addChannelHandler(handler: ChannelHandler) {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  wireTo(remote: string): Wire {
    const generation = this.connection.generation;
    return {
      open: true,
      bufferedAmount: 0,
      send: (data) => this.connection.deliver(this.self, remote, data, generation),
      drained: () => Promise.resolve(),
    };
  }
  resetLink() {
    this.connection.reset();
  }
  receive(from: string, data: string | Uint8Array) {
    for (const h of this.handlers) if (h.onData(from, data)) return;
  }
  closed(remote: string) {
    for (const h of this.handlers) h.onClose?.(remote);
  }
  opened(remote: string) {
    for (const h of this.handlers) h.onOpen?.(remote);
  }
}

function memoryStore(): ShardStore & { shards: Map<string, Uint8Array<ArrayBuffer>> } {
  const shards = new Map<string, Uint8Array<ArrayBuffer>>();
  return {
    shards,
    read: async (id, start, end) => shards.get(id)?.slice(start ?? 0, end) ?? null,
    write: async (id, bytes) => void shards.set(id, bytes),
    remove: async (id) => void shards.delete(id),
  };
}

function setup(bytes: Uint8Array<ArrayBuffer>) {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const connection = new Connection();
  const stored: string[] = [];
  const served: number[] = [];
  const idle: Work = { challenges: [], incoming: [], keeping: [], serving: [], release: [] };
  const api = (self: string): StorageApi => ({
    work: async () =>
      self === LENDER
        ? { ...idle, incoming: stored.length ? [] : [{ placementId: 'p1', shardId: SHARD, sizeBytes: bytes.length, sha256, sourceDeviceId: BUYER }] }
        : { ...idle, serving: stored.length ? [] : [{ placementId: 'p1', shardId: SHARD, toDeviceId: LENDER }] },
    stored: async (_device, placementId) => void stored.push(placementId),
    answer: async () => ({ passed: true }),
    mayServe: async () => {
      served.push(connection.generation);
      return { sizeBytes: bytes.length, sha256 };
    },
    plans: async () => [],
  });
  const lenderStore = memoryStore();
  const buyer = new StorageAgent(BUYER, { store: memoryStore(), links: new FakeLinks(BUYER, connection), api: api(BUYER) });
  const lender = new StorageAgent(LENDER, { store: lenderStore, links: new FakeLinks(LENDER, connection), api: api(LENDER) });
  return { connection, stored, served, buyer, lender, lenderStore };
}

describe('a storage fetch that stalls', () => {
  beforeEach(() => void vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'Date'] }));
  afterEach(() => void vi.useRealTimers());

  it('is asked again after STALL_MS without bytes, and the piece arrives whole', async () => {
    const bytes = new Uint8Array(randomBytes(600_000));
    const t = setup(bytes);
    // the first send of the piece loses its second frame: the lender waits on bytes that never come
    let firstSend = true;
    t.connection.lose = ({ offset }) => {
      if (firstSend && offset > 0) {
        firstSend = false;
        return true;
      }
      return false;
    };
    await t.buyer.keepForUpload([{ id: SHARD, bytes }]);
    t.buyer.start();
    t.lender.start();
    await run(1_000);
    expect(t.stored).toEqual([]);
    expect(t.served).toHaveLength(1);

    await run(STALL_MS + REFRESH_EVERY_MS);
    expect(t.served).toHaveLength(2);
    expect(t.connection.resets).toBe(0);
    expect(t.stored).toEqual(['p1']);
    expect(Buffer.from(t.lenderStore.shards.get(SHARD)!).equals(Buffer.from(bytes))).toBe(true);
    t.buyer.stop();
    t.lender.stop();
  });

  it('renews the connection at its second stall, then gets the piece on the new one', async () => {
    const bytes = new Uint8Array(randomBytes(600_000));
    const t = setup(bytes);
    // nothing past the first frame gets through on the first connection
    t.connection.lose = ({ generation, offset }) => generation === 1 && offset > 0;
    await t.buyer.keepForUpload([{ id: SHARD, bytes }]);
    t.buyer.start();
    t.lender.start();
    await run(2 * (STALL_MS + REFRESH_EVERY_MS) + 1_000);
    expect(t.connection.resets).toBe(1);
    expect(t.stored).toEqual(['p1']);
    expect(t.served.at(-1)).toBe(2);
    expect(Buffer.from(t.lenderStore.shards.get(SHARD)!).equals(Buffer.from(bytes))).toBe(true);
    t.buyer.stop();
    t.lender.stop();
  });
});
