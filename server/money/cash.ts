import { DomainError } from '../errors';
import type { Db } from '../db/client';
import { transaction } from '../db/transaction';
import { communityAccount, memberAccount, transfer } from '../ledger/postings';
import { AlreadyRecordedError, LedgerBoundError, postEntry } from '../ledger/repository';
import { formatCredits } from '../money';

/**
 * Cash moves in and out of a community through its cash clearing account: the coordinator records a
 * deposit or withdrawal made outside Swapmesh, with the external reference. Once per reference is the
 * database's guarantee (the entry's once-key is unique), whatever the concurrency.
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
    const entry =
      input.direction === 'DEPOSIT'
        ? transfer(communityAccount('CASH_CLEARING'), memberAccount(input.memberId), input.amount, 'CASH_DEPOSIT', `Cash deposit ${input.externalReference}`)
        : transfer(memberAccount(input.memberId), communityAccount('CASH_CLEARING'), input.amount, 'CASH_WITHDRAWAL', `Cash withdrawal ${input.externalReference}`);
    try {
      const { transactionId } = await postEntry(tx, community.id, { ...entry, reference, onceKey: `cash:${community.id}:${input.externalReference}` }, community);
      return { transactionId };
    } catch (error) {
      if (error instanceof AlreadyRecordedError) {
        throw new DomainError('CONFLICT', `The cash movement "${input.externalReference}" was already recorded: each external reference counts once.`);
      }
      if (error instanceof LedgerBoundError && error.account.kind === 'MEMBER' && error.amount < 0) {
        throw new DomainError(
          'CONFLICT',
          `The member's balance is too low for this withdrawal: ${formatCredits(error.balance)} credits available, ${formatCredits(input.amount)} asked${error.bounds.floor < 0 ? ` (the credit limit allows down to ${formatCredits(error.bounds.floor)})` : ''}.`,
        );
      }
      throw error;
    }
  });
}
