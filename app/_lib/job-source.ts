/**
 * A donor's side of jobs whose code and data live in the mesh (server/compute/placement.ts): before a unit runs,
 * take the content items it names from this device's own offers, or fetch them from the owner's device over WebRTC (the page's TransferManager, which checks
 * every chunk against the item's manifest), check the whole item's SHA-256 against the one the job names, and
 * hand the code and this unit's input to the sandbox. Items are fetched once per page and kept in memory while
 * units of their job keep coming. A mismatch is reported to the coordinator (`compute.reportSource`), which gives
 * the device's leases back, and the unit is not run.
 */
import { customUnitSchema, type SourceItem } from '../../workers/kernels/custom';
import type { Json } from '../../workers/kernels/types';
import { getTransferManager } from './transfer/manager';
import { offerFile, receivedFile } from './transfer/storage';
import { trpcClient } from './trpc-client';

export type PreparedUnit = { input: Json; code?: string };
/** What the donor loop asks before running a leased unit. */
export interface SourceFetcher {
  prepare(lease: { jobId: string; kernel: string; input: Json }): Promise<PreparedUnit>;
}

export class SourceMismatchError extends Error {
  override name = 'SourceMismatchError';
}

const FETCH_TIMEOUT_MS = 5 * 60_000;
const KEEP = 8;

const hex = (buffer: ArrayBuffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}

/** Waits until the device's transfer `transferId` is complete (or failed). */
function completed(deviceId: string, transferId: string): Promise<void> {
  const manager = getTransferManager(deviceId);
  return new Promise((resolve, reject) => {
    const check = () => {
      const view = manager.getSnapshot().transfers.find((t) => t.id === transferId);
      if (view?.phase === 'completed') finish(null);
      else if (view && (view.phase === 'failed' || view.phase === 'cancelled')) finish(new Error(view.error?.message ?? 'The transfer of the job source stopped.'));
    };
    const timer = setTimeout(() => finish(new Error('The job source did not arrive within 5 minutes: is the owner’s device online?')), FETCH_TIMEOUT_MS);
    const unsubscribe = manager.subscribe(check);
    function finish(err: Error | null) {
      clearTimeout(timer);
      unsubscribe();
      if (err) reject(err);
      else resolve();
    }
    check();
  });
}

export class MeshSources implements SourceFetcher {
  private readonly items = new Map<string, Promise<Uint8Array>>();
  private readonly client = trpcClient();

  constructor(private readonly deviceId: string) {}

  async prepare(lease: { jobId: string; kernel: string; input: Json }): Promise<PreparedUnit> {
    if (lease.kernel !== 'custom') return { input: lease.input };
    const unit = customUnitSchema.safeParse(lease.input);
    if (!unit.success || !unit.data.source) return { input: lease.input };
    const { codeItem, dataItem } = unit.data.source;
    const decoder = new TextDecoder('utf-8', { fatal: true });
    const code = codeItem ? decoder.decode(await this.bytes(lease.jobId, codeItem)) : undefined;
    let input: Json = unit.data.input;
    if (dataItem) {
      const inputs: unknown = JSON.parse(decoder.decode(await this.bytes(lease.jobId, dataItem)));
      if (!Array.isArray(inputs) || unit.data.index >= inputs.length) throw new Error(`The job's data holds no input ${unit.data.index}.`);
      input = inputs[unit.data.index] as Json;
    }
    return { input: { ...unit.data, input }, ...(code !== undefined ? { code } : {}) };
  }

  private bytes(jobId: string, item: SourceItem): Promise<Uint8Array> {
    const key = `${item.itemId}:${item.sha256}`;
    let made = this.items.get(key);
    if (!made) {
      made = this.fetch(jobId, item);
      made.catch(() => this.items.delete(key));
      this.items.set(key, made);
      while (this.items.size > KEEP) this.items.delete(this.items.keys().next().value!);
    }
    return made;
  }

  private async fetch(jobId: string, item: SourceItem): Promise<Uint8Array> {
    // this device holds the item itself (the owner confirming units of their own job, or a donor that has it)
    const own = await offerFile(item.sha256).catch(() => null);
    if (own) {
      const bytes = new Uint8Array(await own.arrayBuffer());
      if ((await sha256Hex(bytes)) === item.sha256) return bytes;
    }
    const manager = getTransferManager(this.deviceId);
    await manager.start();
    const have = manager.getSnapshot().transfers.find((t) => t.role === 'receive' && t.itemId === item.itemId && t.phase !== 'failed' && t.phase !== 'cancelled');
    const transferId = have ? have.id : (await manager.request(item.itemId)).transferId;
    await completed(this.deviceId, transferId);
    const file = await receivedFile(transferId);
    if (!file) throw new Error('The job source arrived but cannot be read from this device’s storage.');
    const bytes = new Uint8Array(await file.arrayBuffer());
    const sha256 = await sha256Hex(bytes);
    if (sha256 !== item.sha256) {
      await this.client.compute.reportSource.mutate({ deviceId: this.deviceId, jobId, itemId: item.itemId, sha256 }).catch(() => undefined);
      throw new SourceMismatchError('The job’s source item does not match the SHA-256 the job names: it was not run, and the owner was told.');
    }
    return bytes;
  }
}
