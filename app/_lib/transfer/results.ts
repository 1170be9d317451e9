/**
 * A job's results on their way to the device its owner chose (server/compute/results-device.ts), from this device's
 * side, on every screen:
 *
 * - as a **sender** (another of the owner's devices): fetches the results file from the coordinator, keeps it in OPFS
 *   with its chunk manifest (`importOffer`), offers it as a private gift to the chosen device (`compute.offerResults`,
 *   which checks its SHA-256) and tells that device over the data channel; the transfer manager serves its request;
 * - as the **chosen device**: takes results offered to it without a tap (`acceptGift`), so the transfer manager fetches
 *   them peer to peer, checks every chunk and the whole file's SHA-256, and keeps them in OPFS.
 *
 * It looks when it starts, whenever the live stream says results moved (`results` events), and every 30 s.
 */
import type { AppClient } from '../trpc-client';
import { getLiveHub } from '../live-client';
import type { TransferManager } from './manager';
import { hasOffer, importOffer } from './storage';

const LOOK_EVERY_MS = 30_000;
const RETRY_MS = 5_000;

export type ResultsCourierApi = Pick<AppClient, 'compute'>;

export class ResultsCourier {
  private running = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private unwatch: (() => void) | null = null;
  private looking: Promise<void> | null = null;
  private again = false;
  /** gifts already announced to their device in this page's life (the manager keeps them until the link opens) */
  private readonly told = new Set<string>();
  private readonly taken = new Set<string>();
  lastError: string | null = null;

  constructor(
    readonly deviceId: string,
    private readonly manager: TransferManager,
    private readonly client: ResultsCourierApi,
    private readonly fetchFile: (jobId: string) => Promise<Blob> = fetchResultsFile,
  ) {}

  start() {
    if (this.running) return;
    this.running = true;
    this.unwatch = getLiveHub().watchEvents((event) => {
      if (event.type === 'results') this.look();
    });
    this.look();
  }

  stop() {
    this.running = false;
    this.unwatch?.();
    this.unwatch = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Looks now (or right after the look under way). */
  look() {
    if (!this.running) return;
    if (this.looking) {
      this.again = true;
      return;
    }
    this.looking = this.once()
      .then(
        () => {
          this.lastError = null;
        },
        (error: unknown) => {
          this.lastError = String(error);
        },
      )
      .finally(() => {
        this.looking = null;
        if (!this.running) return;
        if (this.again) {
          this.again = false;
          return this.look();
        }
        if (this.timer) clearTimeout(this.timer);
        this.timer = setTimeout(() => this.look(), this.lastError ? RETRY_MS : LOOK_EVERY_MS);
      });
  }

  private async once() {
    // the manager of another tab runs this device's transfers: that tab sends and takes
    if (!this.manager.running) return;
    const [toSend, forMe] = await Promise.all([
      this.client.compute.resultsToSend.query({ deviceId: this.deviceId }),
      this.client.compute.resultsForDevice.query({ deviceId: this.deviceId }),
    ]);
    for (const job of toSend) await this.send(job);
    for (const job of forMe) {
      if (job.status !== 'OFFERED' || this.taken.has(job.itemId)) continue;
      const getting = [...this.manager.entries.values()].some((e) => e.role === 'receive' && e.server.item.id === job.itemId);
      if (!getting) {
        try {
          await this.manager.acceptGift(job.itemId);
        } catch (error) {
          // already under way on this device (another tab asked first): nothing to do
          if (!/already getting/i.test(String(error))) throw error;
        }
      }
      this.taken.add(job.itemId);
    }
  }

  private async send(job: { jobId: string; title: string; toDeviceId: string; sha256: string; sizeBytes: number; itemId: string | null }) {
    let itemId = job.itemId;
    // the bytes must be on this device to serve the chosen device's request, and their manifest to offer them
    if (!itemId || !(await hasOffer(job.sha256))) {
      const blob = await this.fetchFile(job.jobId);
      if (blob.size !== job.sizeBytes) throw new Error(`The results of job ${job.jobId} came with ${blob.size} bytes, not ${job.sizeBytes}.`);
      const manifest = await importOffer(blob);
      if (manifest.sha256 !== job.sha256) throw new Error(`The results of job ${job.jobId} did not hash to what the coordinator recorded.`);
      if (!itemId) {
        const header = { title: job.title, description: '', audience: '', purpose: '', environment: '', mediaType: 'application/json', ...manifest };
        itemId = (await this.client.compute.offerResults.mutate({ deviceId: this.deviceId, jobId: job.jobId, header })).itemId;
      }
    }
    if (!this.told.has(itemId)) {
      this.manager.offerGift(job.toDeviceId, { id: itemId, title: job.title, sizeBytes: job.sizeBytes });
      this.told.add(itemId);
    }
  }
}

async function fetchResultsFile(jobId: string): Promise<Blob> {
  const response = await fetch(`/api/compute/results/${encodeURIComponent(jobId)}`, { cache: 'no-store', credentials: 'same-origin' });
  if (!response.ok) throw new Error(`The results of job ${jobId} could not be fetched (${response.status}): ${(await response.text()).slice(0, 200)}`);
  return response.blob();
}

let current: ResultsCourier | null = null;

/** The page's courier for this device (a new device id replaces the previous one). */
export function getResultsCourier(deviceId: string, manager: TransferManager, client: ResultsCourierApi): ResultsCourier {
  if (current && current.deviceId === deviceId) return current;
  current?.stop();
  current = new ResultsCourier(deviceId, manager, client);
  return current;
}
