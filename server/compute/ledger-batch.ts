import { Prisma } from '../db/generated/sqlite/client';
import type { Tx } from '../db/client';
import { DomainError } from '../errors';

import { accountBounds, assertBalanced, netByAccount, type AccountRef, type Bounds, type JournalEntry } from '../ledger/postings';
import { chunks, insertRows, newId, valuesTable } from './bulk';

const NO_LIMIT = 2n ** 62n;
const keyOf = (ref: AccountRef) => `${ref.kind}:${ref.memberId ?? ''}`;

/**
 * Ledger entries of one community gathered in memory and written with multi-row statements: one insert of
 * the entries, one of their postings, one guarded update of the balances (each account's net change is
 * checked against its bounds on the balance as it is in the database, as `postEntry` checks each line).
 * Only members' and the community's own accounts (no federation clearing): what compute moves.
 */
export class EntryBatch {
  private readonly entries: { id: string; kind: string; memo: string; reference: string | null }[] = [];
  private readonly lines: { transactionId: string; ref: AccountRef; amount: number }[] = [];

  constructor(
    readonly communityId: string,
    private readonly creditLimit: number,
  ) {}

  get size() {
    return this.entries.length;
  }

  post(entry: JournalEntry): void {
    assertBalanced(entry);
    const transactionId = newId();
    this.entries.push({ id: transactionId, kind: entry.kind, memo: entry.memo, reference: entry.reference ?? null });
    for (const line of netByAccount(entry)) if (line.amount !== 0) this.lines.push({ transactionId, ref: line.account, amount: line.amount });
  }

  async write(tx: Tx): Promise<void> {
    if (this.entries.length === 0) return;
    const members = [...new Set(this.lines.flatMap((l) => (l.ref.memberId ? [l.ref.memberId] : [])))];
    const kinds = [...new Set(this.lines.filter((l) => !l.ref.memberId).map((l) => l.ref.kind))];
    const rows = await tx.account.findMany({
      where: {
        communityId: this.communityId,
        OR: [
          ...(members.length ? [{ memberId: { in: members }, kind: { in: ['MEMBER' as const, 'ESCROW' as const] } }] : []),
          ...(kinds.length ? [{ memberId: null, peerCommunityId: null, kind: { in: kinds } }] : []),
        ],
      },
      select: { id: true, kind: true, memberId: true },
    });
    const ids = new Map(rows.map((r) => [keyOf({ kind: r.kind, memberId: r.memberId }), r.id]));
    const net = new Map<string, { id: string; delta: number; bounds: Bounds }>();
    const postings = this.lines.map((line) => {
      const accountId = ids.get(keyOf(line.ref));
      if (!accountId) throw new DomainError('PRECONDITION', `No ${line.ref.kind.toLowerCase()} account ${line.ref.memberId ? 'for this member ' : ''}in this community — join it first.`);
      const held = net.get(accountId) ?? { id: accountId, delta: 0, bounds: accountBounds(line.ref, { creditLimit: this.creditLimit }) };
      held.delta += line.amount;
      net.set(accountId, held);
      return { id: newId(), transactionId: line.transactionId, accountId, amount: BigInt(line.amount) };
    });
    const at = new Date();
    await insertRows(tx, 'LedgerTransaction', ['id', 'communityId', 'kind', 'memo', 'reference', 'createdAt'], this.entries.map((e) => [e.id, this.communityId, e.kind, e.memo, e.reference, at]));
    await insertRows(tx, 'Posting', ['id', 'transactionId', 'accountId', 'amount', 'createdAt'], postings.map((p) => [p.id, p.transactionId, p.accountId, p.amount, at]));
    const moved = [...net.values()].filter((a) => a.delta !== 0);
    for (const part of chunks(moved, 1_000)) {
      const values = part.map((a) => {
        const delta = BigInt(a.delta);
        return [a.id, delta, a.delta < 0 ? BigInt(a.bounds.floor) - delta : -NO_LIMIT, a.delta > 0 ? BigInt(a.bounds.ceiling) - delta : NO_LIMIT];
      });
      const count = await tx.$executeRaw(Prisma.sql`
        UPDATE "Account" SET "balance" = "Account"."balance" + v.column2
        FROM ${valuesTable(values, ['TEXT', 'BIGINT', 'BIGINT', 'BIGINT'])}
        WHERE "Account"."id" = v.column1 AND "Account"."balance" >= v.column3 AND "Account"."balance" <= v.column4`);
      if (count !== part.length) throw new DomainError('CONFLICT', 'A balance changed meanwhile and this would take it past its bounds: try again.');
    }
  }
}

