import { z } from 'zod';

/**
 * A peripheral rental's delivery receipt, as the buyer's device measures, signs and sends it, and the bytes
 * it signs. Shared by the coordinator and the browser, so this file imports zod only.
 */
export const RENTAL_KINDS = ['CAMERA', 'MICROPHONE', 'SCREEN'] as const;
export type RentalKind = (typeof RENTAL_KINDS)[number];

/** How often the buyer's device sends a receipt for the media it received since the last one. */
export const RECEIPT_INTERVAL_MS = 5_000;

const id = z.string().min(1).max(64);
const count = z.number().int().min(0).max(1_000_000_000);

export const receiptBodySchema = z.object({
  version: z.literal(1),
  rentalId: id,
  /** the buyer's device that measured and signed it */
  deviceId: id,
  /** 1, 2, 3… per rental: a number already accepted is a replay */
  seq: z.number().int().min(1).max(1_000_000),
  /** milliseconds of media received at the agreed quality or better since the previous receipt */
  mediaMs: count,
  /** video: frames decoded in those milliseconds, and the smallest frame size seen in them (0 for audio) */
  frames: count,
  width: z.number().int().min(0).max(16_384),
  height: z.number().int().min(0).max(16_384),
});
export type ReceiptBody = z.infer<typeof receiptBodySchema>;

/** The bytes the device signs: the fields in a fixed order, as a JSON array (no key-order questions). */
export function receiptBytes(body: ReceiptBody): Uint8Array {
  const fields = [body.version, body.rentalId, body.deviceId, body.seq, body.mediaMs, body.frames, body.width, body.height];
  return new TextEncoder().encode(JSON.stringify(['swapmesh-peripheral-receipt', ...fields]));
}

/** The quality floor a rental's media must meet for a second to count, by kind (the seller may raise it). */
export const DEFAULT_QUALITY: Record<RentalKind, { minWidth: number; minHeight: number; minFps: number }> = {
  CAMERA: { minWidth: 320, minHeight: 240, minFps: 5 },
  SCREEN: { minWidth: 640, minHeight: 360, minFps: 1 },
  MICROPHONE: { minWidth: 0, minHeight: 0, minFps: 0 },
};
