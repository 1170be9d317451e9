/**
 * The pure rules of a broadcast's money: which receipt counts, and what a relay's link pays.
 *
 * The money model: the broadcaster pays for reach. Starting a broadcast moves a budget from the broadcaster's
 * account to their escrow. A relay (a viewer forwarding the stream to its children) earns `pricePerMb` for every MB
 * each child proves it received over that link — cumulative `inbound-rtp` bytes in receipts the CHILD signs with
 * its device key, so the relay cannot count for itself. When a link closes (the child moves to another parent or
 * leaves, the relay leaves, the broadcast ends) it settles once: floor(bytes × pricePerMb / 1 MB), capped by what
 * is left of the budget, leaves escrow; the community's commission is taken from it and the rest goes to the
 * relay. When the broadcast ends, what is left of the budget goes back to the broadcaster. Links from the
 * broadcaster itself pay nothing (its own uplink).
 */
import type { BroadcastReceipt } from './receipt-format';
import { BYTES_PER_MB } from './receipt-format';

/**
 * The most media bytes per millisecond a child may claim (2 MB/s, 16 Mbit/s: well above a browser's camera stream,
 * whose encoder targets 2.5 Mbit/s by default), plus a burst allowance for what was in flight when counted.
 */
export const MAX_BYTES_PER_MS = 2_000;
export const RATE_SLACK_BYTES = 4 * 1024 * 1024;
/** Media milliseconds may run ahead of the coordinator's clock by this much (jitter buffers, clock steps). */
export const MEDIA_SLACK_MS = 3_000;

export type LinkForReceipt = {
  state: string;
  childDeviceId: string;
  openedAt: Date;
  bytes: number;
  mediaMs: number;
  seq: number;
  receiptAt: Date | null;
};

export type ReceiptVerdict = { ok: true } | { ok: false; kind: 'FORBIDDEN' | 'CONFLICT' | 'PRECONDITION' | 'BAD_INPUT'; message: string };
const refuse = (kind: Exclude<ReceiptVerdict, { ok: true }>['kind'], message: string): ReceiptVerdict => ({ ok: false, kind, message });

/**
 * Whether a (signature-checked) receipt counts. Refused whole, never trimmed: from a device that is not the link's
 * child, replayed or older than the last accepted number, for a link already closed, counting less than already
 * counted, more bytes than MAX_BYTES_PER_MS allows (since the previous receipt and since the link opened), or more
 * media time than has passed since the link opened.
 */
export function judgeBroadcastReceipt(link: LinkForReceipt, receipt: BroadcastReceipt, now: Date): ReceiptVerdict {
  if (receipt.deviceId !== link.childDeviceId) return refuse('FORBIDDEN', 'This device is not the one receiving over this link: only the receiving viewer sends its receipts.');
  if (receipt.seq <= link.seq) return refuse('CONFLICT', `Receipt ${receipt.seq} was already counted or is older than the last one: send the next one.`);
  if (link.state !== 'OPEN') return refuse('PRECONDITION', 'This link has closed (the viewer moved to another parent, or the broadcast ended): its receipts are no longer counted.');
  if (receipt.bytes < link.bytes || receipt.mediaMs < link.mediaMs) return refuse('BAD_INPUT', 'This receipt counts less than the last one: counts only go up.');
  const t = now.getTime();
  const from = link.openedAt.getTime();
  const since = Math.max(from, link.receiptAt?.getTime() ?? 0);
  if (receipt.bytes - link.bytes > Math.max(0, t - since) * MAX_BYTES_PER_MS + RATE_SLACK_BYTES || receipt.bytes > Math.max(0, t - from) * MAX_BYTES_PER_MS + RATE_SLACK_BYTES) {
    return refuse('BAD_INPUT', 'This receipt counts more bytes than a media stream could have carried since the last one: it was not counted.');
  }
  if (receipt.mediaMs > Math.max(0, t - from) + MEDIA_SLACK_MS) return refuse('BAD_INPUT', 'This receipt counts more media time than has passed since the link opened: it was not counted.');
  return { ok: true };
}

/**
 * What a relay's link pays when it settles: the gross out of the budget (never more than is left), the
 * community's commission out of it, and the relay's part.
 */
export function linkPay(bytes: number, pricePerMb: number, budgetLeft: number, commissionBps: number) {
  const due = Number((BigInt(Math.max(0, bytes)) * BigInt(Math.max(0, pricePerMb))) / BigInt(BYTES_PER_MB));
  const gross = Math.max(0, Math.min(due, budgetLeft));
  const commission = Number((BigInt(gross) * BigInt(commissionBps)) / 10_000n);
  return { gross, commission, relay: gross - commission };
}
