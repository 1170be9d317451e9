/**
 * Signed swap receipts kept on this device (IndexedDB) until the coordinator settled them, and after, with
 * what the settlement paid. Both devices of a swap keep their own copy; either one submitting is enough.
 */
import type { SwapFile, SwapReceipt } from './receipt';
import { request, singleStore } from '../idb';

const DB_NAME = 'swapmesh-swap-receipts';
const STORE = 'receipts';

export type Settlement = {
  settledAt: string;
  /** my net change of available credits, µ */
  net: number;
  legs: { category: string; unit: string; quantity: number; mine: 'GAVE' | 'GOT'; from: string; to: string; credits: number; commission: number }[];
};

export type KeptReceipt = {
  hash: string;
  /** this device: the party whose copy this is */
  deviceId: string;
  peerHandle: string | null;
  receipt: SwapReceipt;
  signatures: { deviceId: string; signature: string }[];
  /** the file this device received in the swap, kept in OPFS under its SHA-256 */
  received: SwapFile | null;
  state: 'signed' | 'settled' | 'refused';
  /** the other device (or this one earlier) had already settled it */
  alreadySettled?: boolean;
  settlement?: Settlement;
  /** why the coordinator refused it */
  error?: string;
  /** the last attempt to reach the coordinator failed: why */
  lastTry?: string;
  keptAt: string;
};

const database = singleStore(DB_NAME, STORE, 'hash');

export async function keepReceipt(entry: KeptReceipt): Promise<void> {
  const db = await database();
  await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(entry));
}

/** This device's receipts, newest first. */
export async function keptReceipts(deviceId: string): Promise<KeptReceipt[]> {
  const db = await database();
  const all = await request(db.transaction(STORE, 'readonly').objectStore(STORE).getAll() as IDBRequest<KeptReceipt[]>);
  return all.filter((r) => r.deviceId === deviceId).sort((a, b) => b.keptAt.localeCompare(a.keptAt));
}

export async function keptReceipt(hash: string): Promise<KeptReceipt | undefined> {
  const db = await database();
  return request(db.transaction(STORE, 'readonly').objectStore(STORE).get(hash) as IDBRequest<KeptReceipt | undefined>);
}
