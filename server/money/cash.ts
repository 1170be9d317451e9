import { DomainError } from '../errors';
import type { Db } from '../db/client';
import { transaction } from '../db/transaction';
import { communityAccount, memberAccount, transfer } from '../ledger/postings';
import { postEntry } from '../ledger/repository';

/**
 * Cash moves in and out of a community through its cash clearing account: the coordinator records a
 * deposit or withdrawal made outside Swapmesh, with the external reference, once.
 */
export async function recordCash(
  db: Db,
  community: { id: string; creditLimit: number },
  input: { memberId: string; amount: number; externalReference: string; direction: 'DEPOSIT' | 'WITHDRAWAL' },
) {
  const reference = `cash:${input.externalReference}`;
  return transaction(db, async (tx) => {
    const member = await tx.membership.count({ where: { memberId: input.memberId, communityId: community.id } });
    if (!member) throw new DomainError('NOT_FOUND', 'That person is not a member of this community.');
    const seen = await tx.ledgerTransaction.count({ where: { communityId: community.id, reference } });
    if (seen) throw new DomainError('CONFLICT', `The cash movement "${input.externalReference}" was already recorded.`);
    const entry =
      input.direction === 'DEPOSIT'
        ? transfer(communityAccount('CASH_CLEARING'), memberAccount(input.memberId), input.amount, 'CASH_DEPOSIT', `Cash deposit ${input.externalReference}`)
        : transfer(memberAccount(input.memberId), communityAccount('CASH_CLEARING'), input.amount, 'CASH_WITHDRAWAL', `Cash withdrawal ${input.externalReference}`);
    const { transactionId } = await postEntry(tx, community.id, { ...entry, reference }, community);
    return { transactionId };
  });
}
