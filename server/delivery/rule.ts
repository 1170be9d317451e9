/**
 * The delivery rule: what the system can deliver, it delivers and measures, and a contract in such a
 * category pays from proof of delivery, pro rata to what was proven. The seller's word ("I have
 * delivered") and the buyer's sign-off remain only for goods the system cannot see.
 */
import { DomainError } from '../errors';

/**
 * Category/unit pairs the system delivers and measures itself: their contracts never settle on the
 * seller's word. Each delivery mechanism adds its pairs here when it lands.
 */
const DELIVERED_BY_SYSTEM = new Set<string>([
  // spent by a job: validated units prove the FLOP, CPU time, units or MB × run time (server/compute/terms.ts)
  'COMPUTE/GFLOP',
  'COMPUTE/CPU_SECOND',
  'COMPUTE/WORK_UNIT',
  'MEMORY/MB_HOUR',
  // challenges answered from stored shards (server/storage)
  'STORAGE/MB_HOUR',
  // seconds of media received, in signed receipts (server/peripheral)
  'PERIPHERAL/DEVICE_HOUR',
  // page views whose reports validate against the verified site (server/pageviews)
  'NETWORK/PAGE_VIEW',
  // bytes relayed, counted by both ends in signed receipts (server/relay)
  'NETWORK/MB',
]);

export function settlesFromProof(category: string, unit: string): boolean {
  return DELIVERED_BY_SYSTEM.has(`${category}/${unit}`);
}

/**
 * A barter's file leg (FILE/ITEM): delivered by transfers of the giver's items taken against it and settled from the
 * receiver's verified SHA-256 of each (server/content/file-legs.ts), so it never settles on the giver's word either.
 */
export const isFileLeg = (contract: { category: string; unit: string; barterDealId?: string | null }) =>
  Boolean(contract.barterDealId) && contract.category === 'FILE' && contract.unit === 'ITEM';

/** Whether this contract pays only from proofs of delivery: a pair the system delivers and measures, or a barter's file leg. */
export const contractSettlesFromProof = (contract: { category: string; unit: string; barterDealId?: string | null }) =>
  settlesFromProof(contract.category, contract.unit) || isFileLeg(contract);

/** Refuses the seller's word for a contract the system delivers and measures. */
export function refuseSellersWord(contract: { category: string; unit: string; barterDealId?: string | null }): void {
  if (contractSettlesFromProof(contract)) {
    throw new DomainError(
      'PRECONDITION',
      'This contract pays from measured delivery: it settles by itself from the proofs your device sends, pro rata to what they prove. There is nothing to report.',
    );
  }
}

