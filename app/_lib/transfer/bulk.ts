/**
 * The page's side of the bulk channels (bulk-frames.ts): `openBulk` adds one to a connection and hands it to the
 * storage worker in the same task (Chromium transfers a data channel only as it is created, before any `send`).
 * From then on the page only drives it: a sender posts one small command per run frame (`BulkChannel.sendRun`)
 * under a window of its own (up to BULK_COMMAND_WINDOW bytes of runs not yet sent by the worker, so the worker
 * always has the next frames while the page never queues much), and a receiving file's sink hears each chunk's
 * outcome (`listenStored`). Commands and events travel on a MessagePort of their own; a new storage worker (the
 * old one crashed or was stopped) gets a new port, and the channels of the old one count as closed.
 */
import { transfer, type Remote } from 'comlink';
import { BULK_CHANNEL_ID, BULK_LABEL, runSpan, type BulkCommand, type BulkEvent, type BulkRun, type StoredRun } from './bulk-frames';
import type { BulkSender } from './session';
import { storageWorker } from './storage-worker';
import type { StorageWorkerApi } from './storage.worker';
import { canSend, refillDue, windowConfig } from './window';

/** Bytes of runs a sender may have posted to the worker and not yet seen sent. */
const BULK_COMMAND_WINDOW = windowConfig(2 * 1024 * 1024);

type Pending = { bytes: number; resolve: () => void; reject: (error: Error) => void };

/** A connection's bulk channel, seen from the page. */
export class BulkChannel implements BulkSender {
  private outstanding = 0;
  private readonly pending = new Map<number, Pending>();
  private waiters: (() => void)[] = [];
  private nextCmd = 1;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly post: (command: BulkCommand) => void,
    private readonly forget: () => void,
  ) {}

  get open() {
    return !this.closed;
  }
  canSend(bytes: number) {
    return canSend(this.outstanding, bytes, BULK_COMMAND_WINDOW);
  }
  drained(): Promise<void> {
    if (refillDue(this.outstanding, BULK_COMMAND_WINDOW, this.open)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
  sendRun(run: BulkRun): Promise<void> {
    if (this.closed) return Promise.resolve();
    const cmd = this.nextCmd++;
    const { length } = runSpan(run);
    this.outstanding += length;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(cmd, { bytes: length, resolve, reject });
      this.post({ type: 'send', channel: this.id, cmd, run });
    });
  }
  close() {
    if (this.closed) return;
    this.post({ type: 'close', channel: this.id });
    this.ended();
  }

  /** The worker sent run `cmd` (or could not read it). */
  sent(cmd: number, error: string | undefined) {
    const pending = this.pending.get(cmd);
    if (!pending) return;
    this.pending.delete(cmd);
    this.outstanding -= pending.bytes;
    if (error) pending.reject(new Error(error));
    else pending.resolve();
    if (refillDue(this.outstanding, BULK_COMMAND_WINDOW, this.open)) this.release();
  }

  /** The channel is gone: runs still waiting count as sent (the receiver asks again from its watermark). */
  ended() {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    for (const pending of this.pending.values()) pending.resolve();
    this.pending.clear();
    this.outstanding = 0;
    this.release();
  }

  private release() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}

class BulkLinks {
  private port: MessagePort | null = null;
  private remote: Remote<StorageWorkerApi> | null = null;
  private readonly channels = new Map<number, BulkChannel>();
  private readonly listeners = new Map<string, (result: StoredRun) => void>();
  private nextId = 1;

  /**
   * Adds the bulk channel to a connection being made and hands it to the storage worker; null where that fails
   * (a browser that cannot transfer data channels: the connection then carries everything on simple-peer's).
   */
  open(pc: RTCPeerConnection): BulkChannel | null {
    let channel: RTCDataChannel;
    try {
      channel = pc.createDataChannel(BULK_LABEL, { negotiated: true, id: BULK_CHANNEL_ID, ordered: true });
    } catch {
      return null;
    }
    const id = this.nextId++;
    try {
      const remote = this.connect();
      const bulk = new BulkChannel(id, (command) => this.port?.postMessage(command), () => this.channels.delete(id));
      this.channels.set(id, bulk);
      // the channel must leave in this task, before anything is sent on it
      remote.bulkChannel(id, transfer(channel, [channel as unknown as Transferable])).catch(() => {
        bulk.ended();
        channel.close();
      });
      return bulk;
    } catch {
      channel.close();
      return null;
    }
  }

  /** Hears what becomes of the run frames that arrive on bulk channels for a file being received; returns a remover. */
  listen(transferId: string, listener: (result: StoredRun) => void): () => void {
    this.listeners.set(transferId, listener);
    return () => {
      if (this.listeners.get(transferId) === listener) this.listeners.delete(transferId);
    };
  }

  private connect(): Remote<StorageWorkerApi> {
    const remote = storageWorker();
    if (this.port && this.remote === remote) return remote;
    this.port?.close();
    for (const channel of [...this.channels.values()]) channel.ended();
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = (event: MessageEvent<BulkEvent>) => this.event(event.data);
    void remote.bulkPort(transfer(port2, [port2])).catch(() => undefined);
    this.port = port1;
    this.remote = remote;
    return remote;
  }

  private event(event: BulkEvent) {
    switch (event.type) {
      case 'sent':
        return this.channels.get(event.channel)?.sent(event.cmd, event.error);
      case 'closed':
        return this.channels.get(event.channel)?.ended();
      case 'stored':
        return this.listeners.get(event.transferId)?.(event.result);
    }
  }
}

const links = new BulkLinks();

/** Adds a bulk channel to a connection being made (see `BulkLinks.open`). */
export function openBulk(pc: RTCPeerConnection): BulkChannel | null {
  return links.open(pc);
}

/** Hears the outcome of each run frame received on a bulk channel for this transfer; returns a remover. */
export function listenStored(transferId: string, listener: (result: StoredRun) => void): () => void {
  return links.listen(transferId, listener);
}
