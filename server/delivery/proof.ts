/** Settlement from proofs of delivery (the rule: server/delivery/rule.ts). */
import type { Db, Tx } from '../db/client';
import { withOutbox, type Outbox } from '../live/outbox';
import { applyContractActions } from '../market/contracts';

/**
 * Settles a matched or active contract from its proofs: `part` of `whole` (integers in one measure, e.g.
 * seconds streamed of the seconds bought) is paid to the seller less commission pro rata, the rest of the
 * escrow goes back to the buyer. Exactly once: of concurrent settlements one applies, the others get CONFLICT.
 */
export async function settleFromProofIn(tx: Tx, contractId: string, proven: { part: number; whole: number }, note: string, outbox: Outbox, now = new Date()) {
  const { part, whole } = proven;
  if (!Number.isSafeInteger(whole) || whole <= 0 || !Number.isSafeInteger(part) || part < 0) throw new RangeError(`a proven share is integers 0 ≤ part, 0 < whole; got ${part}/${whole}`);
  const capped = { part: Math.min(part, whole), whole };
  return applyContractActions(tx, contractId, [{ action: 'SETTLE_PROVEN', actor: 'SYSTEM', actorId: null, note, proven: capped }], outbox, now);
}

export function settleFromProof(db: Db, contractId: string, proven: { part: number; whole: number }, note: string, now = new Date()) {
  return withOutbox(db, (tx, outbox) => settleFromProofIn(tx, contractId, proven, note, outbox, now));
}
