'use client';

/**
 * The buyer's side of a peripheral rental: joins as the receiving device (registering this device's key once),
 * receives the seller's stream, measures it from WebRTC statistics every second (QualityMeter) and every few
 * seconds signs and sends a receipt for the media received at the agreed quality. The coordinator answers with
 * the seconds proven so far.
 */
import { TRPCClientError } from '@trpc/client';
import { RECEIPT_INTERVAL_MS, receiptBytes, type ReceiptBody } from '@/server/peripheral/receipt-format';
import type { RentalView } from '@/server/peripheral/rentals';
import { ensureDeviceKey, signWithDeviceKey } from '../device-keys';
import { peripheralClient } from './client';
import { inboundFigures, MediaReceiver, type LinkState } from './media-link';
import { QualityMeter } from './meter';

const SAMPLE_EVERY_MS = 1_000;

export type BuyerSnapshot = {
  link: LinkState;
  stream: MediaStream | null;
  provenMs: number;
  wholeMs: number;
  /** the last second's frame rate and size, and whether it counted */
  recent: { fps: number; width: number; height: number; counted: boolean };
  receipts: number;
  problem: string | null;
  ended: boolean;
};

export class BuyerSession {
  private receiver: MediaReceiver | null = null;
  private meter: QualityMeter;
  private timers: ReturnType<typeof setInterval>[] = [];
  private nextSeq: number;
  private sending = false;
  private again = false;
  private closed = false;
  snapshot: BuyerSnapshot;

  constructor(
    private readonly contractId: string,
    private readonly deviceId: string,
    private readonly rental: RentalView,
    private readonly onChange: (snapshot: BuyerSnapshot) => void,
  ) {
    this.meter = new QualityMeter({ kind: rental.kind, ...rental.quality });
    this.nextSeq = rental.lastSeq + 1;
    this.snapshot = { link: 'waiting', stream: null, provenMs: rental.provenMs, wholeMs: rental.wholeMs, recent: { fps: 0, width: 0, height: 0, counted: false }, receipts: 0, problem: null, ended: false };
  }

  private update(patch: Partial<BuyerSnapshot>) {
    this.snapshot = { ...this.snapshot, ...patch };
    if (!this.closed) this.onChange(this.snapshot);
  }

  async start() {
    const api = peripheralClient();
    await ensureDeviceKey(this.deviceId, (input) => api.device.setKey.mutate(input));
    const joined = await api.peripheral.join.mutate({ contractId: this.contractId, deviceId: this.deviceId });
    if (this.closed) return;
    this.nextSeq = Math.max(this.nextSeq, joined.lastSeq + 1);
    this.receiver = new MediaReceiver(
      {
        selfDeviceId: this.deviceId,
        rentalId: this.rental.id,
        send: (toDeviceId, message) => api.signal.send.mutate({ fromDeviceId: this.deviceId, toDeviceId, message }),
        onState: (link) => this.update({ link }),
      },
      joined.sellerDeviceId,
      (stream) => this.update({ stream }),
      // the seller waits a moment for this last receipt before it stops the rental (seller-session.ts)
      () => void this.sendReceipt(),
    );
    this.timers.push(setInterval(() => void this.sample(), SAMPLE_EVERY_MS));
    this.timers.push(setInterval(() => void this.sendReceipt(), RECEIPT_INTERVAL_MS));
  }

  private async sample() {
    const report = await this.receiver?.stats();
    if (!report) return;
    const figures = inboundFigures(report, this.rental.kind === 'MICROPHONE' ? 'audio' : 'video');
    this.meter.sample({ at: performance.now(), ...figures });
    this.update({ recent: this.meter.recent });
  }

  /** Sends what was counted since the last receipt (nothing when nothing was). */
  async sendReceipt(): Promise<void> {
    if (this.closed) return;
    if (this.sending) {
      // one at a time, in order: send again as soon as this one is answered
      this.again = true;
      return;
    }
    const measured = this.meter.take();
    if (measured.mediaMs === 0) return;
    const body: ReceiptBody = { version: 1, rentalId: this.rental.id, deviceId: this.deviceId, seq: this.nextSeq, ...measured };
    this.sending = true;
    const api = peripheralClient();
    try {
      const signature = await signWithDeviceKey(this.deviceId, receiptBytes(body));
      const counted = await api.peripheral.receipt.mutate({ body, signature });
      this.nextSeq = counted.seq + 1;
      this.update({ provenMs: counted.provenMs, receipts: this.snapshot.receipts + 1, problem: null });
    } catch (error) {
      const code = error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined;
      if (!code) {
        // not answered (offline, the coordinator restarting): the next receipt carries this interval too
        this.meter.giveBack(measured);
      } else if (code === 'PRECONDITION_FAILED') {
        // ended, or the window not open yet (media before it does not count)
        const now = await api.peripheral.get.query({ contractId: this.contractId }).catch(() => null);
        this.update({ ended: now?.rental?.state === 'ENDED', problem: now?.rental?.state === 'ENDED' ? null : error instanceof Error ? error.message : null });
      } else if (code === 'CONFLICT') {
        // another tab or device counted this number: go on from the coordinator's count
        const now = await api.peripheral.get.query({ contractId: this.contractId }).catch(() => null);
        if (now?.rental) {
          this.nextSeq = now.rental.lastSeq + 1;
          this.update({ provenMs: now.rental.provenMs });
        }
      } else {
        this.update({ problem: error instanceof Error ? error.message : String(error) });
      }
    } finally {
      this.sending = false;
    }
    if (this.again) {
      this.again = false;
      return this.sendReceipt();
    }
  }

  close() {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.receiver?.close();
  }
}
