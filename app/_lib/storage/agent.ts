/**
 * This device's storage work while the app is open, with no React:
 *  - as a lender: fetch the copies it is given (from the buyer's device, or from a surviving copy for a
 *    repair), verify their SHA-256, keep them in OPFS and confirm; answer each challenge from the kept bytes;
 *    serve a copy to a device the coordinator says may have it; delete copies it no longer keeps;
 *  - as a buyer: keep the shards of a new plan until every copy is stored, and serve them to the lenders;
 *    restore a plan by fetching one copy of each shard, verifying, joining and decrypting.
 * Shards travel on the TransferManager's peer links (one WebRTC data channel per pair of devices), as their
 * own kind of session: JSON control messages `storage-want` / `storage-error`, and the transfer protocol's
 * binary frames keyed by the shard. The coordinator is asked before any copy leaves (`storage.mayServe`).
 *
 * Where the shards are kept (`ShardStore`: OPFS in a browser, a folder in the headless agent), the links
 * they travel on (`ShardLinks`: the page's TransferManager, the agent's Node peers) and what wakes the
 * agent (the live stream's storage events, or its own timer alone) are given to it, so the agent
 * (agent/storage-node.ts) runs this same class. The page's agent is made by `getStorageAgent` (page-agent.ts).
 */
import type { inferRouterOutputs } from '@trpc/server';
import { z } from 'zod';
import type { AppRouter } from '@/server/routers/_app';
import { trpcClient, type AppClient } from '../trpc-client';
import type { ChannelHandler } from '../transfer/manager';
import { encodeChunkFrame, MAX_FRAME_PAYLOAD, parseChunkFrame, transferKey } from '../transfer/protocol';
import type { Wire } from '../transfer/session';
import { DEFAULT_WINDOW } from '../transfer/window';
import { answer, decrypt, importRecoveryKey, join, sha256Hex, unpack, type BundleFile } from './bundle';

type Outputs = inferRouterOutputs<AppRouter>;
export type Work = Outputs['storage']['work'];
export type PlanView = Outputs['storage']['plan'];

export interface StorageApi {
  work(deviceId: string): Promise<Work>;
  stored(deviceId: string, placementId: string): Promise<unknown>;
  answer(deviceId: string, challengeId: string, shardId: string, proof: string): Promise<{ passed: boolean }>;
  mayServe(deviceId: string, shardId: string, toDeviceId: string): Promise<{ sizeBytes: number; sha256: string }>;
  plans(): Promise<PlanView[]>;
}

export function trpcStorageApi(client: AppClient = trpcClient()): StorageApi {
  return {
    work: (deviceId) => client.storage.work.query({ deviceId }),
    stored: (deviceId, placementId) => client.storage.stored.mutate({ deviceId, placementId }),
    answer: (deviceId, challengeId, shardId, proof) => client.storage.answer.mutate({ deviceId, challengeId, shardId, proof }),
    mayServe: (deviceId, shardId, toDeviceId) => client.storage.mayServe.query({ deviceId, shardId, toDeviceId }),
    plans: () => client.storage.plans.query(),
  };
}

/** Where a device keeps the shards it holds. `read` gives null when it has no copy. */
export interface ShardStore {
  read(shardId: string, start?: number, end?: number): Promise<Uint8Array<ArrayBuffer> | null>;
  write(shardId: string, bytes: Uint8Array<ArrayBuffer>): Promise<void>;
  remove(shardId: string): Promise<void>;
}

/** The device's data channels to other devices (the TransferManager's shape). */
export interface ShardLinks {
  start(): void | Promise<void>;
  addChannelHandler(handler: ChannelHandler): () => void;
  /** the open wire to a device, connecting when there is none (null until the handler's onOpen) */
  wireTo(remoteDeviceId: string): Wire | null;
  /** drops the connection to a device (the handlers' onClose follows); whoever needs it connects again */
  resetLink(remoteDeviceId: string): void;
}

export type StorageAgentParts = {
  store: ShardStore;
  links: ShardLinks;
  api?: StorageApi;
  /** calls `onChange` when the coordinator says this device's storage work changed; returns a remover */
  watch?: (onChange: () => void) => () => void;
};

const controlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('storage-want'), shardId: z.string().min(1).max(64) }),
  z.object({ type: z.literal('storage-error'), shardId: z.string().min(1).max(64), message: z.string().max(300) }),
]);
type Control = z.infer<typeof controlSchema>;

/** A fetch that has not finished after this long is given up (and tried again on the next refresh). */
const FETCH_TIMEOUT_MS = 120_000;
export const REFRESH_EVERY_MS = 10_000;
/**
 * A fetch that was asked and has had no bytes for this long is asked again; at its second stall the connection
 * is dropped and made anew. (A piece once stayed unsent on a connection both sides thought open.)
 */
export const STALL_MS = 10_000;
/** A restore tries the next keeper of a piece after this long without it. */
const RESTORE_TRY_MS = 45_000;

type Fetch = {
  key: number;
  from: string;
  shardId: string;
  buffer: Uint8Array<ArrayBuffer>;
  filled: number;
  sha256: string;
  asked: boolean;
  /** when it was last asked or last got bytes; how many times it stalled since its connection was last renewed */
  progressAt: number;
  stalls: number;
  resolve: (bytes: Uint8Array<ArrayBuffer>) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
};

export type AgentSnapshot = {
  /** what the agent is doing now, for the screen */
  activity: string[];
  answered: number;
  fetched: number;
  served: number;
  lastError: string | null;
  /** bytes this device sent and received for storage in this page's life */
  bytesSent: number;
  bytesReceived: number;
};

export class StorageAgent {
  private readonly fetches = new Map<string, Fetch>();
  private readonly serving = new Map<string, number>();
  /** the latest want of each (device, piece) being served: an earlier send of it stops */
  private readonly serveGeneration = new Map<string, number>();
  private readonly answered = new Set<string>();
  private readonly confirming = new Set<string>();
  private readonly buyerShards = new Map<string, Uint8Array<ArrayBuffer>>();
  private stopHandler: (() => void) | null = null;
  private stopEvents: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private refreshing: Promise<void> | null = null;
  private again = false;
  private listeners = new Set<() => void>();
  private snapshot: AgentSnapshot = { activity: [], answered: 0, fetched: 0, served: 0, lastError: null, bytesSent: 0, bytesReceived: 0 };

  private readonly store: ShardStore;
  private readonly manager: ShardLinks;
  private readonly api: StorageApi;
  private readonly watch: ((onChange: () => void) => () => void) | null;

  constructor(
    readonly deviceId: string,
    parts: StorageAgentParts,
  ) {
    this.store = parts.store;
    this.manager = parts.links;
    this.api = parts.api ?? trpcStorageApi();
    this.watch = parts.watch ?? null;
  }

  start() {
    if (this.stopHandler) return;
    void this.manager.start();
    this.stopHandler = this.manager.addChannelHandler({
      onData: (remote, data) => this.onData(remote, data),
      onOpen: (remote) => this.onOpen(remote),
      onClose: (remote) => this.onClose(remote),
      needsLink: (remote) => [...this.fetches.values()].some((f) => f.from === remote) || (this.serving.get(remote) ?? 0) > 0,
    });
    this.stopEvents = this.watch?.(() => void this.refresh()) ?? null;
    this.timer = setInterval(() => {
      void this.refresh();
      this.nudge();
    }, REFRESH_EVERY_MS);
    void this.refresh();
  }

  stop() {
    this.stopHandler?.();
    this.stopEvents?.();
    if (this.timer) clearInterval(this.timer);
    this.stopHandler = this.stopEvents = this.timer = null;
    for (const f of this.fetches.values()) f.reject(new Error('Stopped.'));
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getSnapshot = () => this.snapshot;

  private emit(change: Partial<AgentSnapshot>) {
    this.snapshot = { ...this.snapshot, ...change, activity: [...this.fetches.values()].map((f) => `Fetching a shard from another device (${Math.round((100 * f.filled) / f.buffer.length)} %)`) };
    for (const l of this.listeners) l();
  }

  private noteError(message: string) {
    this.emit({ lastError: message });
  }

  /** The buyer's device keeps a new plan's shards (in memory and OPFS) to serve them to the lenders. */
  async keepForUpload(shards: { id: string; bytes: Uint8Array<ArrayBuffer> }[]) {
    for (const s of shards) {
      this.buyerShards.set(s.id, s.bytes);
      await this.store.write(s.id, s.bytes).catch(() => undefined);
    }
    void this.refresh();
  }

  /** Reads the coordinator's list of what this device must do, and does it. One at a time; a call meanwhile runs once more after. */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = this.work()
      .catch((error: unknown) => this.noteError(String(error instanceof Error ? error.message : error)))
      .finally(() => {
        this.refreshing = null;
        if (this.again) {
          this.again = false;
          void this.refresh();
        }
      });
    return this.refreshing;
  }

  private async work() {
    const work = await this.api.work(this.deviceId);
    for (const c of work.challenges) {
      if (this.answered.has(c.id)) continue;
      const range = await this.store.read(c.shardId, c.offset, c.offset + c.length);
      if (!range || range.length !== c.length) continue; // no copy here: the challenge runs out
      this.answered.add(c.id);
      const proof = await answer(c.nonce, range);
      await this.api.answer(this.deviceId, c.id, c.shardId, proof).then(
        () => this.emit({ answered: this.snapshot.answered + 1 }),
        (error: unknown) => this.noteError(`A challenge: ${error instanceof Error ? error.message : String(error)}`),
      );
    }
    for (const copy of work.incoming) {
      if (this.confirming.has(copy.placementId) || this.fetches.has(copy.shardId)) continue;
      this.confirming.add(copy.placementId);
      void this.take(copy)
        .catch((error: unknown) => this.noteError(`A copy: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => this.confirming.delete(copy.placementId));
    }
    for (const shardId of work.release) {
      if (!this.buyerShards.has(shardId)) await this.store.remove(shardId);
    }
    // a buyer's device lets go of a plan's shards once no copy still waits to be fetched from it
    const waiting = new Set(work.serving.map((s) => s.shardId));
    for (const shardId of this.buyerShards.keys()) {
      if (!waiting.has(shardId)) {
        this.buyerShards.delete(shardId);
        await this.store.remove(shardId);
      }
    }
  }

  /** Fetches a copy it was given, verifies it, keeps it and confirms it. */
  private async take(copy: Work['incoming'][number]) {
    const existing = await this.store.read(copy.shardId);
    const bytes = existing && (await sha256Hex(existing)) === copy.sha256 ? existing : await this.fetch(copy.sourceDeviceId, copy.shardId, copy.sizeBytes, copy.sha256);
    if (bytes !== existing) await this.store.write(copy.shardId, bytes);
    await this.api.stored(this.deviceId, copy.placementId);
    this.emit({ fetched: this.snapshot.fetched + 1 });
  }

  /** One shard from another device over the data channel, checked against its SHA-256. */
  fetch(from: string, shardId: string, sizeBytes: number, sha256: string, timeoutMs = FETCH_TIMEOUT_MS): Promise<Uint8Array<ArrayBuffer>> {
    const running = this.fetches.get(shardId);
    if (running) return Promise.reject(new Error('That shard is already being fetched.'));
    return new Promise<Uint8Array<ArrayBuffer>>((resolve, reject) => {
      const done = (f: Fetch) => {
        clearTimeout(f.timer);
        if (this.fetches.get(shardId) === f) this.fetches.delete(shardId);
        this.emit({});
      };
      const entry: Fetch = {
        key: transferKey(`storage:${shardId}`),
        from, shardId, sha256, asked: false, progressAt: Date.now(), stalls: 0,
        buffer: new Uint8Array(sizeBytes),
        filled: 0,
        resolve: (bytes) => {
          done(entry);
          resolve(bytes);
        },
        reject: (error) => {
          done(entry);
          reject(error);
        },
        timer: setTimeout(() => entry.reject(new Error('The other device did not send the shard in time.')), timeoutMs),
      };
      this.fetches.set(shardId, entry);
      this.emit({});
      const wire = this.manager.wireTo(from);
      if (wire) this.ask(entry, wire);
    });
  }

  /**
   * Fetches still waiting for their link: reach the other device again, and ask once it is open. A fetch that
   * stalled (STALL_MS without bytes) is asked again, and at its second stall its connection is renewed.
   */
  private nudge(now = Date.now()) {
    const renew = new Set<string>();
    for (const f of this.fetches.values()) {
      if (f.asked && now - f.progressAt < STALL_MS) continue;
      if (f.asked && ++f.stalls >= 2) {
        f.stalls = 0;
        renew.add(f.from);
        continue;
      }
      const wire = this.manager.wireTo(f.from);
      if (wire) this.ask(f, wire);
      else f.asked = false;
    }
    for (const remote of renew) this.manager.resetLink(remote);
  }

  private ask(f: Fetch, wire: Wire) {
    f.asked = true;
    f.filled = 0;
    f.progressAt = Date.now();
    wire.send(JSON.stringify({ type: 'storage-want', shardId: f.shardId } satisfies Control));
  }

  private onOpen(remote: string) {
    const wire = this.manager.wireTo(remote);
    if (!wire) return;
    for (const f of this.fetches.values()) if (f.from === remote) this.ask(f, wire);
  }

  private onClose(remote: string) {
    for (const f of this.fetches.values()) if (f.from === remote) f.asked = false;
    this.serving.delete(remote);
  }

  private onData(remote: string, data: string | Uint8Array): boolean {
    if (typeof data === 'string') {
      if (!data.startsWith('{"type":"storage-')) return false;
      let parsed: Control;
      try {
        parsed = controlSchema.parse(JSON.parse(data));
      } catch {
        return true; // ours, but malformed: ignored
      }
      if (parsed.type === 'storage-want') void this.serve(remote, parsed.shardId);
      else {
        const f = this.fetches.get(parsed.shardId);
        if (f && f.from === remote) f.reject(new Error(parsed.message));
      }
      return true;
    }
    const frame = parseChunkFrame(data);
    if (!frame.ok) return false;
    for (const f of this.fetches.values()) {
      if (f.key !== frame.value.key || f.from !== remote) continue;
      const { offset, payload } = frame.value;
      if (offset + payload.length > f.buffer.length) {
        f.reject(new Error('The shard arrived longer than it is.'));
        return true;
      }
      // a frame of an earlier send of this piece (it was asked again): the bytes are the same, only the place differs
      if (offset !== f.filled) return true;
      f.buffer.set(payload, offset);
      f.filled += payload.length;
      f.progressAt = Date.now();
      this.snapshot.bytesReceived += payload.length;
      if (f.filled === f.buffer.length) {
        const bytes = f.buffer;
        void sha256Hex(bytes).then((hash) => (hash === f.sha256 ? f.resolve(bytes) : f.reject(new Error('The shard did not match its SHA-256.'))));
      } else if (f.filled % (1024 * 1024) < payload.length) this.emit({});
      return true;
    }
    return false;
  }

  /** Sends a copy to a device that asked for it, once the coordinator says it may have it. */
  private async serve(remote: string, shardId: string) {
    const wire = this.manager.wireTo(remote);
    const refuse = (message: string) => wire?.open && wire.send(JSON.stringify({ type: 'storage-error', shardId, message } satisfies Control));
    const asked = `${remote} ${shardId}`;
    const generation = (this.serveGeneration.get(asked) ?? 0) + 1;
    this.serveGeneration.set(asked, generation);
    const current = () => this.serveGeneration.get(asked) === generation;
    this.serving.set(remote, (this.serving.get(remote) ?? 0) + 1);
    try {
      const allowed = await this.api.mayServe(this.deviceId, shardId, remote).catch((error: unknown) => {
        refuse(error instanceof Error ? error.message : 'Refused.');
        return null;
      });
      if (!allowed || !wire) return;
      const bytes = this.buyerShards.get(shardId) ?? (await this.store.read(shardId));
      if (!bytes || bytes.length !== allowed.sizeBytes) return void refuse('This device no longer has that shard.');
      const key = transferKey(`storage:${shardId}`);
      const window = wire.window ?? DEFAULT_WINDOW;
      for (let at = 0; at < bytes.length; at += MAX_FRAME_PAYLOAD) {
        while (wire.open && wire.bufferedAmount > window.highWater) await wire.drained();
        if (!wire.open || !current()) return;
        const payload = bytes.subarray(at, Math.min(bytes.length, at + MAX_FRAME_PAYLOAD));
        wire.send(encodeChunkFrame(key, 0, payload, at));
        this.snapshot.bytesSent += payload.length;
      }
      this.emit({ served: this.snapshot.served + 1 });
    } finally {
      if (current()) this.serveGeneration.delete(asked);
      this.serving.set(remote, Math.max(0, (this.serving.get(remote) ?? 1) - 1));
    }
  }

  /**
   * Gets a plan back on this device: one stored copy of each shard (online keepers first), each checked against
   * its SHA-256, joined, decrypted with the recovery key and unpacked. `sha256` is the bundle's fingerprint.
   */
  async restore(plan: PlanView, recoveryKey: string, onProgress?: (done: number, total: number) => void): Promise<{ files: BundleFile[]; sha256: string }> {
    const key = await importRecoveryKey(recoveryKey);
    const parts: Uint8Array<ArrayBuffer>[] = [];
    for (const shard of plan.shards) {
      const copies = shard.copies.filter((c) => c.status === 'STORED' || c.status === 'MOVING').sort((a, b) => Number(b.online) - Number(a.online));
      if (!copies.length) throw new Error(`No stored copy of shard ${shard.index + 1} is left.`);
      let got: Uint8Array<ArrayBuffer> | null = null;
      let lastError: unknown = null;
      // each keeper in turn, twice round, before giving up on the piece
      for (const copy of [...copies, ...copies]) {
        try {
          got = await this.fetch(copy.deviceId, shard.id, shard.sizeBytes, shard.sha256, RESTORE_TRY_MS);
          break;
        } catch (error) {
          lastError = error;
        }
      }
      if (!got) throw new Error(`Shard ${shard.index + 1} could not be fetched: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
      parts.push(got);
      onProgress?.(parts.length, plan.shards.length);
    }
    const iv = typeof plan.meta.iv === 'string' ? plan.meta.iv : '';
    const bundle = await decrypt(join(parts), key, iv);
    return { files: unpack(bundle), sha256: await sha256Hex(bundle) };
  }
}
