/**
 * Swaps agreed on the spot between two paired devices, with no React (issue 11, "barter without the
 * coordinator"). It runs as its own kind of session on the TransferManager's peer links (one WebRTC data
 * channel per pair of devices, app/_lib/transfer/), so once the channel is open nothing here needs the
 * coordinator:
 *  1. each side tells the other what it would swap (`barter-hello`: its shelf of files, its communities, its
 *     device's public key);
 *  2. one proposes (`barter-propose`, the whole receipt, app/_lib/barter/receipt.ts), the other accepts or
 *     declines;
 *  3. each asks for the file it gets (`barter-want`); the giver answers with the file's manifest (chunk size
 *     and chunk hashes, `barter-manifest` pages), and the file then travels through the same path as any
 *     transfer (app/_lib/transfer/session.ts: `ReceiveSession` / `SendSession` under the send window, each
 *     chunk checked against its hash and written to OPFS by the storage worker as it arrives, a durable
 *     watermark); the whole file must match the SHA-256 in the receipt, and is then kept as an offer of this
 *     device (so it can be swapped on). Nothing is held in memory, so a swapped file is as large as the device
 *     has room for;
 *  4. each side signs the receipt once everything it gets has arrived and verified, and sends its signature
 *     (`barter-signed`), checked against the other device's key; with both, the receipt is kept in IndexedDB
 *     (receipt-store.ts).
 * A swap that was agreed survives a dropped connection and a reload: it is kept in localStorage until it is
 * done, and when the link to the other device is back each side asks again from its watermark (the bytes
 * already verified stay), and a signature sent before the break is sent again.
 * Kept receipts are submitted to the coordinator (`barter.submitReceipt`) at start, whenever the browser comes
 * back online, every 10 s while one waits, and on demand; "already settled" (the other device was first) is
 * an answer, not an error: the settlement is read back (`barter.receipt`) and shown.
 */
import { TRPCClientError } from '@trpc/client';
import type { inferRouterOutputs } from '@trpc/server';
import { z } from 'zod';
import type { AppRouter } from '@/server/routers/_app';
import { devicePublicKey, ensureDeviceKey, KEY_ALGORITHM, signWithDeviceKey } from '../device-keys';
import { chunkCount, HEX_SHA256, manifestProblem, type Manifest } from '../transfer/chunks';
import type { TransferManager } from '../transfer/manager';
import { parseChunkFrame, parseControl, type ControlMessage } from '../transfer/protocol';
import { openIncoming } from '../transfer/receiving';
import { ReceiveSession, SendSession } from '../transfer/session';
import { adoptIncoming, importOffer, offerFile, offerManifest, offerSource, removeIncoming, storageEstimate, type OpfsIncoming } from '../transfer/storage';
import { trpcClient, type AppClient } from '../trpc-client';
import { buildReceipt, receiptBytes, receiptHash, sideOf, swapFileSchema, swapReceiptSchema, verifyReceipt, type SwapFile, type SwapReceipt, type SwapSide } from './receipt';
import { keepReceipt, keptReceipts, type KeptReceipt, type Settlement } from './receipt-store';

type Outputs = inferRouterOutputs<AppRouter>;
export type SettlementAnswer = Outputs['barter']['receipt'];

/** Chunk hashes per `barter-manifest` message (about 69 KB of JSON, well under a data-channel message's limit). */
export const MANIFEST_PAGE = 1024;
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
  z.object({
    type: z.literal('barter-manifest'),
    nonce,
    chunkSize: z.number().int().min(1).max(64 * 1024 * 1024),
    /** the index of the first hash in this page, and how many the manifest has */
    from: z.number().int().min(0),
    total: z.number().int().min(0).max(1_000_000),
    hashes: z.array(z.string().regex(HEX_SHA256)).max(MANIFEST_PAGE),
  }),
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
  /** the connection dropped mid-swap: it goes on from the verified bytes when the other device is back */
  paused: boolean;
  /** bytes of the file I get that were already verified on this device when the transfer (re)started after a break */
  resumedFrom: number | null;
  signedByMe: boolean;
  signedByPeer: boolean;
  error: string | null;
  hash: string | null;
};

type Swap = SwapView & {
  mySignature: string | null;
  peerSignature: string | null;
  peerPublicKey: string | null;
  /** the file I get: its manifest as it arrives from the giver, then its receive session */
  manifestPages: { chunkSize: number; total: number; hashes: string[] } | null;
  incoming: { session: ReceiveSession; sink: OpfsIncoming } | null;
  opening: boolean;
  /** the file I give, to this device */
  outgoing: SendSession | null;
  /** my signature was sent back once after the swap was done here (the other device had missed it) */
  echoed: boolean;
};

/** What is kept of an agreed swap across reloads (localStorage), until it is done. */
type KeptSwap = Pick<Swap, 'receipt' | 'role' | 'peerDeviceId' | 'peerHandle' | 'peerPublicKey' | 'communityName' | 'mySignature' | 'peerSignature' | 'verified'>;
const keptSwapsKey = (deviceId: string) => `swapmesh.swapsInProgress.${deviceId}`;

/** The transfer id of the file one side gives in a swap (`p`roposer or `a`ccepter): names its frames, acks and resume record. */
export function swapTransferId(nonceId: string, giver: 'proposer' | 'accepter'): string {
  return `barter-${nonceId}-${giver === 'proposer' ? 'p' : 'a'}`;
}

/** Splits a manifest's chunk hashes into `barter-manifest` pages. */
export function manifestPages(nonceId: string, manifest: Pick<Manifest, 'chunkSize' | 'chunkHashes'>): Extract<Control, { type: 'barter-manifest' }>[] {
  const total = manifest.chunkHashes.length;
  const pages: Extract<Control, { type: 'barter-manifest' }>[] = [];
  for (let from = 0; from < total || (total === 0 && from === 0); from += MANIFEST_PAGE) {
    pages.push({ type: 'barter-manifest', nonce: nonceId, chunkSize: manifest.chunkSize, from, total, hashes: manifest.chunkHashes.slice(from, from + MANIFEST_PAGE) });
    if (total === 0) break;
  }
  return pages;
}

/**
 * Adds a `barter-manifest` page to what arrived so far (pages come in order on the ordered channel); returns
 * the manifest once whole and consistent with the file named in the receipt, 'incomplete' while pages are
 * missing, or a reason to refuse it.
 */
export function addManifestPage(
  so: { chunkSize: number; total: number; hashes: string[] } | null,
  page: Extract<Control, { type: 'barter-manifest' }>,
  file: SwapFile,
): { state: 'incomplete'; pages: { chunkSize: number; total: number; hashes: string[] } } | { state: 'whole'; manifest: Manifest } | { state: 'bad'; reason: string } {
  const pages = page.from === 0 || !so ? { chunkSize: page.chunkSize, total: page.total, hashes: [] as string[] } : so;
  if (pages.chunkSize !== page.chunkSize || pages.total !== page.total || page.from !== pages.hashes.length) return { state: 'bad', reason: 'the manifest arrived out of order' };
  pages.hashes.push(...page.hashes);
  if (pages.hashes.length > pages.total) return { state: 'bad', reason: 'the manifest has too many chunk hashes' };
  if (pages.hashes.length < pages.total) return { state: 'incomplete', pages };
  const manifest: Manifest = { sizeBytes: file.sizeBytes, sha256: file.sha256, chunkSize: pages.chunkSize, chunkHashes: pages.hashes };
  const problem = manifestProblem(manifest);
  if (problem) return { state: 'bad', reason: `its manifest is unusable (${problem})` };
  if (manifest.chunkHashes.length !== chunkCount(file.sizeBytes, manifest.chunkSize)) return { state: 'bad', reason: 'its manifest does not fit the file in the receipt' };
  return { state: 'whole', manifest };
}

export type SwapsSnapshot = {
  shelf: SwapFile[];
  peers: Record<string, PeerInfo>;
  swaps: SwapView[];
  receipts: KeptReceipt[];
  submitting: boolean;
  lastError: string | null;
};

const shelfKey = (deviceId: string) => `swapmesh.swapShelf.${deviceId}`;

/** SHA-256 of no bytes. */
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** How often running swaps look for a stalled transfer (as the TransferManager's tick does for its own). */
const TICK_MS = 1_000;
/** Progress reaches the screen at most this often. */
const EMIT_EVERY_MS = 200;

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
  private ticker: ReturnType<typeof setInterval> | null = null;
  private submitting: Promise<void> | null = null;
  private lastError: string | null = null;
  private listeners = new Set<() => void>();
  private snapshot: SwapsSnapshot;
  private lastEmit = 0;
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
    this.ticker = setInterval(() => {
      for (const swap of this.swaps.values()) swap.incoming?.session.tick();
    }, TICK_MS);
    this.restore();
    void this.reload().then(() => this.submitAll());
    // the key exists before the coordinator may be out of reach, and is registered while it is not
    void ensureDeviceKey(this.deviceId, (input) => this.api.setKey(input)).catch(() => undefined);
  }

  stop() {
    this.stopHandler?.();
    this.stopHandler = null;
    if (this.timer) clearInterval(this.timer);
    if (this.ticker) clearInterval(this.ticker);
    this.timer = null;
    this.ticker = null;
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
      swaps: [...this.swaps.values()].map((swap) => viewOf(swap)),
      receipts: [...this.receipts],
      submitting: this.submitting !== null,
      lastError: this.lastError,
    };
  }

  private emit() {
    this.lastEmit = Date.now();
    this.snapshot = this.build();
    for (const listener of this.listeners) listener();
  }

  /** Progress: at most every EMIT_EVERY_MS. */
  private emitSoon() {
    if (Date.now() - this.lastEmit >= EMIT_EVERY_MS) this.emit();
  }

  // ---- agreed swaps kept across reloads --------------------------------------------------------

  private save() {
    const kept: KeptSwap[] = [...this.swaps.values()]
      .filter((s) => s.phase === 'exchanging')
      .map(({ receipt, role, peerDeviceId, peerHandle, peerPublicKey, communityName, mySignature, peerSignature, verified }) => ({ receipt, role, peerDeviceId, peerHandle, peerPublicKey, communityName, mySignature, peerSignature, verified }));
    try {
      if (kept.length === 0) localStorage.removeItem(keptSwapsKey(this.deviceId));
      else localStorage.setItem(keptSwapsKey(this.deviceId), JSON.stringify(kept));
    } catch {
      // storage full or refused: the swap goes on, it just cannot outlive this page
    }
  }

  /** Swaps agreed before a reload go on: the link to each other device is opened again. */
  private restore() {
    let kept: KeptSwap[] = [];
    try {
      kept = JSON.parse(localStorage.getItem(keptSwapsKey(this.deviceId)) ?? '[]') as KeptSwap[];
    } catch {
      kept = [];
    }
    for (const k of kept) {
      const receipt = swapReceiptSchema.safeParse(k.receipt);
      if (!receipt.success || this.swaps.has(receipt.data.nonce)) continue;
      const swap = this.track(receipt.data, k.role, k.peerDeviceId, k.peerHandle);
      Object.assign(swap, {
        phase: 'exchanging', paused: true, peerPublicKey: k.peerPublicKey, communityName: k.communityName ?? swap.communityName,
        mySignature: k.mySignature, peerSignature: k.peerSignature, signedByMe: Boolean(k.mySignature), signedByPeer: Boolean(k.peerSignature), verified: k.verified,
      });
      if (swap.verified && swap.gets.kind === 'file') swap.bytesIn = swap.gets.file.sizeBytes;
      if (k.peerPublicKey && !this.peers.has(k.peerDeviceId)) this.peers.set(k.peerDeviceId, { deviceId: k.peerDeviceId, handle: k.peerHandle, publicKey: k.peerPublicKey, communities: [], files: [] });
    }
    for (const remote of new Set([...this.swaps.values()].map((s) => s.peerDeviceId))) if (this.manager.wireTo(remote)) this.onOpen(remote);
    this.emit();
  }

  // ---- the shelf: files this device offers to swap ---------------------------------------------

  /** Keeps a picked file on this device (OPFS, fingerprinted in one pass) and offers it for swaps. */
  async addToShelf(file: File): Promise<SwapFile> {
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
    const running = [...this.swaps.values()].filter((s) => s.peerDeviceId === remote && s.phase === 'exchanging');
    if (this.holding.has(remote) || running.length > 0) void this.hello(remote, false);
    for (const swap of running) this.resume(swap);
    this.emit();
  }

  /** The link to the other device is (back) up: each side goes on from where it was. */
  private resume(swap: Swap) {
    swap.paused = false;
    const wire = this.manager.wireTo(swap.peerDeviceId);
    if (!wire) return;
    if (swap.gets.kind === 'file' && !swap.verified) {
      if (swap.incoming?.session.active) {
        swap.resumedFrom = swap.incoming.session.bytesDone;
        swap.incoming.session.attach(wire);
      } else if (!swap.opening) this.askForFile(swap);
    }
    if (swap.mySignature) this.send(swap.peerDeviceId, { type: 'barter-signed', nonce: swap.nonce, signature: swap.mySignature });
    else if (swap.gets.kind !== 'file' || swap.verified) void this.sign(swap);
  }

  private onClose(remote: string) {
    for (const swap of this.swaps.values()) {
      if (swap.peerDeviceId !== remote) continue;
      if (swap.phase === 'proposed' || swap.phase === 'incoming') {
        this.fail(swap, 'The connection to the other device dropped before the swap was agreed: you signed nothing. Propose it again.');
      } else if (swap.phase === 'exchanging') {
        // agreed: what was verified stays; both sides go on when the link is back
        swap.paused = true;
        swap.incoming?.session.detach();
        swap.outgoing?.detach();
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
    swap.peerPublicKey = peer.publicKey;
    swap.phase = 'proposed';
    if (!this.send(remote, { type: 'barter-propose', receipt })) this.fail(swap, 'The other device is not connected.');
    this.emit();
    return receipt.nonce;
  }

  accept(nonceId: string) {
    const swap = this.swaps.get(nonceId);
    if (!swap || swap.phase !== 'incoming') return;
    swap.phase = 'exchanging';
    this.save();
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

  /** Stops an agreed swap that has not finished (nothing was signed by this device, or the receipt is not complete). */
  stopSwap(nonceId: string) {
    const swap = this.swaps.get(nonceId);
    if (!swap || swap.phase !== 'exchanging') return;
    this.fail(swap, swap.mySignature ? 'You stopped the swap after signing: if the other device has both signatures, it can still settle it.' : 'You stopped the swap: you signed nothing.', true);
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
      bytesIn: 0, bytesOut: 0, verified: false, paused: false, resumedFrom: null, signedByMe: false, signedByPeer: false, error: null, hash: null,
      mySignature: null, peerSignature: null, peerPublicKey: this.peers.get(remote)?.publicKey ?? null,
      manifestPages: null, incoming: null, opening: false, outgoing: null, echoed: false,
    };
    this.swaps.set(receipt.nonce, swap);
    return swap;
  }

  /** After the accept: ask for the file I get, or sign at once when I get only credits. */
  private begin(swap: Swap) {
    if (swap.gets.kind === 'file') this.askForFile(swap);
    else void this.sign(swap);
  }

  private giverOf(swap: Swap): 'proposer' | 'accepter' {
    return swap.role === 'proposer' ? 'accepter' : 'proposer';
  }

  /** Asks the giver for the manifest of the file I get; the transfer starts when it is whole. */
  private askForFile(swap: Swap) {
    if (swap.gets.kind !== 'file' || swap.verified) return;
    if (swap.gets.file.sizeBytes === 0) {
      if (swap.gets.file.sha256 !== EMPTY_SHA256) return this.fail(swap, 'The file did not match the SHA-256 in the receipt: nothing was signed.', true);
      void this.openReceive(swap, { sizeBytes: 0, sha256: swap.gets.file.sha256, chunkSize: 64 * 1024, chunkHashes: [] });
      return;
    }
    swap.manifestPages = null;
    this.send(swap.peerDeviceId, { type: 'barter-want', nonce: swap.nonce });
  }

  private fail(swap: Swap, message: string, tell = false) {
    if (swap.phase === 'done') return;
    const wasExchanging = swap.phase === 'exchanging';
    swap.phase = 'failed';
    swap.error = message;
    swap.paused = false;
    const incoming = swap.incoming;
    swap.incoming = null;
    if (incoming?.session.active) incoming.session.cancel();
    void incoming?.sink.close().catch(() => undefined);
    if (incoming) void removeIncoming(incoming.sink.meta.transferId).catch(() => undefined);
    swap.outgoing?.cancel();
    swap.outgoing = null;
    if (tell) this.send(swap.peerDeviceId, { type: 'barter-error', nonce: swap.nonce, message: message.slice(0, 300) });
    if (wasExchanging) this.save();
    this.emit();
  }

  // ---- the data channel ------------------------------------------------------------------------

  private onData(remote: string, data: string | Uint8Array): boolean {
    if (typeof data !== 'string') return this.onFrame(remote, data);
    // the transfer protocol's messages of a swapped file (want, ack, resend, complete, cancel)
    if (data.includes('"transferId":"barter-')) {
      const parsed = parseControl(data);
      if (parsed.ok) this.onTransferControl(remote, parsed.value);
      return true;
    }
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
        this.save();
        this.begin(swap);
        return this.emit();
      case 'barter-decline':
        if (swap.phase !== 'proposed' && swap.phase !== 'incoming') return;
        swap.phase = 'declined';
        swap.error = message.reason;
        return this.emit();
      case 'barter-want':
        if (swap.phase !== 'exchanging' || swap.gives.kind !== 'file') return;
        return this.sendManifest(swap, swap.gives.file);
      case 'barter-manifest':
        return this.onManifestPage(swap, message);
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
    if (gets.kind === 'file') {
      const { usage, quota } = await storageEstimate();
      if (usage !== null && quota !== null && gets.file.sizeBytes > quota - usage) return refuse('That file does not fit on the other device: it has too little room left.');
    }
    this.track(receipt, 'accepter', remote, peer?.handle ?? null);
    this.emit();
  }

  // ---- the file I give ---------------------------------------------------------------------------

  private async sendManifest(swap: Swap, file: SwapFile) {
    const manifest = await offerManifest(file.sha256).catch(() => null);
    if (!manifest || manifest.sizeBytes !== file.sizeBytes) return this.fail(swap, 'This device no longer keeps the file it was to give.', true);
    for (const page of manifestPages(swap.nonce, manifest)) if (!this.send(swap.peerDeviceId, page)) return;
  }

  /** The receiver asks (again) from its watermark, or acknowledges: the transfer protocol, as for any transfer. */
  private onTransferControl(remote: string, message: ControlMessage) {
    if (message.type === 'gift' || !message.transferId) return;
    const transferId = message.transferId;
    const swap = [...this.swaps.values()].find((s) => s.peerDeviceId === remote && (swapTransferId(s.nonce, 'proposer') === transferId || swapTransferId(s.nonce, 'accepter') === transferId));
    if (!swap) return;
    const mine = swapTransferId(swap.nonce, swap.role) === transferId; // the file I give
    if (!mine) {
      swap.incoming?.session.handleControl(message);
      return;
    }
    if (message.type === 'want') return void this.startSending(swap, message);
    swap.outgoing?.handleControl(message);
  }

  private async startSending(swap: Swap, want: Extract<ControlMessage, { type: 'want' }>): Promise<void> {
    if (swap.phase !== 'exchanging' || swap.gives.kind !== 'file') return;
    const wire = this.manager.wireTo(swap.peerDeviceId);
    if (!wire) return;
    if (!swap.outgoing?.active) {
      const file = swap.gives.file;
      const manifest = await offerManifest(file.sha256).catch(() => null);
      const source = manifest ? await offerSource(file.sha256, manifest.chunkSize, file.sizeBytes).catch(() => null) : null;
      if (!manifest || !source) return this.fail(swap, 'This device no longer keeps the file it was to give.', true);
      if (swap.outgoing?.active) return this.startSending(swap, want); // made meanwhile by another want
      swap.outgoing = new SendSession({
        transferId: swapTransferId(swap.nonce, swap.role),
        sizeBytes: file.sizeBytes,
        chunkSize: manifest.chunkSize,
        source,
        events: {
          onProgress: (_chunks, bytes) => {
            swap.bytesOut = bytes;
            this.emitSoon();
          },
          onComplete: () => {
            swap.bytesOut = file.sizeBytes;
            this.emit();
          },
          onFailure: (error) => {
            if (error.code !== 'ERR_CANCELLED') this.fail(swap, `Sending the file failed: ${error.message}`);
          },
        },
      });
    }
    swap.paused = false;
    swap.outgoing.attach(wire);
    swap.outgoing.handleControl(want);
  }

  // ---- the file I get ----------------------------------------------------------------------------

  private onManifestPage(swap: Swap, page: Extract<Control, { type: 'barter-manifest' }>) {
    if (swap.phase !== 'exchanging' || swap.gets.kind !== 'file' || swap.verified || swap.incoming?.session.active || swap.opening) return;
    const result = addManifestPage(swap.manifestPages, page, swap.gets.file);
    if (result.state === 'bad') return this.fail(swap, `The file could not be received: ${result.reason}. Nothing was signed.`, true);
    if (result.state === 'incomplete') {
      swap.manifestPages = result.pages;
      return;
    }
    swap.manifestPages = null;
    void this.openReceive(swap, result.manifest);
  }

  /** Opens the file being received in OPFS (resuming from its watermark) and asks the giver from there. */
  private async openReceive(swap: Swap, manifest: Manifest) {
    if (swap.gets.kind !== 'file') return;
    const file = swap.gets.file;
    const transferId = swapTransferId(swap.nonce, this.giverOf(swap));
    swap.opening = true;
    let opened: Awaited<ReturnType<typeof openIncoming>>;
    try {
      opened = await openIncoming({ transferId, itemId: `barter-${swap.nonce}`, title: file.name, mediaType: 'application/octet-stream', sizeBytes: file.sizeBytes, sha256: file.sha256, chunkSize: manifest.chunkSize }, manifest);
    } catch (error) {
      swap.opening = false;
      return this.fail(swap, `The file could not be stored on this device: ${error instanceof Error ? error.message : String(error)}. Nothing was signed.`, true);
    } finally {
      swap.opening = false;
    }
    if (swap.phase !== 'exchanging') return void opened.sink.close().catch(() => undefined);
    if (opened.complete || manifest.sizeBytes === 0) return this.receivedWhole(swap, opened.sink, manifest, transferId);
    const session = new ReceiveSession({
      transferId,
      manifest,
      watermark: opened.watermark,
      sink: opened.sink,
      events: {
        onProgress: (_verified, bytes) => {
          swap.bytesIn = bytes;
          this.emitSoon();
        },
        onComplete: () => void this.receivedWhole(swap, opened.sink, manifest, transferId),
        onFailure: (error) => {
          if (error.code === 'ERR_HASH_MISMATCH') this.fail(swap, 'The file did not match the SHA-256 in the receipt: nothing was signed.', true);
          else if (error.code !== 'ERR_CANCELLED') this.fail(swap, `The file could not be received: ${error.message} Nothing was signed.`);
        },
        onStalled: () => this.manager.existingLink(swap.peerDeviceId)?.reset(),
      },
    });
    swap.incoming = { session, sink: opened.sink };
    swap.bytesIn = session.bytesDone;
    if (opened.watermark > 0) swap.resumedFrom = session.bytesDone;
    this.emit();
    const wire = this.manager.wireTo(swap.peerDeviceId);
    if (wire) session.attach(wire);
  }

  /** Every chunk verified and the whole file matches the SHA-256 in the receipt: keep it as an offer, then sign. */
  private async receivedWhole(swap: Swap, sink: OpfsIncoming, manifest: Manifest, transferId: string) {
    try {
      await sink.markComplete();
      await adoptIncoming(transferId, manifest);
    } catch (error) {
      return this.fail(swap, `The file could not be kept on this device: ${error instanceof Error ? error.message : 'storage failed'}.`, true);
    }
    swap.incoming = null;
    swap.verified = true;
    if (swap.gets.kind === 'file') swap.bytesIn = swap.gets.file.sizeBytes;
    this.save();
    this.emit();
    await this.sign(swap);
  }

  private onFrame(remote: string, data: Uint8Array): boolean {
    const frame = parseChunkFrame(data);
    if (!frame.ok) return false;
    for (const swap of this.swaps.values()) {
      const session = swap.incoming?.session;
      if (swap.peerDeviceId === remote && session && session.key === frame.value.key) {
        session.handleFrame(frame.value);
        return true;
      }
    }
    return false;
  }

  // ---- signatures --------------------------------------------------------------------------------

  private async sign(swap: Swap) {
    if (swap.mySignature || swap.phase !== 'exchanging') return;
    try {
      swap.mySignature = await signWithDeviceKey(this.deviceId, receiptBytes(swap.receipt));
    } catch {
      return this.fail(swap, 'This device could not sign the receipt (its key is missing).', true);
    }
    swap.signedByMe = true;
    this.save();
    this.send(swap.peerDeviceId, { type: 'barter-signed', nonce: swap.nonce, signature: swap.mySignature });
    await this.complete(swap);
  }

  private async onPeerSignature(swap: Swap, signature: string) {
    if (swap.phase === 'done') {
      // the other device missed mine (the link dropped right after): once more
      if (swap.mySignature && !swap.echoed && signature === swap.peerSignature) {
        swap.echoed = true;
        this.send(swap.peerDeviceId, { type: 'barter-signed', nonce: swap.nonce, signature: swap.mySignature });
      }
      return;
    }
    if (swap.phase !== 'exchanging' || swap.peerSignature) return;
    const publicKey = this.peers.get(swap.peerDeviceId)?.publicKey ?? swap.peerPublicKey;
    if (!publicKey || !(await verifyReceipt(swap.receipt, publicKey, signature))) return this.fail(swap, "The other device's signature does not verify: the receipt was not kept.", true);
    swap.peerSignature = signature;
    swap.peerPublicKey = publicKey;
    swap.signedByPeer = true;
    this.save();
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
    swap.paused = false;
    this.save();
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
    const file = await offerFile(record.received.sha256);
    return file && file.size === record.received.sizeBytes ? file : null;
  }
}

/** What the screen sees of a swap (no sessions, no signatures). */
function viewOf(swap: Swap): SwapView {
  const { nonce, peerDeviceId, peerHandle, role, receipt, communityName, gives, gets, phase, bytesIn, bytesOut, verified, paused, resumedFrom, signedByMe, signedByPeer, error, hash } = swap;
  return { nonce, peerDeviceId, peerHandle, role, receipt, communityName, gives, gets, phase, bytesIn, bytesOut, verified, paused, resumedFrom, signedByMe, signedByPeer, error, hash };
}

let current: OfflineSwaps | null = null;

/** One swap session per device for the page's lifetime, beside its TransferManager (`start()` it in an effect). */
export function getOfflineSwaps(deviceId: string, manager: TransferManager): OfflineSwaps {
  if (current && current.deviceId === deviceId) return current;
  current?.stop();
  current = new OfflineSwaps(deviceId, manager);
  return current;
}
