/// <reference lib="webworker" />
/**
 * The storage worker's end of the bulk channels (bulk-frames.ts): each connection's channel arrives here as it is
 * created, and the page drives it over a MessagePort of its own. Sending: each `send` command is one run frame,
 * read from the offered file straight into the frame after its header and sent under the app's window
 * (window.ts), one command at a time per channel; the page is told when it went, which refills its own
 * window of commands. Receiving: a run frame for a file open here is checked and written like a batch from the
 * page (`store`), and the page is told each chunk's outcome; the bytes never leave this worker.
 */
import type { ChunkBatch } from './chunk-batch';
import { bulkBatch, damageOffset, runSpan, type BulkCommand, type BulkEvent, type BulkRun, type Receipt } from './bulk-frames';
import { FRAME_HEADER_BYTES, MAX_RUN_FRAME, writeRunHeader } from './protocol';
import { ChannelWindow, DEFAULT_WINDOW } from './window';

export type BulkStore = {
  /** the file being received here whose transfer key this is */
  receipt(key: number): Receipt | undefined;
  /** verifies and writes a batch after the file's earlier ones; one byte per chunk, 1 when it was verified and written */
  store(batch: ChunkBatch): Promise<Uint8Array>;
  /** fills `into` with an offered file's bytes from `offset` on */
  readOffer(sha256: string, into: Uint8Array, offset: number): Promise<void>;
};

type Queued = { cmd: number; run: BulkRun };

/** One bulk channel in this worker. */
class Endpoint {
  private readonly queue: Queued[] = [];
  private pumping = false;
  private readonly window: ChannelWindow;
  private readonly frame = new Uint8Array(MAX_RUN_FRAME);

  constructor(
    readonly id: number,
    private readonly channel: RTCDataChannel,
    private readonly store: BulkStore,
    private readonly post: (event: BulkEvent) => void,
    onClose: () => void,
  ) {
    channel.binaryType = 'arraybuffer';
    this.window = new ChannelWindow(channel, DEFAULT_WINDOW);
    channel.onmessage = (event: MessageEvent) => {
      if (event.data instanceof ArrayBuffer) this.receive(new Uint8Array(event.data));
    };
    channel.onclose = () => {
      this.window.dispose();
      onClose();
      this.drop();
      this.post({ type: 'closed', channel: id });
    };
    channel.onopen = () => void this.pump();
  }

  send(queued: Queued) {
    this.queue.push(queued);
    void this.pump();
  }

  close() {
    this.channel.close();
  }

  private receive(bytes: Uint8Array) {
    const found = bulkBatch(bytes, (key) => this.store.receipt(key));
    if (!found) return;
    const { transferId } = found;
    if ('error' in found) return this.post({ type: 'stored', transferId, result: { error: found.error, code: 'ERR_PROTOCOL' } });
    if (!found.batch) return this.post({ type: 'stored', transferId, result: { first: found.first, ok: new Uint8Array(found.count) } });
    this.store.store(found.batch).then(
      (ok) => this.post({ type: 'stored', transferId, result: { first: found.first, ok } }),
      (error: unknown) => this.post({ type: 'stored', transferId, result: { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), code: 'ERR_STORAGE' } }),
    );
  }

  /** Sends the queued runs in order, each once the window has room; waits for the channel to open. */
  private async pump() {
    if (this.pumping || this.channel.readyState !== 'open') return;
    this.pumping = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        let error: string | undefined;
        try {
          const frame = await this.build(next.run);
          while (!this.window.canSend(frame.length) && this.channel.readyState === 'open') await this.window.drained();
          if (this.channel.readyState === 'open') this.channel.send(frame);
        } catch (e) {
          error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        }
        this.post({ type: 'sent', channel: this.id, cmd: next.cmd, ...(error ? { error } : {}) });
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The run frame in this channel's one frame buffer (a data channel copies what it sends). */
  private async build(run: BulkRun): Promise<Uint8Array<ArrayBuffer>> {
    const { offset, length } = runSpan(run);
    const frame = this.frame.subarray(0, FRAME_HEADER_BYTES + length) as Uint8Array<ArrayBuffer>;
    writeRunHeader(frame, run.key, run.first, run.count);
    await this.store.readOffer(run.sha256, frame.subarray(FRAME_HEADER_BYTES), offset);
    const damage = damageOffset(run);
    if (damage >= 0) frame[FRAME_HEADER_BYTES + damage]! ^= 0xff;
    return frame;
  }

  /** The channel closed: what still waited is answered as sent (the receiver asks again from its watermark). */
  private drop() {
    for (const queued of this.queue.splice(0)) this.post({ type: 'sent', channel: this.id, cmd: queued.cmd });
  }
}

/** Every bulk channel of this worker, and the page's port that drives them. */
export class BulkChannels {
  private readonly endpoints = new Map<number, Endpoint>();
  private port: MessagePort | null = null;

  constructor(private readonly store: BulkStore) {}

  attachPort(port: MessagePort) {
    this.port?.close();
    this.port = port;
    port.onmessage = (event: MessageEvent<BulkCommand>) => this.command(event.data);
  }

  attachChannel(id: number, channel: RTCDataChannel) {
    this.endpoints.set(id, new Endpoint(id, channel, this.store, (event) => this.post(event), () => this.endpoints.delete(id)));
  }

  private command(command: BulkCommand) {
    const endpoint = this.endpoints.get(command.channel);
    if (command.type === 'close') return endpoint?.close();
    if (endpoint) endpoint.send({ cmd: command.cmd, run: command.run });
    else this.post({ type: 'sent', channel: command.channel, cmd: command.cmd });
  }

  private post(event: BulkEvent) {
    if (event.type === 'stored' && 'ok' in event.result) this.port?.postMessage(event, [event.result.ok.buffer]);
    else this.port?.postMessage(event);
  }
}
