/**
 * The browser side of a relay session, on the TransferManager's peer links (addChannelHandler / wireTo, as
 * storage does): the two ENDS (RelayEnd: the buyer's sending device and the receiving device) each talk only to
 * the relay device; the RELAY (RelayForwarder: the seller's device) forwards the ends' key messages and the
 * sender's frames to the receiver, unchanged. Frames are AES-GCM ciphertext under a key only the ends hold
 * (./crypto.ts), so the relay counts and forwards bytes it cannot read.
 *
 * Control messages on the wire are JSON strings starting `{"type":"relay-`; frames are binary, opened by "RLY1".
 * Each end signs and sends a cumulative receipt of the file bytes it sent or received (and decrypted) every
 * RELAY_RECEIPT_INTERVAL_MS while they move, and once more at the end; the coordinator pays min of the two.
 */
import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import { z } from 'zod';
import type { AppRouter } from '@/server/routers/_app';
import { RELAY_RECEIPT_INTERVAL_MS, relayKeyBytes, relayReceiptBytes, type RelayReceipt, type RelayRole } from '@/server/relay/receipt-format';
import type { RelaySessionView } from '@/server/relay/sessions';
import { ensureDeviceKey, signWithDeviceKey } from '../device-keys';
import { getTransferManager, type TransferManager } from '../transfer/manager';
import type { Wire } from '../transfer/session';
import { DEFAULT_WINDOW } from '../transfer/window';
import { deriveSessionKey, isRelayFrame, keyVouched, makeSessionKeys, openFrame, sealFrame, sha256Hex, type SessionKeys } from './crypto';

/** Plaintext bytes per frame. */
const CHUNK = 64 * 1024;
/** The largest file one relay carries here (kept in memory on the receiving page until saved). */
export const MAX_RELAY_FILE = 256 * 1024 * 1024;

const controlSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('relay-key'), sessionId: z.string().max(64), role: z.enum(['SENDER', 'RECEIVER']), deviceId: z.string().max(64), key: z.string().max(200), signature: z.string().max(200) }),
  z.object({ type: z.literal('relay-done'), sessionId: z.string().max(64), ok: z.boolean() }),
]);
type Control = z.infer<typeof controlSchema>;
const isControl = (data: string | Uint8Array): data is string => typeof data === 'string' && data.startsWith('{"type":"relay-');
function parseControl(data: string): Control | null {
  try {
    const parsed = controlSchema.safeParse(JSON.parse(data));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

const client = (): TRPCClient<AppRouter> => createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: '/api/trpc' })] });

async function sendWindowed(wire: Wire, data: Uint8Array) {
  const window = wire.window ?? DEFAULT_WINDOW;
  while (wire.open && wire.bufferedAmount > window.highWater) await wire.drained();
  if (!wire.open) throw new Error('The connection to the relay dropped.');
  wire.send(data);
}

export type EndSnapshot = {
  phase: 'connecting' | 'keyed' | 'sending' | 'receiving' | 'done' | 'failed';
  /** file bytes sent (SENDER) or received and decrypted (RECEIVER) */
  bytes: number;
  total: number;
  /** the bytes the coordinator last accepted from this end */
  counted: number;
  file: { name: string; size: number; sha256: string; type: string } | null;
  /** RECEIVER: whether the whole file's SHA-256 matched what the sender announced (null until it is all here) */
  verified: boolean | null;
  url: string | null;
  problem: string | null;
};

/** What the sender announces about the file, encrypted as the first frame (the relay never sees it). */
const metaSchema = z.object({
  name: z.string().min(1).max(255),
  size: z.number().int().min(0).max(MAX_RELAY_FILE),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  type: z.string().max(255),
});
type Meta = z.infer<typeof metaSchema>;

/** One end of a relay session on this device. */
export class RelayEnd {
  private keys: SessionKeys | null = null;
  private aes: CryptoKey | null = null;
  private keyed: Promise<void>;
  private resolveKeyed!: () => void;
  private stopHandler: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private seq: number;
  private sentKey = false;
  private otherKey: string | null = null;
  private receiveBase = 0;
  private received: Uint8Array[] = [];
  private nextFrame = 1;
  private reporting: Promise<void> = Promise.resolve();
  private snap: EndSnapshot;
  private readonly manager: TransferManager;
  private readonly api = client();

  constructor(
    private view: RelaySessionView,
    readonly role: RelayRole,
    readonly deviceId: string,
    private readonly onChange: (snap: EndSnapshot) => void,
  ) {
    this.manager = getTransferManager(deviceId);
    const end = role === 'SENDER' ? view.sender : view.receiver;
    this.seq = end.seq;
    this.snap = { phase: 'connecting', bytes: end.bytes, total: 0, counted: end.bytes, file: null, verified: null, url: null, problem: null };
    this.keyed = new Promise((resolve) => (this.resolveKeyed = resolve));
  }

  get snapshot() {
    return this.snap;
  }

  private set(patch: Partial<EndSnapshot>) {
    this.snap = { ...this.snap, ...patch };
    this.onChange(this.snap);
  }

  private get relayId() {
    return this.view.relay.deviceId;
  }

  /** The session changed on the coordinator (the relay attached, the receiver joined). */
  update(view: RelaySessionView) {
    this.view = view;
    this.reach();
  }

  async start() {
    await ensureDeviceKey(this.deviceId, (input) => this.api.device.setKey.mutate(input));
    if (this.role === 'RECEIVER' && !this.view.receiver.joined) this.view = await this.api.relay.join.mutate({ sessionId: this.view.id, deviceId: this.deviceId });
    this.keys = await makeSessionKeys();
    void this.manager.start();
    this.stopHandler = this.manager.addChannelHandler({
      onData: (remote, data) => this.onData(remote, data),
      onOpen: (remote) => {
        if (remote === this.relayId) this.sendKey();
      },
      needsLink: (remote) => remote === this.relayId && this.snap.phase !== 'done' && this.snap.phase !== 'failed',
    });
    this.timer = setInterval(() => {
      this.reach();
      void this.report();
    }, RELAY_RECEIPT_INTERVAL_MS);
    this.reach();
  }

  close() {
    this.stopHandler?.();
    if (this.timer) clearInterval(this.timer);
    this.stopHandler = this.timer = null;
  }

  private reach() {
    if (!this.relayId || this.view.state !== 'LIVE') return;
    if (this.manager.wireTo(this.relayId)) this.sendKey();
  }

  private sendKey() {
    if (this.sentKey || !this.keys || !this.relayId) return;
    const wire = this.manager.wireTo(this.relayId);
    if (!wire) return;
    this.sentKey = true;
    const keys = this.keys;
    void signWithDeviceKey(this.deviceId, relayKeyBytes(this.view.id, this.role, this.deviceId, keys.publicKey)).then((signature) => {
      const message: Control = { type: 'relay-key', sessionId: this.view.id, role: this.role, deviceId: this.deviceId, key: keys.publicKey, signature };
      if (wire.open) wire.send(JSON.stringify(message));
      else this.sentKey = false;
    });
  }

  private onData(remote: string, data: string | Uint8Array): boolean {
    if (remote !== this.relayId) return false;
    if (isControl(data)) {
      const message = parseControl(data);
      if (!message || message.sessionId !== this.view.id) return false;
      if (message.type === 'relay-key') void this.takeKey(message);
      else if (message.type === 'relay-done' && this.role === 'SENDER') {
        this.set({ phase: message.ok ? 'done' : 'failed', problem: message.ok ? null : "The receiver's copy did not match the file's SHA-256." });
        void this.report();
      }
      return true;
    }
    if (typeof data !== 'string' && isRelayFrame(data) && this.role === 'RECEIVER') {
      void this.takeFrame(data);
      return true;
    }
    return false;
  }

  private async takeKey(message: Extract<Control, { type: 'relay-key' }>) {
    const otherRole: RelayRole = this.role === 'SENDER' ? 'RECEIVER' : 'SENDER';
    let other = otherRole === 'SENDER' ? this.view.sender : this.view.receiver;
    if (message.deviceId !== other.deviceId || !other.key) {
      // the other end joined (or registered its key) since this page last read the session
      this.view = await this.api.relay.get.query({ sessionId: this.view.id });
      other = otherRole === 'SENDER' ? this.view.sender : this.view.receiver;
    }
    if (message.role !== otherRole || message.deviceId !== other.deviceId || !other.key) return;
    if (!(await keyVouched(other.key, this.view.id, otherRole, other.deviceId, message.key, message.signature))) {
      this.set({ phase: 'failed', problem: "The other device's key was not signed by it: the relay may have tried to read the file. Nothing was sent." });
      return;
    }
    if (message.key === this.otherKey) return;
    this.otherKey = message.key;
    this.aes = await deriveSessionKey(this.keys!, message.key);
    // the other end may have come back (a reload) with a new key: it needs ours again
    this.sentKey = false;
    this.sendKey();
    if (this.snap.phase === 'connecting') this.set({ phase: 'keyed' });
    this.resolveKeyed();
  }

  /** SENDER: encrypts and sends a file through the relay, counting the file bytes sent. */
  async send(file: Blob & { name?: string }) {
    if (this.role !== 'SENDER') throw new Error('Only the sending device sends.');
    const room = this.view.wholeBytes - this.snap.bytes;
    if (file.size > Math.min(room, MAX_RELAY_FILE)) throw new Error(`This file is larger than what is left to relay (${Math.floor(Math.min(room, MAX_RELAY_FILE) / 1_000_000)} MB).`);
    const bytes = new Uint8Array(await file.arrayBuffer());
    const meta: Meta = { name: file.name ?? 'file', size: bytes.length, sha256: await sha256Hex(bytes), type: file.type || 'application/octet-stream' };
    this.set({ file: meta, total: bytes.length, phase: this.aes ? 'sending' : 'connecting' });
    await this.keyed;
    const base = this.snap.bytes;
    this.set({ phase: 'sending' });
    const wire = () => {
      const w = this.relayId ? this.manager.wireTo(this.relayId) : null;
      if (!w) throw new Error('The connection to the relay dropped.');
      return w;
    };
    let frame = this.nextFrame;
    await sendWindowed(wire(), await sealFrame(this.aes!, this.view.id, frame++, new TextEncoder().encode(JSON.stringify(meta))));
    for (let at = 0; at < bytes.length; at += CHUNK) {
      const chunk = bytes.subarray(at, Math.min(bytes.length, at + CHUNK));
      await sendWindowed(wire(), await sealFrame(this.aes!, this.view.id, frame++, chunk));
      this.set({ bytes: base + at + chunk.length });
    }
    this.nextFrame = frame;
    void this.report();
  }

  private frames: Promise<void> = Promise.resolve();
  private takeFrame(data: Uint8Array) {
    // in arrival order, one at a time
    this.frames = this.frames.then(async () => {
      if (!this.aes) await this.keyed;
      let opened;
      try {
        opened = await openFrame(this.aes!, this.view.id, data);
      } catch {
        this.set({ phase: 'failed', problem: 'A frame did not decrypt: it was altered on the way.' });
        return;
      }
      if (!this.snap.file || this.snap.phase === 'done') {
        let meta: Meta;
        try {
          meta = metaSchema.parse(JSON.parse(new TextDecoder().decode(opened.plaintext)));
        } catch {
          this.set({ phase: 'failed', problem: "The sender's description of the file was not readable." });
          return;
        }
        this.received = [];
        this.receiveBase = this.snap.bytes;
        this.set({ file: meta, total: meta.size, phase: 'receiving', verified: null, url: null });
        return;
      }
      this.received.push(opened.plaintext);
      const got = this.received.reduce((sum, c) => sum + c.length, 0);
      this.set({ bytes: this.receiveBase + got });
      if (got >= this.snap.file.size) await this.finish();
    });
  }

  private async finish() {
    const file = this.snap.file!;
    const blob = new Blob(this.received as BlobPart[], { type: file.type });
    const hash = await sha256Hex(await blob.arrayBuffer());
    const ok = hash === file.sha256;
    this.set({ phase: ok ? 'done' : 'failed', verified: ok, url: ok ? URL.createObjectURL(blob) : null, problem: ok ? null : "The file did not match its SHA-256: don't use it." });
    const wire = this.relayId ? this.manager.wireTo(this.relayId) : null;
    wire?.send(JSON.stringify({ type: 'relay-done', sessionId: this.view.id, ok } satisfies Control));
    await this.report();
  }

  /** Signs and sends a receipt for the bytes counted so far, if they moved since the last one. */
  report(): Promise<void> {
    this.reporting = this.reporting.then(async () => {
      const bytes = this.snap.bytes;
      if (bytes <= this.snap.counted || this.view.state !== 'LIVE') return;
      const body: RelayReceipt = { version: 1, sessionId: this.view.id, deviceId: this.deviceId, role: this.role, seq: this.seq + 1, bytes, at: Date.now() };
      try {
        const signature = await signWithDeviceKey(this.deviceId, relayReceiptBytes(body));
        await this.api.relay.receipt.mutate({ body, signature });
        this.seq = body.seq;
        this.set({ counted: bytes });
      } catch (error) {
        this.set({ problem: error instanceof Error ? error.message : String(error) });
        // a number already used (another tab, a reload): go on from the coordinator's
        const fresh = await this.api.relay.get.query({ sessionId: this.view.id }).catch(() => null);
        if (fresh) {
          this.view = fresh;
          this.seq = (this.role === 'SENDER' ? fresh.sender : fresh.receiver).seq;
        }
      }
    });
    return this.reporting;
  }
}

export type RelaySnapshot = { forwarded: number; frames: number; senderOnline: boolean; receiverOnline: boolean };

declare global {
  interface Window {
    /** with localStorage swapmesh.debug = 1: the bytes this device relayed, for tests that check it never saw plaintext */
    __swapmeshRelayed?: Uint8Array[];
  }
}

/** The relay's side: forwards the ends' key messages and the sender's frames to the receiver, as they are. */
export class RelayForwarder {
  private stopHandler: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private queue: Promise<void> = Promise.resolve();
  private pendingKeys = new Map<string, string>();
  private snap: RelaySnapshot = { forwarded: 0, frames: 0, senderOnline: false, receiverOnline: false };
  private readonly manager: TransferManager;
  private readonly api = client();
  private readonly tap: Uint8Array[] | null;

  constructor(
    private view: RelaySessionView,
    readonly deviceId: string,
    private readonly onChange: (snap: RelaySnapshot) => void,
  ) {
    this.manager = getTransferManager(deviceId);
    this.tap = typeof window !== 'undefined' && window.localStorage.getItem('swapmesh.debug') === '1' ? (window.__swapmeshRelayed ??= []) : null;
  }

  update(view: RelaySessionView) {
    this.view = view;
  }

  async start() {
    if (this.view.relay.deviceId !== this.deviceId) this.view = await this.api.relay.serve.mutate({ sessionId: this.view.id, deviceId: this.deviceId });
    void this.manager.start();
    const ends = () => [this.view.sender.deviceId, this.view.receiver.deviceId];
    this.stopHandler = this.manager.addChannelHandler({
      onData: (remote, data) => this.onData(remote, data),
      onOpen: (remote) => {
        if (!ends().includes(remote)) return;
        this.flushKeys(remote);
        this.status();
      },
      onClose: () => this.status(),
      needsLink: (remote) => this.view.state === 'LIVE' && ends().includes(remote),
    });
    const reach = () => {
      if (this.view.state !== 'LIVE') return;
      for (const id of ends()) if (this.manager.wireTo(id)) this.flushKeys(id);
      this.status();
    };
    this.timer = setInterval(reach, 2_000);
    reach();
  }

  close() {
    this.stopHandler?.();
    if (this.timer) clearInterval(this.timer);
    this.stopHandler = this.timer = null;
  }

  private status() {
    const open = (id: string) => Boolean(this.manager.linkFor(id).currentWire?.open);
    const next = { ...this.snap, senderOnline: open(this.view.sender.deviceId), receiverOnline: open(this.view.receiver.deviceId) };
    if (next.senderOnline !== this.snap.senderOnline || next.receiverOnline !== this.snap.receiverOnline) {
      this.snap = next;
      this.onChange(this.snap);
    }
  }

  private other(remote: string): string | null {
    if (remote === this.view.sender.deviceId) return this.view.receiver.deviceId;
    if (remote === this.view.receiver.deviceId) return this.view.sender.deviceId;
    return null;
  }

  /** A key message for a device whose link is not open yet waits here (the latest one per device). */
  private flushKeys(to: string) {
    const message = this.pendingKeys.get(to);
    const wire = message ? this.manager.wireTo(to) : null;
    if (message && wire) {
      wire.send(message);
      this.pendingKeys.delete(to);
    }
  }

  private onData(remote: string, data: string | Uint8Array): boolean {
    const to = this.other(remote);
    if (!to) return false;
    if (isControl(data)) {
      const message = parseControl(data);
      if (!message || message.sessionId !== this.view.id) return false;
      // key messages and the receiver's "done" go to the other end as they are
      if (message.type === 'relay-done' && remote !== this.view.receiver.deviceId) return true;
      this.pendingKeys.set(to, data);
      this.flushKeys(to);
      return true;
    }
    if (typeof data === 'string' || !isRelayFrame(data)) return false;
    if (remote !== this.view.sender.deviceId) return true; // frames flow from the sender only
    const copy = new Uint8Array(data);
    this.queue = this.queue.then(async () => {
      const wire = this.manager.wireTo(to);
      if (!wire) return;
      await sendWindowed(wire, copy).catch(() => undefined);
      this.tap?.push(copy);
      this.snap = { ...this.snap, forwarded: this.snap.forwarded + copy.length, frames: this.snap.frames + 1 };
      this.onChange(this.snap);
    });
    return true;
  }
}
