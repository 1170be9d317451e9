/**
 * The receipt of a barter two paired devices agree face to face, while the coordinator may be out of reach,
 * in the form the coordinator checks (server/barter/receipts.ts `receiptSchema`): the community it settles
 * in, a nonce, the time, and each device with the legs it gives (a file is a FILE/ITEM leg with its name,
 * SHA-256 and size; credits a MONEY/CREDIT leg of whole credits). Both devices sign the same bytes — the
 * receipt as canonical JSON (sorted keys, no spaces) — with their device keys (app/_lib/device-keys.ts).
 *
 * Pure apart from WebCrypto: builds, checks and hashes receipts; used by the browser and by unit tests.
 */
import { z } from 'zod';
import { stableStringify } from '@/workers/kernels/shared';
import type { Json } from '@/workers/kernels/types';

export const swapFileSchema = z.object({
  name: z.string().min(1).max(200),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  sizeBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});
export type SwapFile = z.infer<typeof swapFileSchema>;

const legSchema = z.object({ category: z.enum(['FILE', 'MONEY']), unit: z.enum(['ITEM', 'CREDIT']), quantity: z.number().int().positive().max(1e9) });
export type SwapLeg = z.infer<typeof legSchema>;

const partySchema = z.object({ deviceId: z.string().min(1).max(64), gives: z.array(legSchema).min(1).max(4), files: z.array(swapFileSchema).min(1).max(20).optional() });

/** What the app itself produces: the coordinator accepts more (any category), the app swaps files and credits. */
export const swapReceiptSchema = z.object({
  version: z.literal(1),
  communityId: z.string().min(1).max(64),
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  createdAt: z.iso.datetime({ offset: true }),
  parties: z.tuple([partySchema, partySchema]),
});
export type SwapReceipt = z.infer<typeof swapReceiptSchema>;

/** One side of a swap: a file it hands over, or whole credits it pays. */
export type SwapSide = { kind: 'file'; file: SwapFile } | { kind: 'credits'; credits: number };

export const MAX_SWAP_CREDITS = 1_000_000;

function partyOf(deviceId: string, side: SwapSide): SwapReceipt['parties'][number] {
  if (side.kind === 'file') return { deviceId, gives: [{ category: 'FILE', unit: 'ITEM', quantity: 1 }], files: [side.file] };
  if (!Number.isSafeInteger(side.credits) || side.credits < 1 || side.credits > MAX_SWAP_CREDITS) throw new RangeError('Credits in a swap are whole credits from 1 to 1,000,000.');
  return { deviceId, gives: [{ category: 'MONEY', unit: 'CREDIT', quantity: side.credits }] };
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return [...(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** A new receipt: the proposer is party 0, the device that accepts party 1. At least one side hands over a file. */
export function buildReceipt(input: { communityId: string; proposer: { deviceId: string; gives: SwapSide }; accepter: { deviceId: string; gives: SwapSide }; now?: Date; nonce?: string }): SwapReceipt {
  if (input.proposer.deviceId === input.accepter.deviceId) throw new RangeError('A swap needs two different devices.');
  if (input.proposer.gives.kind === 'credits' && input.accepter.gives.kind === 'credits') throw new RangeError('A swap hands over at least one file.');
  const nonce = input.nonce ?? hex(crypto.getRandomValues(new Uint8Array(16)));
  return swapReceiptSchema.parse({
    version: 1,
    communityId: input.communityId,
    nonce,
    createdAt: (input.now ?? new Date()).toISOString(),
    parties: [partyOf(input.proposer.deviceId, input.proposer.gives), partyOf(input.accepter.deviceId, input.accepter.gives)],
  });
}

/** The bytes both devices sign (the coordinator's `receiptBytes`). */
export function receiptBytes(receipt: SwapReceipt): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(stableStringify(receipt as unknown as Json));
}

/** The receipt's identity, SHA-256 hex of the signed bytes (the coordinator's `receiptHash`). */
export async function receiptHash(receipt: SwapReceipt): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', receiptBytes(receipt)));
}

/** What one party gives, read back from a receipt. */
export function sideOf(party: SwapReceipt['parties'][number]): SwapSide {
  const file = party.files?.[0];
  if (file) return { kind: 'file', file };
  return { kind: 'credits', credits: party.gives.reduce((n, l) => n + (l.category === 'MONEY' ? l.quantity : 0), 0) };
}

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/**
 * Whether `signature` (base64url, r‖s) is the signature of the receipt by the ECDSA P-256 key `publicKey`
 * (SPKI, base64url): the other device's signature is checked on arrival, before it is kept.
 */
export async function verifyReceipt(receipt: SwapReceipt, publicKey: string, signature: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey('spki', fromBase64url(publicKey), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, fromBase64url(signature), receiptBytes(receipt));
  } catch {
    return false;
  }
}
