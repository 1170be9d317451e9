/**
 * What the transfer manager keeps about each transfer (an `Entry`), and what screens are shown of it (a
 * `TransferView`: phase, bytes, speed, time left and, for a bundle, each file's progress and check).
 * Shared by the manager and its receiving and sending halves (receiving.ts, sending.ts).
 */
import type { TransferApi, ServerStatus, ServerTransfer } from './api';
import { entryProgress, placeEntries, type EntryCheck, type PlacedEntry } from './bundle';
import type { Manifest } from './chunks';
import type { PeerLink } from './peer';
import { RateMeter, type ErrorCode } from './protocol';
import type { ReceiveSession, SendSession } from './session';
import type { OpfsIncoming } from './storage';

export type Phase =
  /** waiting for a free slot */
  | 'queued'
  /** reaching the other device */
  | 'connecting'
  /** the other device is not reachable now; retried automatically */
  | 'waiting'
  | 'transferring'
  /** all chunks in, the whole file's hash is being checked */
  | 'verifying'
  /** sender: waiting for the receiver to ask */
  | 'ready'
  | 'completed'
  | 'failed'
  | 'cancelled';

/** Phases in which a transfer is under way on this device (the screen is kept on for them). */
export const BUSY_PHASES: readonly Phase[] = ['queued', 'connecting', 'waiting', 'transferring', 'verifying'];

/** One file or snippet of a bundle, as shown. */
export type EntryView = {
  index: number;
  kind: 'file' | 'text';
  path: string;
  mediaType: string;
  sizeBytes: number;
  bytesDone: number;
  /** its own SHA-256 matched (null until checked, after the whole stream arrived) */
  ok: boolean | null;
  /** a snippet's text, once received */
  text: string | null;
};

export type TransferView = {
  id: string;
  itemId: string;
  role: 'receive' | 'send';
  title: string;
  mediaType: string;
  sizeBytes: number;
  sha256: string;
  peerDeviceId: string;
  /** the other party: the owner's handle when receiving, the device name otherwise */
  peerLabel: string;
  pricing: string;
  price: number;
  contractId: string | null;
  serverStatus: ServerStatus;
  phase: Phase;
  bytesDone: number;
  bytesPerSecond: number;
  secondsLeft: number | null;
  /** chunks that failed their hash on arrival and were fetched again */
  refetched: number;
  /** receiving: the byte this device resumed from after a reload or a dropped connection, if it did */
  resumedAt: number | null;
  error: { code: ErrorCode; message: string } | null;
  createdAt: string;
  /** a bundle: its files and snippets, each with its progress; null for a single file */
  entries: EntryView[] | null;
};

export type BundleResult = { checks: EntryCheck[]; texts: Record<number, string> };

export type Entry = {
  server: ServerTransfer;
  role: 'receive' | 'send';
  phase: Phase;
  error: { code: ErrorCode; message: string } | null;
  receive: { session: ReceiveSession; sink: OpfsIncoming } | null;
  send: SendSession | null;
  meter: RateMeter;
  bytesDone: number;
  refetched: number;
  resumedAt: number | null;
  lastReportAt: number;
  reportedChunks: number;
  reports: Promise<unknown>;
  starting: boolean;
  /** a bundle's entries with their offsets in the stream (null for a single file) */
  placed: PlacedEntry[] | null;
  /** a received bundle: every entry's check and the snippets' text */
  bundle: BundleResult | null;
};

/** What the receiving and sending halves need from the manager. */
export interface ManagerHost {
  readonly deviceId: string;
  readonly api: TransferApi;
  readonly entries: Map<string, Entry>;
  /** true while this tab runs the device's transfers */
  readonly running: boolean;
  emit(now?: boolean): void;
  refresh(): Promise<void>;
  noteError(message: string): void;
  linkFor(remoteDeviceId: string): PeerLink;
  existingLink(remoteDeviceId: string): PeerLink | undefined;
}

const OPEN: ServerStatus[] = ['REQUESTED', 'ACTIVE'];
export const isOpen = (status: ServerStatus) => OPEN.includes(status);
export const closedPhase = (status: ServerStatus): Phase => (status === 'COMPLETED' ? 'completed' : status === 'CANCELLED' ? 'cancelled' : 'failed');
/** Failures after which the transfer cannot succeed as it is: reported FAILED (a sale is refunded). */
export const FATAL: ErrorCode[] = ['ERR_BAD_CHUNK', 'ERR_HASH_MISMATCH', 'ERR_NOT_FOUND', 'ERR_FORBIDDEN', 'ERR_PROTOCOL'];

export function manifestOf(server: ServerTransfer): Manifest {
  const item = server.item;
  return { sizeBytes: item.sizeBytes, sha256: item.sha256, chunkSize: item.chunkSize, chunkHashes: item.chunkHashes ?? [] };
}

export function newEntry(row: ServerTransfer, deviceId: string): Entry {
  const role = row.receiverDeviceId === deviceId ? 'receive' : 'send';
  const entries = row.item.bundle?.entries;
  return {
    server: row,
    role,
    phase: isOpen(row.status) ? (role === 'receive' ? 'queued' : 'ready') : closedPhase(row.status),
    error: null,
    receive: null,
    send: null,
    meter: new RateMeter(),
    bytesDone: role === 'receive' ? Math.min(row.item.sizeBytes, row.verifiedChunks * row.item.chunkSize) : 0,
    refetched: 0,
    resumedAt: null,
    lastReportAt: 0,
    reportedChunks: row.verifiedChunks,
    reports: Promise.resolve(),
    starting: false,
    placed: entries ? placeEntries(entries) : null,
    bundle: null,
  };
}

function entryViews(entry: Entry, bytesDone: number): EntryView[] | null {
  if (!entry.placed) return null;
  const progress = entryProgress(entry.placed, bytesDone);
  return entry.placed.map((e, i) => ({
    index: e.index,
    kind: e.kind,
    path: e.path,
    mediaType: e.mediaType,
    sizeBytes: e.sizeBytes,
    bytesDone: progress[i]!.bytesDone,
    ok: entry.bundle?.checks[i]?.ok ?? null,
    text: entry.bundle?.texts[e.index] ?? null,
  }));
}

export function viewOf(entry: Entry): TransferView {
  const { server } = entry;
  const sizeBytes = server.item.sizeBytes;
  const active = entry.phase === 'transferring';
  const receiverHandle = server.receiver.handle;
  const bytesDone = entry.phase === 'completed' ? sizeBytes : entry.bytesDone;
  return {
    id: server.id,
    itemId: server.itemId,
    role: entry.role,
    title: server.item.title,
    mediaType: server.item.mediaType,
    sizeBytes,
    sha256: server.item.sha256,
    peerDeviceId: entry.role === 'receive' ? server.senderDeviceId : server.receiverDeviceId,
    peerLabel: entry.role === 'receive' ? `@${server.item.owner.handle}` : receiverHandle ? `@${receiverHandle}` : 'the requester',
    pricing: server.item.pricing,
    price: server.item.price,
    contractId: server.contractId,
    serverStatus: server.status,
    phase: entry.phase,
    bytesDone,
    bytesPerSecond: active ? entry.meter.bytesPerSecond : 0,
    secondsLeft: active ? entry.meter.secondsLeft(sizeBytes) : null,
    refetched: entry.refetched,
    resumedAt: entry.resumedAt,
    error: entry.error,
    createdAt: server.createdAt,
    entries: entryViews(entry, bytesDone),
  };
}
