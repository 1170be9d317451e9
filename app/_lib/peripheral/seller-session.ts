'use client';

/**
 * The seller's side of a peripheral rental, kept for the page's lifetime (not the screen's), so the camera,
 * microphone or screen stays shared while the seller moves around the app and the indicator (app-shell) can
 * always show it and stop it. Device permission is asked here, only when the seller starts a rental.
 */
import type { RentalKind } from '@/server/peripheral/receipt-format';
import { getLiveHub } from '../live-client';
import { peripheralClient } from './client';
import { MediaSender } from './media-link';
import { publishSeller, sellerSession, type SellerSnapshot } from './seller-state';

export { sellerSession, type SellerSnapshot };

type Session = { snapshot: NonNullable<SellerSnapshot>; stream: MediaStream; sender: MediaSender; timer: ReturnType<typeof setTimeout>; unwatch: () => void };

let current: Session | null = null;

function emit() {
  publishSeller(current ? { ...current.snapshot } : null);
}

/** Asks for the device (the browser's permission prompt appears now, never on page load). */
async function capture(kind: RentalKind): Promise<MediaStream> {
  if (!navigator.mediaDevices) throw new Error('This browser cannot share a camera, microphone or screen here (it needs a secure page).');
  if (kind === 'SCREEN') return navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  return navigator.mediaDevices.getUserMedia(kind === 'CAMERA' ? { video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false } : { audio: true, video: false });
}

/** Starts (or, after a reload, resumes) sharing a contract's peripheral from this device. */
export async function startSharing(input: { contractId: string; deviceId: string; kind: RentalKind; buyerHandle: string }) {
  if (current?.snapshot.contractId === input.contractId) return;
  if (current) throw new Error('This device is already sharing for another rental: stop that one first.');
  const stream = await capture(input.kind);
  let rental;
  try {
    rental = await peripheralClient().peripheral.start.mutate({ contractId: input.contractId, deviceId: input.deviceId, kind: input.kind });
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    throw error;
  }
  const contractId = input.contractId;
  const sender = new MediaSender(
    {
      selfDeviceId: input.deviceId,
      rentalId: rental.id,
      send: (toDeviceId, message) => peripheralClient().signal.send.mutate({ fromDeviceId: input.deviceId, toDeviceId, message }),
      onState: (link, detail) => {
        if (!current || current.sender !== sender) return;
        current.snapshot.link = link;
        current.snapshot.problem = link === 'waiting' && detail ? detail : null;
        emit();
      },
    },
    stream,
    async (deviceId) => (await peripheralClient().peripheral.get.query({ contractId })).rental?.buyerDeviceId === deviceId,
  );
  const untilEnd = Math.max(0, Date.parse(rental.windowEnd) - Date.now());
  current = {
    snapshot: { contractId, rentalId: rental.id, kind: input.kind, buyerHandle: input.buyerHandle, windowEnd: rental.windowEnd, link: 'waiting', problem: null },
    stream,
    sender,
    // the window closes: the coordinator settles; this device stops sharing
    timer: setTimeout(() => endSharing(contractId), untilEnd),
    // the buyer ended it (or another device of the seller's stopped it): stop sharing here, whatever screen is open
    unwatch: getLiveHub().watchEvents((event) => {
      if (event.type === 'contract' && event.contractId === contractId && event.action === 'RENTAL_ENDED') endSharing(contractId);
    }),
  };
  // the seller stopped it from the browser's own controls (screen sharing bar, a revoked permission)
  for (const track of stream.getTracks()) track.addEventListener('ended', () => void stopSharing(contractId).catch(() => undefined));
  emit();
}

/** The stream this device shares for a rental (for a preview), if any. */
export const sharedStream = (contractId: string) => (current?.snapshot.contractId === contractId ? current.stream : null);

/** Stops sharing locally (the rental ended on the coordinator, or the window closed). */
export function endSharing(contractId: string) {
  if (!current || current.snapshot.contractId !== contractId) return;
  const { stream, sender, timer, unwatch } = current;
  current = null;
  clearTimeout(timer);
  unwatch();
  sender.close();
  for (const track of stream.getTracks()) track.stop();
  emit();
}

/** How long the seller's device waits for the buyer's last receipt (sent when the stream drops) before it stops the rental. */
export const LAST_RECEIPT_WAIT_MS = 4_000;

/**
 * The seller stops: the camera goes off at once; the buyer's device, seeing the stream end, sends a receipt for
 * its last seconds, which this device waits for (a few seconds at most) so that they are paid too; then the
 * coordinator ends the rental and settles the contract for what was proven, and nothing after.
 */
export async function stopSharing(contractId: string) {
  const api = peripheralClient();
  const before = await api.peripheral.get.query({ contractId }).catch(() => null);
  endSharing(contractId);
  const lastSeq = before?.rental?.lastSeq;
  if (lastSeq !== undefined && before?.rental?.buyerDeviceId) {
    for (const until = Date.now() + LAST_RECEIPT_WAIT_MS; Date.now() < until; ) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      const now = await api.peripheral.get.query({ contractId }).catch(() => null);
      if (!now?.rental || now.rental.state !== 'LIVE' || now.rental.lastSeq > lastSeq) break;
    }
  }
  try {
    return await api.peripheral.stop.mutate({ contractId });
  } catch (error) {
    // already ended (the buyer ended it, or the window closed): nothing more to do
    if (error instanceof Error && /already ended/.test(error.message)) return null;
    throw error;
  }
}
