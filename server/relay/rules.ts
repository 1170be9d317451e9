/**
 * The pure rules of a relay session: how many bytes it sells, which end's receipt counts, and what is proven.
 *
 * A NETWORK/MB contract is `quantity` MB (1 MB = 1,000,000 bytes) relayed from the sender's device to the
 * receiver's through the seller's device. Each end signs cumulative counts; the proven bytes are the smaller of
 * the two ends' last accepted counts, so neither end alone (nor the relay) can raise what is paid.
 */
import type { RelayReceipt, RelayRole } from './receipt-format';
import { BYTES_PER_MB } from './receipt-format';

/**
 * The most bytes per millisecond an end may claim since its previous receipt (100 MB/s: well above what a
 * browser's data channel carries, see RECIPES), plus a burst allowance for the data in flight when counted.
 */
export const MAX_BYTES_PER_MS = 100_000;
export const RATE_SLACK_BYTES = 8 * 1024 * 1024;

export const relayWholeBytes = (quantity: number) => quantity * BYTES_PER_MB;

export type SessionForReceipt = {
  state: string;
  senderDeviceId: string;
  receiverDeviceId: string;
  joinedAt: Date | null;
  windowStart: Date;
  windowEnd: Date;
  wholeBytes: number;
  senderBytes: number;
  senderSeq: number;
  senderAt: Date | null;
  receiverBytes: number;
  receiverSeq: number;
  receiverAt: Date | null;
};

export type RelayVerdict =
  | { ok: true; role: RelayRole; bytes: number }
  | { ok: false; kind: 'FORBIDDEN' | 'CONFLICT' | 'PRECONDITION' | 'BAD_INPUT'; message: string };

const refuse = (kind: Exclude<RelayVerdict, { ok: true }>['kind'], message: string): RelayVerdict => ({ ok: false, kind, message });

/** An end's last accepted state. */
export function endState(session: SessionForReceipt, role: RelayRole) {
  return role === 'SENDER'
    ? { deviceId: session.senderDeviceId, bytes: session.senderBytes, seq: session.senderSeq, at: session.senderAt }
    : { deviceId: session.receiverDeviceId, bytes: session.receiverBytes, seq: session.receiverSeq, at: session.receiverAt };
}

/**
 * Whether a (signature-checked) receipt counts. Refused whole, never trimmed: from a device that is not that end
 * of the session, before the receiver joined or after the end, replayed or older than the last accepted number,
 * counting fewer bytes than already counted, more than the contract sells, or more than MAX_BYTES_PER_MS allows
 * since the end's previous receipt (or since the receiver joined, for the first).
 */
export function judgeRelayReceipt(session: SessionForReceipt, receipt: RelayReceipt, now: Date): RelayVerdict {
  const end = endState(session, receipt.role);
  if (receipt.deviceId !== end.deviceId) {
    return refuse('FORBIDDEN', `This device is not the session's ${receipt.role === 'SENDER' ? 'sending' : 'receiving'} device: only the two ends send receipts.`);
  }
  if (receipt.seq <= end.seq) return refuse('CONFLICT', `Receipt ${receipt.seq} was already counted or is older than the last one: send the next one.`);
  if (session.state !== 'LIVE') return refuse('PRECONDITION', 'This relay session has ended: no more receipts are counted.');
  if (!session.joinedAt) return refuse('PRECONDITION', 'The receiver has not joined yet: nothing can have been relayed.');
  if (receipt.bytes < end.bytes) return refuse('BAD_INPUT', `This receipt counts fewer bytes than the last one (${end.bytes}): counts only go up.`);
  if (receipt.bytes > session.wholeBytes) return refuse('BAD_INPUT', 'This receipt counts more bytes than the contract sells: it was not counted.');
  const t = Math.min(now.getTime(), session.windowEnd.getTime());
  const from = Math.max(session.joinedAt.getTime(), session.windowStart.getTime());
  const since = Math.max(from, end.at?.getTime() ?? 0);
  // per receipt, and in total since the receiver joined, so the burst allowance cannot be collected receipt after receipt
  if (receipt.bytes - end.bytes > Math.max(0, t - since) * MAX_BYTES_PER_MS + RATE_SLACK_BYTES || receipt.bytes > Math.max(0, t - from) * MAX_BYTES_PER_MS + RATE_SLACK_BYTES) {
    return refuse('BAD_INPUT', 'This receipt counts more bytes than a connection could have carried since the last one: it was not counted.');
  }
  return { ok: true, role: receipt.role, bytes: receipt.bytes };
}

/** What both ends confirm: the smaller of their counts. */
export const provenBytes = (senderBytes: number, receiverBytes: number) => Math.max(0, Math.min(senderBytes, receiverBytes));
