/**
 * The pure rules of a peripheral rental: how many milliseconds it sells, and which receipts count.
 *
 * A PERIPHERAL contract is `quantity` device-hours over its window. The rental streams during the window, so it
 * can sell at most the window's length: a rental is min(quantity × 1 h, window) of media, and the contract pays
 * the share of that proven by accepted receipts (a 2-minute window sells 120 s; 60 s proven pays half).
 */
import type { ReceiptBody, RentalKind } from './receipt-format';

export const HOUR_MS = 3_600_000;
/**
 * Allowance for the delay between the buyer's device measuring an interval and the coordinator receiving it:
 * a receipt may claim at most this much more than the wall time the coordinator saw, per receipt and in total.
 */
export const RECEIPT_SLACK_MS = 1_500;

export function rentalWholeMs(quantity: number, windowStart: Date, windowEnd: Date): number {
  return Math.max(0, Math.min(quantity * HOUR_MS, windowEnd.getTime() - windowStart.getTime()));
}

export type RentalForReceipt = {
  state: string;
  kind: RentalKind;
  buyerDeviceId: string | null;
  minWidth: number;
  minHeight: number;
  minFps: number;
  startedAt: Date;
  windowStart: Date;
  windowEnd: Date;
  wholeMs: number;
  provenMs: number;
  lastSeq: number;
  lastReceiptAt: Date | null;
};

export type ReceiptVerdict =
  | { ok: true; mediaMs: number }
  | { ok: false; kind: 'FORBIDDEN' | 'CONFLICT' | 'PRECONDITION' | 'BAD_INPUT'; message: string };

const refuse = (kind: Exclude<ReceiptVerdict, { ok: true }>['kind'], message: string): ReceiptVerdict => ({ ok: false, kind, message });

/**
 * Whether a (signature-checked) receipt counts, and for how many milliseconds. A receipt is refused whole, never
 * trimmed: from a device that is not the rental's buyer device, for a rental no longer live, replayed (its
 * number already accepted), claiming more media than the wall clock allows since the last accepted receipt or
 * since the stream could start, more than the rental sells, or quality below the agreed floor.
 */
export function judgeReceipt(rental: RentalForReceipt, receipt: ReceiptBody, now: Date): ReceiptVerdict {
  if (!rental.buyerDeviceId || receipt.deviceId !== rental.buyerDeviceId) {
    return refuse('FORBIDDEN', "This device is not the rental's receiving device: only the buyer's device that joined can send receipts.");
  }
  if (receipt.seq <= rental.lastSeq) return refuse('CONFLICT', `Receipt ${receipt.seq} was already counted: send the next one.`);
  if (rental.state !== 'LIVE') return refuse('PRECONDITION', 'This rental has ended: no more receipts are counted.');
  const t = now.getTime();
  const streamFrom = Math.max(rental.startedAt.getTime(), rental.windowStart.getTime());
  if (t < rental.windowStart.getTime()) return refuse('PRECONDITION', "The rental's window has not opened yet.");
  const since = Math.max(streamFrom, rental.lastReceiptAt?.getTime() ?? 0);
  if (receipt.mediaMs > t - since + RECEIPT_SLACK_MS) {
    return refuse('BAD_INPUT', 'This receipt claims more media than time has passed since the last one: it was not counted.');
  }
  const elapsed = Math.min(t, rental.windowEnd.getTime()) - streamFrom;
  if (rental.provenMs + receipt.mediaMs > elapsed + RECEIPT_SLACK_MS) {
    return refuse('BAD_INPUT', 'This receipt claims more media than the rental has been streaming: it was not counted.');
  }
  if (rental.provenMs + receipt.mediaMs > rental.wholeMs) {
    return refuse('BAD_INPUT', 'This receipt claims more media than the rental sells: it was not counted.');
  }
  if (rental.kind !== 'MICROPHONE' && receipt.mediaMs > 0) {
    if (receipt.width < rental.minWidth || receipt.height < rental.minHeight) {
      return refuse('BAD_INPUT', `This receipt counts video below the agreed ${rental.minWidth}×${rental.minHeight}: it was not counted.`);
    }
    if (receipt.frames * 1000 < rental.minFps * receipt.mediaMs) {
      return refuse('BAD_INPUT', `This receipt counts fewer frames than ${rental.minFps} per second: it was not counted.`);
    }
  }
  return { ok: true, mediaMs: receipt.mediaMs };
}

/** Whole seconds of a number of milliseconds, for the screen. */
export const wholeSeconds = (ms: number) => Math.floor(ms / 1000);
