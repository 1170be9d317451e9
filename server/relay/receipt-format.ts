import { z } from 'zod';

/**
 * A relay session's receipt, as each end's device counts, signs and sends it, and the bytes it signs; and the
 * key-agreement message the two ends exchange through the relay. Shared by the coordinator and the browser, so
 * this file imports zod only.
 */
export const RELAY_ROLES = ['SENDER', 'RECEIVER'] as const;
export type RelayRole = (typeof RELAY_ROLES)[number];

/** 1 MB of a NETWORK/MB contract, in bytes. */
export const BYTES_PER_MB = 1_000_000;
/** How often an end sends a receipt while bytes move (and once more when it finishes). */
export const RELAY_RECEIPT_INTERVAL_MS = 2_000;

const id = z.string().min(1).max(64);

export const relayReceiptSchema = z.object({
  version: z.literal(1),
  sessionId: id,
  /** the end's device that counted and signed it */
  deviceId: id,
  role: z.enum(RELAY_ROLES),
  /** 1, 2, 3… per end: a number already accepted is a replay */
  seq: z.number().int().min(1).max(1_000_000),
  /** cumulative payload bytes this end sent (SENDER) or received and decrypted (RECEIVER) through the relay */
  bytes: z.number().int().min(0).max(1e15),
  /** the device's clock when it signed, ms since 1970 (informational: the coordinator judges by its own clock) */
  at: z.number().int().min(0).max(1e14),
});
export type RelayReceipt = z.infer<typeof relayReceiptSchema>;

/** The bytes an end signs: the fields in a fixed order, as a JSON array. */
export function relayReceiptBytes(body: RelayReceipt): Uint8Array {
  const fields = [body.version, body.sessionId, body.deviceId, body.role, body.seq, body.bytes, body.at];
  return new TextEncoder().encode(JSON.stringify(['swapmesh-relay-receipt', ...fields]));
}

/**
 * What an end signs with its device key to vouch for its ECDH public key (raw P-256 point, base64url) in one
 * session: the relay carries it but cannot swap it for its own without the end's device key.
 */
export function relayKeyBytes(sessionId: string, role: RelayRole, deviceId: string, ecdhPublicKey: string): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(['swapmesh-relay-key', 1, sessionId, role, deviceId, ecdhPublicKey]));
}
