/**
 * The receiving half of the transfer manager: a queue of files coming to this device (MAX_ACTIVE_RECEIVES at
 * a time). Each opens its OPFS file (resuming from the recorded watermark), connects to the sender's device
 * and asks `want` from there; progress is reported to the coordinator (`content.updateTransfer` ACTIVE with
 * the durable watermark, at most every REPORT_EVERY_MS) and, once the whole stream's SHA-256 matched (and, for
 * a bundle, every file's and snippet's own SHA-256), COMPLETED, which delivers and signs off a paid item's
 * contract.
 */
import { verifyEntries } from './bundle';
import { chunkCount, manifestProblem } from './chunks';
import { FATAL, isOpen, manifestOf, type BundleResult, type Entry, type ManagerHost } from './entry';
import { TransferError } from './protocol';
import { ReceiveSession, type Wire } from './session';
import { OpfsIncoming, receivedFile, removeIncoming, storageSupported } from './storage';

/** Receives running at once; more wait in the queue. */
export const MAX_ACTIVE_RECEIVES = 2;
/** Progress reports to the coordinator, at most this often per transfer. */
const REPORT_EVERY_MS = 2_000;

/** Checks every entry of a received bundle against its own hash, and reads its snippets. */
async function checkBundle(entry: Entry): Promise<BundleResult | null> {
  if (!entry.placed) return null;
  const file = await receivedFile(entry.server.id);
  if (!file) throw new TransferError('ERR_STORAGE', 'The received files are no longer on this device.');
  const checks = await verifyEntries(entry.placed, async (offset, length) => file.slice(offset, offset + length));
  const texts: Record<number, string> = {};
  for (const e of entry.placed) if (e.kind === 'text') texts[e.index] = await file.slice(e.offset, e.offset + e.sizeBytes).text();
  return { checks, texts };
}

/** Tries to open a file held by another access handle this often, this far apart, before giving up. */
const OPEN_ATTEMPTS = 8;
const OPEN_RETRY_MS = 750;

/**
 * Opens the file being received. Right after a reload the previous page's storage worker may still hold the
 * file's access handle for a moment (NoModificationAllowedError): that is waited out rather than failed.
 */
export async function openIncoming(...args: Parameters<typeof OpfsIncoming.open>): ReturnType<typeof OpfsIncoming.open> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await OpfsIncoming.open(...args);
    } catch (error) {
      const held = error instanceof Error && (error.name === 'NoModificationAllowedError' || /Access Handle/i.test(error.message));
      if (!held || attempt >= OPEN_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, OPEN_RETRY_MS));
    }
  }
}

export class Receiving {
  private readonly loading = new WeakSet<Entry>();

  constructor(private readonly host: ManagerHost) {}

  /** The whole stream matched: a bundle's entries are checked one by one before the transfer completes. */
  private async finish(entry: Entry, count: number) {
    entry.phase = 'verifying';
    this.host.emit(true);
    try {
      entry.bundle = await checkBundle(entry);
    } catch (error) {
      return this.failed(entry, error instanceof TransferError ? error : new TransferError('ERR_STORAGE', String(error)));
    }
    const bad = entry.bundle?.checks.filter((c) => !c.ok) ?? [];
    if (bad.length > 0) {
      return this.failed(entry, new TransferError('ERR_HASH_MISMATCH', `${bad.length === 1 ? `"${bad[0]!.path}" does not` : `${bad.length} files do not`} match the SHA-256 the sender listed.`));
    }
    entry.phase = 'completed';
    entry.bytesDone = entry.server.item.sizeBytes;
    this.report(entry, count, 'COMPLETED');
    this.host.emit(true);
    this.pump();
  }

  /**
   * A bundle received earlier (before a reload): every entry was checked before COMPLETED was reported, so
   * only the snippets' text is read back from this device (not the files, however large).
   */
  loadFinished(entry: Entry) {
    const placed = entry.placed;
    if (entry.role !== 'receive' || !placed || entry.bundle || this.loading.has(entry)) return;
    this.loading.add(entry);
    void (async () => {
      const texts: Record<number, string> = {};
      const snippets = placed.filter((e) => e.kind === 'text');
      const file = snippets.length > 0 ? await receivedFile(entry.server.id) : null;
      for (const e of snippets) if (file) texts[e.index] = await file.slice(e.offset, e.offset + e.sizeBytes).text();
      entry.bundle = { checks: placed.map((e) => ({ index: e.index, path: e.path, ok: true })), texts };
      this.host.emit(true);
    })().catch(() => undefined);
  }

  report(entry: Entry, verifiedChunks: number, status?: 'ACTIVE' | 'COMPLETED' | 'CANCELLED' | 'FAILED') {
    entry.lastReportAt = Date.now();
    entry.reportedChunks = verifiedChunks;
    const input = { transferId: entry.server.id, deviceId: this.host.deviceId, verifiedChunks, ...(status ? { status } : {}) };
    entry.reports = entry.reports
      .then(() => this.host.api.updateTransfer(input))
      .then(
        () => {
          if (status && status !== 'ACTIVE') void this.host.refresh();
        },
        (error: unknown) => {
          this.host.noteError(`Could not report the transfer: ${error instanceof Error ? error.message : String(error)}`);
          if (status === 'COMPLETED') void this.host.refresh();
        },
      );
    return entry.reports;
  }

  /** Asks for a copy of an item onto this device and queues its transfer. */
  async request(itemId: string, contractId?: string): Promise<{ transferId: string; contractId: string | null }> {
    const result = await this.host.api.request(itemId, this.host.deviceId, contractId);
    await this.host.refresh();
    return { transferId: result.transfer.id, contractId: result.contractId };
  }

  pump() {
    if (!this.host.running) return;
    const running = [...this.host.entries.values()].filter(
      (e) => e.role === 'receive' && (e.starting || e.receive?.session.active) && e.phase !== 'queued',
    ).length;
    let free = MAX_ACTIVE_RECEIVES - running;
    const queued = [...this.host.entries.values()]
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
    this.host.emit(true);
    const { server } = entry;
    const manifest = manifestOf(server);
    const problem = manifestProblem(manifest);
    try {
      if (problem) throw new TransferError('ERR_PROTOCOL', `The item's manifest is unusable: ${problem}.`);
      if (!storageSupported()) throw new TransferError('ERR_STORAGE', 'This browser cannot store files for transfers (no Origin Private File System).');
      let opened: Awaited<ReturnType<typeof OpfsIncoming.open>>;
      try {
        opened = await openIncoming(
          { transferId: server.id, itemId: server.itemId, title: server.item.title, mediaType: server.item.mediaType, sizeBytes: manifest.sizeBytes, sha256: manifest.sha256, chunkSize: manifest.chunkSize },
          manifest,
        );
      } catch (error) {
        throw new TransferError('ERR_STORAGE', `Could not open the file on this device (is it open in another tab?): ${String(error)}`);
      }
      const count = chunkCount(manifest.sizeBytes, manifest.chunkSize);
      if (opened.complete) {
        await opened.sink.close();
        await this.finish(entry, count);
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
            this.host.emit();
          },
          onCommit: (watermark) => {
            if (Date.now() - entry.lastReportAt >= REPORT_EVERY_MS && watermark !== entry.reportedChunks && watermark < count) this.report(entry, watermark, 'ACTIVE');
          },
          onBadChunk: () => {
            entry.refetched++;
            this.host.emit();
          },
          onComplete: () => {
            entry.phase = 'verifying';
            this.host.emit(true);
            void opened.sink.markComplete().then(
              () => this.finish(entry, count),
              (error: unknown) => this.failed(entry, new TransferError('ERR_STORAGE', String(error))),
            );
          },
          onFailure: (error) => this.failed(entry, error),
          onStalled: () => this.host.existingLink(server.senderDeviceId)?.reset(new TransferError('ERR_TIMEOUT', 'No data for a while.')),
        },
      });
      entry.receive = { session, sink: opened.sink };
      entry.bytesDone = session.bytesDone;
      if (opened.watermark > 0) entry.resumedAt = session.bytesDone;
      entry.meter.reset();
      entry.meter.add(Date.now(), session.bytesDone);
      if (server.status === 'REQUESTED' || server.verifiedChunks !== opened.watermark) this.report(entry, opened.watermark, 'ACTIVE');
      const link = this.host.linkFor(server.senderDeviceId);
      const wire = link.currentWire;
      if (wire) this.attachReceive(entry, wire);
      else {
        link.connect();
        entry.phase = link.state === 'idle' ? 'waiting' : 'connecting';
      }
    } catch (error) {
      const failure = error instanceof TransferError ? error : new TransferError('ERR_STORAGE', String(error));
      this.failed(entry, failure);
    } finally {
      entry.starting = false;
      this.host.emit(true);
    }
  }

  attachReceive(entry: Entry, wire: Wire) {
    const session = entry.receive?.session;
    if (!session?.active) return;
    if (session.watermark > 0) entry.resumedAt = session.bytesDone;
    entry.phase = 'transferring';
    entry.meter.reset();
    entry.meter.add(Date.now(), session.bytesDone);
    session.attach(wire);
  }

  failed(entry: Entry, error: TransferError) {
    if (entry.phase === 'cancelled' || entry.phase === 'completed') return;
    entry.error = { code: error.code, message: error.message };
    if (error.code === 'ERR_CANCELLED') {
      entry.phase = 'cancelled';
      void this.host.refresh();
    } else {
      entry.phase = 'failed';
      if (FATAL.includes(error.code) && isOpen(entry.server.status)) this.report(entry, entry.receive?.session.watermark ?? 0, 'FAILED');
    }
    void entry.receive?.sink.close().catch(() => undefined);
    this.host.emit(true);
    this.pump();
  }

  /** Cancels a transfer on this side, tells the other device and the coordinator. */
  async cancel(transferId: string) {
    const entry = this.host.entries.get(transferId);
    if (!entry) return;
    entry.receive?.session.cancel();
    entry.send?.cancel();
    entry.phase = 'cancelled';
    entry.error = { code: 'ERR_CANCELLED', message: 'Cancelled on this device.' };
    this.host.emit(true);
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
    const entry = this.host.entries.get(transferId);
    if (!entry || entry.role !== 'receive') throw new Error('Only a receiving transfer can be retried.');
    if (isOpen(entry.server.status)) {
      entry.phase = 'queued';
      entry.error = null;
      entry.receive = null;
      this.pump();
      this.host.emit(true);
      return transferId;
    }
    const { transferId: fresh } = await this.request(entry.server.itemId);
    return fresh;
  }
}
