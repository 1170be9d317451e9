/**
 * Swaps agreed on the spot between two paired devices, with no React (issue 11, "barter without the
 * coordinator"). It runs as its own kind of session on the TransferManager's peer links (one WebRTC data
 * channel per pair of devices, app/_lib/transfer/), so once the channel is open nothing here needs the
 * coordinator:
 *  1. each side tells the other what it would swap (`barter-hello`: its shelf of files, its communities, its
 *     device's public key);
 *  2. one proposes (`barter-propose`, the whole receipt, app/_lib/barter/receipt.ts), the other accepts or
 *     declines;
 *  3. each asks for the file it gets (`barter-want`); the giver streams it in the transfer protocol's binary
 *     frames under its send window; the receiver checks the whole file against the SHA-256 in the receipt and
 *     keeps it in OPFS (importOffer, so it can be swapped on);
 *  4. each side signs the receipt once everything it gets has arrived and verified, and sends its signature
 *     (`barter-signed`), checked against the other device's key; with both, the receipt is kept in IndexedDB
 *     (receipt-store.ts).
 * Kept receipts are submitted to the coordinator (`barter.submitReceipt`) at start, whenever the browser comes
 * back online, every 10 s while one waits, and on demand; "already settled" (the other device was first) is
 * an answer, not an error: the settlement is read back (`barter.receipt`) and shown.
 */
import { TRPCClientError } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { z } from 'zod';
import type { AppRouter } from '@/server/routers/_app';
import { devicePublicKey, ensureDeviceKey, KEY_ALGORITHM, signWithDeviceKey } from '../device-keys';
import { sha256Hex } from '../storage/bundle';
import type { TransferManager } from '../transfer/manager';
import { encodeChunkFrame, MAX_FRAME_PAYLOAD, parseChunkFrame, transferKey } from '../transfer/protocol';
import { importOffer, offerSource } from '../transfer/storage';
import { DEFAULT_WINDOW } from '../transfer/window';
import { trpcClient, type AppClient } from '../trpc-client';
import { buildReceipt, receiptBytes, receiptHash, sideOf, swapFileSchema, swapReceiptSchema, verifyReceipt, type SwapFile, type SwapReceipt, type SwapSide } from './receipt';
import { keepReceipt, keptReceipts, type KeptReceipt, type Settlement } from './receipt-store';

type Outputs = inferRouterOutputs<AppRouter>;
export type SettlementAnswer = Outputs['barter']['receipt'];

/** The most a swapped file may weigh: it is put together in memory before its hash is checked. */
export const MAX_SWAP_BYTES = 64_000_000;
const SUBMIT_EVERY_MS = 10_000;
const MAX_SHELF = 20;
const HOLD_AFTER_HELLO_MS = 5 * 60_000;
/** A call to the coordinator that has not answered after this long counts as out of reach (tried again later). */
const CALL_TIMEOUT_MS = 30_000;

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('The coordinator did not answer in time.')), CALL_TIMEOUT_MS)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface SwapApi {
  setKey(input: { deviceId: string; publicKey: string; algorithm: typeof KEY_ALGORITHM }): Promise<unknown>;
  submit(receipt: SwapReceipt, signatures: { deviceId: string; signature: string }[]): Promise<unknown>;
  settlement(hash: string): Promise<SettlementAnswer>;
}

export function trpcSwapApi(client: AppClient = trpcClient()): SwapApi {
  return {
    setKey: (input) => client.device.setKey.mutate(input),
    submit: (receipt, signatures) => client.barter.submitReceipt.mutate({ receipt, signatures }),
    settlement: (hash) => client.barter.receipt.query({ hash }),
  };
}

const communitySchema = z.object({ id: z.string().min(1).max(64), name: z.string().max(120) });
const nonce = z.string().regex(/^[0-9a-f]{32}$/);
const controlSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('barter-hello'),
    handle: z.string().max(64).nullable(),
    publicKey: z.string().regex(/^[A-Za-z0-9_-]{40,400}$/),
    communities: z.array(communitySchema).max(50),
    files: z.array(swapFileSchema).max(MAX_SHELF),
    reply: z.boolean(),
  }),
  z.object({ type: z.literal('barter-propose'), receipt: swapReceiptSchema }),
  z.object({ type: z.literal('barter-accept'), nonce }),
  z.object({ type: z.literal('barter-decline'), nonce, reason: z.string().max(300) }),
  z.object({ type: z.literal('barter-want'), nonce }),
  z.object({ type: z.literal('barter-signed'), nonce, signature: z.string().min(16).max(256) }),
  z.object({ type: z.literal('barter-error'), nonce, message: z.string().max(300) }),
]);
type Control = z.infer<typeof controlSchema>;

export type Community = z.infer<typeof communitySchema>;
export type PeerInfo = { deviceId: string; handle: string | null; publicKey: string; communities: Community[]; files: SwapFile[] };

export type SwapPhase = 'proposed' | 'incoming' | 'exchanging' | 'done' | 'declined' | 'failed';

export type SwapView = {
  nonce: string;
  peerDeviceId: string;
  peerHandle: string | null;
  role: 'proposer' | 'accepter';
  receipt: SwapReceipt;
  communityName: string | null;
  gives: SwapSide;
  gets: SwapSide;
  phase: SwapPhase;
  bytesIn: number;
  bytesOut: number;
  /** the file I get arrived and matched its SHA-256 */
  verified: boolean;
  signedByMe: boolean;
  signedByPeer: boolean;
  error: string | null;
  hash: string | null;
};

type Swap = SwapView & { buffer: Uint8Array<ArrayBuffer> | null; filled: number; mySignature: string | null; peerSignature: string | null; sending: boolean };

export type SwapsSnapshot = {
  shelf: SwapFile[];
  peers: Record<string, PeerInfo>;
  swaps: SwapView[];
  receipts: KeptReceipt[];
  submitting: boolean;
  lastError: string | null;
};

const shelfKey = (deviceId: string) => `swapmesh.swapShelf.${deviceId}`;

export class OfflineSwaps {
  private readonly swaps = new Map<string, Swap>();
  private readonly peers = new Map<string, PeerInfo>();
  private readonly holding = new Set<string>();
  /** when each device last opened a swap with this one (its hello): the link stays up a while for its proposal */
  private readonly heardAt = new Map<string, number>();
  private shelf: SwapFile[] = [];
  private receipts: KeptReceipt[] = [];
  private identity: { handle: string | null; communities: Community[] } = { handle: null, communities: [] };
  private stopHandler: (() => void) | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private submitting: Promise<void> | null = null;
  private lastError: string | null = null;
  private listeners = new Set<() => void>();
  private snapshot: SwapsSnapshot;
  private readonly onOnline = () => void this.submitAll();

  constructor(
    readonly deviceId: string,
    private readonly manager: TransferManager,
    private readonly api: SwapApi = trpcSwapApi(),
  ) {
    this.snapshot = this.build();
  }

  start() {
    if (this.stopHandler) return;
    void this.manager.start();
    try {
      this.shelf = z.array(swapFileSchema).parse(JSON.parse(localStorage.getItem(shelfKey(this.deviceId)) ?? '[]'));
    } catch {
      this.shelf = [];
    }
    this.stopHandler = this.manager.addChannelHandler({
      onData: (remote, data) => this.onData(remote, data),
      onOpen: (remote) => this.onOpen(remote),
      onClose: (remote) => this.onClose(remote),
      needsLink: (remote) =>
        this.holding.has(remote) ||
        Date.now() - (this.heardAt.get(remote) ?? 0) < HOLD_AFTER_HELLO_MS ||
        [...this.swaps.values()].some((s) => s.peerDeviceId === remote && (s.phase === 'exchanging' || s.phase === 'proposed' || s.phase === 'incoming')),
    });
    window.addEventListener('online', this.onOnline);
    this.timer = setInterval(() => {
      if (this.receipts.some((r) => r.state === 'signed')) void this.submitAll();
    }, SUBMIT_EVERY_MS);
    void this.reload().then(() => this.submitAll());
    // the key exists before the coordinator may be out of reach, and is registered while it is not
    void ensureDeviceKey(this.deviceId, (input) => this.api.setKey(input)).catch(() => undefined);
  }

  stop() {
    this.stopHandler?.();
    this.stopHandler = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    window.removeEventListener('online', this.onOnline);
  }

  /** Who I am to the other device: my handle and the communities a receipt can settle in. */
  setIdentity(identity: { handle: string | null; communities: Community[] }) {
    const changed = JSON.stringify(identity) !== JSON.stringify(this.identity);
    this.identity = identity;
    if (changed) for (const remote of this.holding) void this.hello(remote, false);
  }

  // ---- React glue ----------------------------------------------------------------------------

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getSnapshot = () => this.snapshot;

  private build(): SwapsSnapshot {
    return {
      shelf: [...this.shelf],
      peers: Object.fromEntries(this.peers),
      swaps: [...this.swaps.values()].map(({ buffer: _b, filled: _f, mySignature: _m, peerSignature: _p, sending: _s, ...view }) => ({ ...view })),
      receipts: [...this.receipts],
      submitting: this.submitting !== null,
      lastError: this.lastError,
    };
  }

  private emit() {
    this.snapshot = this.build();
    for (const listener of this.listeners) listener();
  }

  // ---- the shelf: files this device offers to swap ---------------------------------------------

  /** Keeps a picked file on this device (OPFS, fingerprinted in one pass) and offers it for swaps. */
  async addToShelf(file: File): Promise<SwapFile> {
    if (file.size > MAX_SWAP_BYTES) throw new Error(`A swapped file can be at most ${MAX_SWAP_BYTES / 1_000_000} MB.`);
    const manifest = await importOffer(file);
    const entry: SwapFile = { name: file.name.slice(0, 200) || 'file', sha256: manifest.sha256, sizeBytes: manifest.sizeBytes };
    this.shelf = [entry, ...this.shelf.filter((f) => f.sha256 !== entry.sha256)].slice(0, MAX_SHELF);
    localStorage.setItem(shelfKey(this.deviceId), JSON.stringify(this.shelf));
    this.emit();
    for (const remote of this.holding) void this.hello(remote, false);
    return entry;
  }

  // ---- links -----------------------------------------------------------------------------------

  /** Opens (or keeps open) the link to a paired device and asks what it would swap. */
  open(remote: string) {
    this.holding.add(remote);
    const wire = this.manager.wireTo(remote);
    if (wire) void this.hello(remote, false);
  }

  /** Lets the link close when nothing else needs it. */
  release(remote: string) {
    this.holding.delete(remote);
  }

  /** Whether the data channel to this device is open now. */
  connected(remote: string): boolean {
    return this.manager.existingLink(remote)?.currentWire?.open ?? false;
  }

  private onOpen(remote: string) {
    if (this.holding.has(remote)) void this.hello(remote, false);
    this.emit();
  }

  private onClose(remote: string) {
    for (const swap of this.swaps.values()) {
      if (swap.peerDeviceId === remote && (swap.phase === 'exchanging' || swap.phase === 'proposed' || swap.phase === 'incoming')) {
        this.fail(
          swap,
          swap.mySignature
            ? 'The connection dropped after you signed, before the other signature arrived: if the other device has both, it settles the swap when it is online.'
            : 'The connection to the other device dropped before the swap finished: you signed nothing. Propose it again.',
        );
      }
    }
    this.emit();
  }

  private send(remote: string, message: Control): boolean {
    const wire = this.manager.wireTo(remote);
    if (!wire) return false;
    wire.send(JSON.stringify(message));
    return true;
  }

  private async hello(remote: string, reply: boolean) {
    const publicKey = await devicePublicKey(this.deviceId);
    this.send(remote, { type: 'barter-hello', handle: this.identity.handle, publicKey, communities: this.identity.communities.slice(0, 50), files: this.shelf, reply });
  }

  // ---- proposing and answering -------------------------------------------------------------

  /** The communities both devices belong to (a receipt settles in one of them). */
  sharedCommunities(remote: string): Community[] {
    const theirs = new Set(this.peers.get(remote)?.communities.map((c) => c.id));
    return this.identity.communities.filter((c) => theirs.has(c.id));
  }

  propose(remote: string, gives: SwapSide, gets: SwapSide, communityId: string): string {
    const peer = this.peers.get(remote);
    if (!peer) throw new Error('The other device has not answered yet: wait until it shows what it would swap.');
    if (!this.sharedCommunities(remote).some((c) => c.id === communityId)) throw new Error('Choose a community you both belong to.');
    if (gives.kind === 'file' && !this.shelf.some((f) => f.sha256 === gives.file.sha256)) throw new Error('That file is no longer kept on this device.');
    const receipt = buildReceipt({ communityId, proposer: { deviceId: this.deviceId, gives }, accepter: { deviceId: remote, gives: gets } });
    const swap = this.track(receipt, 'proposer', remote, peer.handle);
    swap.phase = 'proposed';
    if (!this.send(remote, { type: 'barter-propose', receipt })) this.fail(swap, 'The other device is not connected.');
    this.emit();
    return receipt.nonce;
  }

  accept(nonceId: string) {
    const swap = this.swaps.get(nonceId);
    if (!swap || swap.phase !== 'incoming') return;
    swap.phase = 'exchanging';
    this.send(swap.peerDeviceId, { type: 'barter-accept', nonce: swap.nonce });
    this.begin(swap);
    this.emit();
  }

  decline(nonceId: string, reason = 'The other device declined.') {
    const swap = this.swaps.get(nonceId);
    if (!swap || (swap.phase !== 'incoming' && swap.phase !== 'proposed')) return;
    swap.phase = 'declined';
    swap.error = swap.role === 'accepter' ? 'You declined.' : 'You withdrew the proposal.';
    this.send(swap.peerDeviceId, { type: 'barter-decline', nonce: swap.nonce, reason });
    this.emit();
  }

  /** Forgets a finished, declined or failed swap from the screen (its receipt, if any, stays kept). */
  dismiss(nonceId: string) {
    const swap = this.swaps.get(nonceId);
    if (swap && swap.phase !== 'exchanging') this.swaps.delete(nonceId);
    this.emit();
  }

  private track(receipt: SwapReceipt, role: 'proposer' | 'accepter', remote: string, peerHandle: string | null): Swap {
    const me = role === 'proposer' ? 0 : 1;
    const gives = sideOf(receipt.parties[me]);
    const gets = sideOf(receipt.parties[1 - me]!);
    const communityName = [...this.identity.communities, ...(this.peers.get(remote)?.communities ?? [])].find((c) => c.id === receipt.communityId)?.name ?? null;
    const swap: Swap = {
      nonce: receipt.nonce, peerDeviceId: remote, peerHandle, role, receipt, communityName, gives, gets, phase: 'incoming',
      bytesIn: 0, bytesOut: 0, verified: false, signedByMe: false, signedByPeer: false, error: null, hash: null,
      buffer: null, filled: 0, mySignature: null, peerSignature: null, sending: false,
    };
    this.swaps.set(receipt.nonce, swap);
    return swap;
  }

  /** After the accept: ask for the file I get, or sign at once when I get only credits. */
  private begin(swap: Swap) {
    if (swap.gets.kind === 'file') {
      swap.buffer = new Uint8Array(swap.gets.file.sizeBytes);
      swap.filled = 0;
      if (swap.gets.file.sizeBytes === 0) void this.received(swap);
      else this.send(swap.peerDeviceId, { type: 'barter-want', nonce: swap.nonce });
    } else void this.sign(swap);
  }

  private fail(swap: Swap, message: string, tell = false) {
    if (swap.phase === 'done') return;
    swap.phase = 'failed';
    swap.error = message;
    swap.buffer = null;
    if (tell) this.send(swap.peerDeviceId, { type: 'barter-error', nonce: swap.nonce, message });
    this.emit();
  }

  // ---- the data channel ------------------------------------------------------------------------

  private onData(remote: string, data: string | Uint8Array): boolean {
    if (typeof data !== 'string') return this.onFrame(remote, data);
    if (!data.startsWith('{"type":"barter-')) return false;
    let message: Control;
    try {
      message = controlSchema.parse(JSON.parse(data));
    } catch {
      return true; // ours, but malformed: ignored
    }
    void this.onControl(remote, message);
    return true;
  }

  private async onControl(remote: string, message: Control) {
    if (message.type === 'barter-hello') {
      this.peers.set(remote, { deviceId: remote, handle: message.handle, publicKey: message.publicKey, communities: message.communities, files: message.files });
      if (!message.reply) {
        this.heardAt.set(remote, Date.now());
        await this.hello(remote, true);
      }
      return this.emit();
    }
    if (message.type === 'barter-propose') return this.onProposal(remote, message.receipt);
    const swap = this.swaps.get(message.nonce);
    if (!swap || swap.peerDeviceId !== remote) return;
    switch (message.type) {
      case 'barter-accept':
        if (swap.role !== 'proposer' || swap.phase !== 'proposed') return;
        swap.phase = 'exchanging';
        this.begin(swap);
        return this.emit();
      case 'barter-decline':
        if (swap.phase !== 'proposed' && swap.phase !== 'incoming') return;
        swap.phase = 'declined';
        swap.error = message.reason;
        return this.emit();
      case 'barter-want':
        if (swap.phase !== 'exchanging' || swap.gives.kind !== 'file' || swap.sending) return;
        return this.sendFile(swap, swap.gives.file);
      case 'barter-signed':
        return this.onPeerSignature(swap, message.signature);
      case 'barter-error':
        return this.fail(swap, `The other device stopped the swap: ${message.message}`);
    }
  }

  private async onProposal(remote: string, receipt: SwapReceipt) {
    const peer = this.peers.get(remote);
    const refuse = (reason: string) => this.send(remote, { type: 'barter-decline', nonce: receipt.nonce, reason });
    if (receipt.parties[0].deviceId !== remote || receipt.parties[1].deviceId !== this.deviceId) return refuse('That proposal names other devices.');
    if (this.swaps.has(receipt.nonce)) return;
    if (!this.identity.communities.some((c) => c.id === receipt.communityId)) return refuse('This device is not a member of that community.');
    const gives = sideOf(receipt.parties[1]);
    const gets = sideOf(receipt.parties[0]);
    if (gives.kind === 'file' && !this.shelf.some((f) => f.sha256 === gives.file.sha256 && f.sizeBytes === gives.file.sizeBytes)) return refuse('That file is no longer offered on the other device.');
    if (gets.kind === 'file' && gets.file.sizeBytes > MAX_SWAP_BYTES) return refuse('That file is too large to swap.');
    this.track(receipt, 'accepter', remote, peer?.handle ?? null);
    this.emit();
  }

  private async sendFile(swap: Swap, file: SwapFile) {
    swap.sending = true;
    try {
      const source = await offerSource(file.sha256, MAX_FRAME_PAYLOAD, file.sizeBytes);
      if (!source) return this.fail(swap, 'This device no longer keeps the file it was to give.', true);
      const key = transferKey(`barter:${swap.nonce}:${this.deviceId}`);
      const chunks = Math.ceil(file.sizeBytes / MAX_FRAME_PAYLOAD);
      let lastEmit = 0;
      for (let index = 0; index < chunks; index++) {
        const wire = this.manager.wireTo(swap.peerDeviceId);
        if (!wire) return this.fail(swap, 'The connection to the other device dropped while sending.');
        const window = wire.window ?? DEFAULT_WINDOW;
        while (wire.open && wire.bufferedAmount > window.highWater) await wire.drained();
        if (!wire.open || swap.phase !== 'exchanging') return;
        const payload = await source.readChunk(index);
        wire.send(encodeChunkFrame(key, index, payload, 0));
        swap.bytesOut += payload.length;
        if (Date.now() - lastEmit > 200) {
          lastEmit = Date.now();
          this.emit();
        }
      }
      this.emit();
    } finally {
      swap.sending = false;
    }
  }

  private onFrame(remote: string, data: Uint8Array): boolean {
    const frame = parseChunkFrame(data);
    if (!frame.ok) return false;
    for (const swap of this.swaps.values()) {
      if (swap.peerDeviceId !== remote || swap.gets.kind !== 'file' || !swap.buffer) continue;
      if (transferKey(`barter:${swap.nonce}:${remote}`) !== frame.value.key) continue;
      const { index, offset, payload } = frame.value;
      const at = index * MAX_FRAME_PAYLOAD + offset;
      if (at !== swap.filled || at + payload.length > swap.buffer.length) {
        this.fail(swap, 'The file arrived out of order.', true);
        return true;
      }
      swap.buffer.set(payload, at);
      swap.filled += payload.length;
      swap.bytesIn = swap.filled;
      if (swap.filled === swap.buffer.length) void this.received(swap);
      else if (swap.filled % (1024 * 1024) < payload.length) this.emit();
      return true;
    }
    return false;
  }

  /** The whole file is here: check it against the receipt, keep it, then sign. */
  private async received(swap: Swap) {
    if (swap.gets.kind !== 'file' || !swap.buffer) return;
    const expected = swap.gets.file.sha256;
    const bytes = swap.buffer;
    swap.buffer = null;
    if ((await sha256Hex(bytes)) !== expected) return this.fail(swap, 'The file did not match the SHA-256 in the receipt: nothing was signed.', true);
    try {
      const kept = await importOffer(new Blob([bytes]));
      if (kept.sha256 !== expected) return this.fail(swap, 'The file could not be kept on this device.', true);
    } catch (error) {
      return this.fail(swap, `The file could not be kept on this device: ${error instanceof Error ? error.message : 'storage failed'}.`, true);
    }
    swap.verified = true;
    this.emit();
    await this.sign(swap);
  }

  private async sign(swap: Swap) {
    if (swap.mySignature) return;
    try {
      swap.mySignature = await signWithDeviceKey(this.deviceId, receiptBytes(swap.receipt));
    } catch {
      return this.fail(swap, 'This device could not sign the receipt (its key is missing).', true);
    }
    swap.signedByMe = true;
    this.send(swap.peerDeviceId, { type: 'barter-signed', nonce: swap.nonce, signature: swap.mySignature });
    await this.complete(swap);
  }

  private async onPeerSignature(swap: Swap, signature: string) {
    const peer = this.peers.get(swap.peerDeviceId);
    if (swap.phase !== 'exchanging' || swap.peerSignature) return;
    if (!peer || !(await verifyReceipt(swap.receipt, peer.publicKey, signature))) return this.fail(swap, "The other device's signature does not verify: the receipt was not kept.", true);
    swap.peerSignature = signature;
    swap.signedByPeer = true;
    await this.complete(swap);
  }

  /** Both signatures: keep the receipt, then try to settle it. */
  private async complete(swap: Swap) {
    if (!swap.mySignature || !swap.peerSignature || swap.phase !== 'exchanging') return this.emit();
    const hash = await receiptHash(swap.receipt);
    const signatures = swap.receipt.parties.map((p) => ({ deviceId: p.deviceId, signature: p.deviceId === this.deviceId ? swap.mySignature! : swap.peerSignature! }));
    await keepReceipt({
      hash, deviceId: this.deviceId, peerHandle: swap.peerHandle, receipt: swap.receipt, signatures,
      received: swap.gets.kind === 'file' ? swap.gets.file : null, state: 'signed', keptAt: new Date().toISOString(),
    });
    swap.hash = hash;
    swap.phase = 'done';
    await this.reload();
    void this.submitAll();
  }

  // ---- settling with the coordinator -----------------------------------------------------------

  private async reload() {
    try {
      this.receipts = await keptReceipts(this.deviceId);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : 'Receipts could not be read.';
    }
    this.emit();
  }

  /** Submits every kept receipt not yet settled (one run at a time; a call during a run shares it). */
  submitAll(): Promise<void> {
    if (this.submitting) return this.submitting;
    const run = (async () => {
      await Promise.resolve(); // `submitting` is set before any of this runs
      this.emit();
      for (const record of [...this.receipts]) if (record.state === 'signed') await this.submit(record).catch(() => undefined);
      await this.reload();
    })();
    this.submitting = run;
    void run
      .finally(() => {
        if (this.submitting === run) this.submitting = null;
        this.emit();
      })
      .catch(() => undefined);
    return run;
  }

  private async submit(record: KeptReceipt) {
    const update = async (changes: Partial<KeptReceipt>) => keepReceipt({ ...record, ...changes });
    try {
      await withTimeout(ensureDeviceKey(this.deviceId, (input) => this.api.setKey(input)));
      await withTimeout(this.api.submit(record.receipt, record.signatures));
      await this.settled(record, false);
    } catch (error) {
      if (!(error instanceof TRPCClientError)) return update({ lastTry: 'The coordinator is out of reach: the receipt waits on this device.' });
      const code = (error.data as { code?: string } | undefined)?.code;
      if (code === 'CONFLICT' && /already settled/.test(error.message)) return this.settled(record, true);
      if (code === 'BAD_REQUEST' || code === 'FORBIDDEN' || code === 'NOT_FOUND') return update({ state: 'refused', error: error.message, lastTry: undefined });
      // a device without a registered key yet, a busy coordinator, a dropped request: try again later
      return update({ lastTry: error.message === 'Failed to fetch' ? 'The coordinator is out of reach: the receipt waits on this device.' : error.message });
    }
  }

  private async settled(record: KeptReceipt, already: boolean) {
    const answer = await withTimeout(this.api.settlement(record.hash)).catch(() => null);
    if (!answer) return keepReceipt({ ...record, lastTry: 'Submitted; the settlement could not be read yet.' });
    if (!answer.settled) return keepReceipt({ ...record, lastTry: 'Submitted; the settlement is not visible yet.' });
    const settlement: Settlement = { settledAt: answer.settledAt, net: answer.net, legs: answer.legs.map(({ category, unit, quantity, mine, from, to, credits, commission }) => ({ category, unit, quantity, mine, from, to, credits, commission })) };
    await keepReceipt({ ...record, state: 'settled', alreadySettled: already, settlement, lastTry: undefined });
  }

  /** The file this device received in a swap, from OPFS (to save it). */
  async receivedFile(record: KeptReceipt): Promise<Blob | null> {
    if (!record.received) return null;
    const source = await offerSource(record.received.sha256, record.received.sizeBytes || 1, record.received.sizeBytes);
    if (!source) return null;
    return new Blob([new Uint8Array(await source.readChunk(0))]);
  }
}

let current: OfflineSwaps | null = null;

/** One swap session per device for the page's lifetime, beside its TransferManager (`start()` it in an effect). */
export function getOfflineSwaps(deviceId: string, manager: TransferManager): OfflineSwaps {
  if (current && current.deviceId === deviceId) return current;
  current?.stop();
  current = new OfflineSwaps(deviceId, manager);
  return current;
}
