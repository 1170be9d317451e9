'use client';

/**
 * What the app shell needs to know of this device's peripheral sharing (app/_lib/peripheral/seller-session.ts):
 * whether it shares, with whom and until when. Kept apart from the session itself so that every screen can show
 * the sharing indicator without loading WebRTC; the session loads with the rental's screen and publishes here.
 */
import type { RentalKind } from '@/server/peripheral/receipt-format';
import type { LinkState } from './media-link';

export type SellerSnapshot = {
  contractId: string;
  rentalId: string;
  kind: RentalKind;
  buyerHandle: string;
  windowEnd: string;
  link: LinkState;
  /** a problem worth showing (the connection failed, the stop did not reach the coordinator) */
  problem: string | null;
} | null;

let snapshot: SellerSnapshot = null;
const listeners = new Set<() => void>();

/** Called by the seller session whenever its state changes. */
export function publishSeller(next: SellerSnapshot) {
  snapshot = next;
  for (const listener of listeners) listener();
}

export const sellerSession = {
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  getSnapshot: (): SellerSnapshot => snapshot,
  getServerSnapshot: (): SellerSnapshot => null,
};
