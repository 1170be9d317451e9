import type { Tx } from '../db/client';
import { escrowAccount, memberAccount, transfer } from '../ledger/postings';
import { postEntry } from '../ledger/repository';
import { toMicro } from '../money';
import { fillAmounts } from '../market/commission';
import { applyContractActions } from '../market/contracts';
import type { Outbox } from '../live/outbox';

/**
 * Settles a compute contract for the work units that were validated: the contract shrinks to the
 * delivered quantity (the rest of its escrow goes back to the job's owner), then is delivered and signed
 * off on the quorum's word, paying the donor; with nothing delivered it fails and refunds in full.
 */
export async function settleDelivered(tx: Tx, contractId: string, delivered: number, outbox: Outbox): Promise<void> {
  const contract = await tx.contract.findUniqueOrThrow({
    where: { id: contractId },
    select: { id: true, communityId: true, buyerId: true, quantity: true, price: true, commissionBps: true, escrowed: true, state: true, unit: true, community: { select: { creditLimit: true } } },
  });
  if (contract.state !== 'MATCHED' && contract.state !== 'ACTIVE') return;
  if (delivered <= 0) {
    await applyContractActions(tx, contractId, [
      { action: 'FAIL', actor: 'SYSTEM', actorId: null, note: 'No validated work units' },
      { action: 'REFUND', actor: 'SYSTEM', actorId: null, note: 'Escrow returned to the job owner' },
    ], outbox);
    return;
  }
  if (delivered < contract.quantity) {
    const amounts = fillAmounts(delivered, toMicro(contract.price), contract.commissionBps);
    const refund = toMicro(contract.escrowed) - amounts.buyerPays;
    if (refund > 0) {
      await postEntry(tx, contract.communityId, {
        ...transfer(escrowAccount(contract.buyerId), memberAccount(contract.buyerId), refund, 'REFUND', `${contract.quantity - delivered} work units not validated: refunded`),
        reference: `contract:${contract.id}`,
      }, { creditLimit: toMicro(contract.community.creditLimit) });
    }
    await tx.contract.update({
      where: { id: contract.id },
      data: {
        quantity: delivered,
        escrowed: BigInt(amounts.buyerPays),
        buyerCommission: BigInt(amounts.buyerShare),
        sellerCommission: BigInt(amounts.sellerShare),
        events: { create: { action: 'ADJUST', fromState: contract.state, toState: contract.state, note: `${delivered} of ${contract.quantity} ${contract.unit} validated` } },
      },
    });
  }
  await applyContractActions(tx, contractId, [
    { action: 'REPORT_DELIVERED', actor: 'SELLER', actorId: null, note: `${delivered} work units validated by quorum` },
    { action: 'SIGN_OFF', actor: 'BUYER', actorId: null, note: 'Paid for validated work' },
  ], outbox);
}
