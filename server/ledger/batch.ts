import { Prisma } from '../db/generated/sqlite/client';
import type { Tx } from '../db/client';
import { insertRows, valuesTable } from '../db/bulk';
import { newId } from '../db/ids';
import { toMicro } from '../money';
import { accountBounds, assertBalanced, mayPost, netByAccount, type AccountRef, type Bounds, type JournalEntry } from './postings';

/** A posting a batch cannot make from what it read: the batch is given up and its commands run one by one. */
export class LedgerBatchConflict extends Error {}

type HeldAccount = { id: string; ref: AccountRef; read: number; delta: number; bounds: Bounds };

const NO_LIMIT = 2n ** 62n;

/**
 * Members' available and escrow accounts of one community, read once, with balanced entries posted
 * against them in memory and written together by `flush`: one multi-row insert of the entries, one of
 * their postings and one guarded multi-row update of the balances. Each posting is checked against the
 * account's bounds as `postEntry` checks it; the update re-checks every net change against the balance
 * in the database (which other paths may have moved since), and if any would pass a bound, `flush`
 * throws `LedgerBatchConflict` and the caller's transaction must be rolled back.
 */
export class LedgerBatch {
  private readonly accounts = new Map<string, HeldAccount>();
  private entries: { id: string; kind: string; memo: string; reference: string | null }[] = [];
  private postings: { id: string; transactionId: string; accountId: string; amount: bigint }[] = [];

  constructor(
    readonly communityId: string,
    private readonly creditLimit: number,
  ) {}

  private static key(ref: AccountRef): string {
    return `${ref.kind}:${ref.memberId ?? ''}`;
  }

  /** Reads the available and escrow accounts of the members not read yet. */
  async load(tx: Tx, memberIds: Iterable<string>): Promise<void> {
    const missing = [...new Set(memberIds)].filter((id) => !this.accounts.has(`MEMBER:${id}`));
    if (missing.length === 0) return;
    const rows = await tx.$queryRaw<{ id: string; kind: 'MEMBER' | 'ESCROW'; memberId: string; balance: unknown }[]>(Prisma.sql`
      SELECT id, kind, "memberId", balance FROM "Account"
      WHERE "communityId" = ${this.communityId} AND "memberId" IN (${Prisma.join(missing)}) AND kind IN ('MEMBER', 'ESCROW')`);
    for (const row of rows) {
      const ref: AccountRef = { kind: row.kind, memberId: row.memberId };
      this.accounts.set(LedgerBatch.key(ref), { id: row.id, ref, read: toMicro(BigInt(row.balance as bigint)), delta: 0, bounds: accountBounds(ref, { creditLimit: this.creditLimit }) });
    }
  }

  has(ref: AccountRef): boolean {
    return this.accounts.has(LedgerBatch.key(ref));
  }

  /** The balance as this batch will leave it. */
  balance(ref: AccountRef): number {
    const account = this.held(ref);
    return account.read + account.delta;
  }

  private held(ref: AccountRef): HeldAccount {
    const account = this.accounts.get(LedgerBatch.key(ref));
    if (!account) throw new LedgerBatchConflict(`account ${LedgerBatch.key(ref)} was not read into the batch`);
    return account;
  }

  /** Posts a balanced entry in memory; throws `LedgerBatchConflict` if a line would pass its account's bounds. */
  post(entry: JournalEntry): void {
    assertBalanced(entry);
    const lines = netByAccount(entry).map((line) => ({ ...line, account: this.held(line.account) }));
    for (const { account, amount } of lines) {
      if (amount !== 0 && !mayPost(account.read + account.delta, amount, account.bounds)) {
        throw new LedgerBatchConflict(`posting ${amount} to ${LedgerBatch.key(account.ref)} would pass its bounds`);
      }
    }
    const transactionId = newId();
    this.entries.push({ id: transactionId, kind: entry.kind, memo: entry.memo, reference: entry.reference ?? null });
    for (const { account, amount } of lines) {
      if (amount === 0) continue;
      account.delta += amount;
      this.postings.push({ id: newId(), transactionId, accountId: account.id, amount: BigInt(amount) });
    }
  }

  /** Writes the entries, their postings and the balances; afterwards the batch holds nothing unwritten. */
  async flush(tx: Tx): Promise<void> {
    if (this.entries.length === 0) return;
    const now = new Date();
    await insertRows(tx, 'LedgerTransaction', ['id', 'communityId', 'kind', 'memo', 'reference', 'createdAt'], this.entries.map((e) => [e.id, this.communityId, e.kind, e.memo, e.reference, now]));
    await insertRows(tx, 'Posting', ['id', 'transactionId', 'accountId', 'amount', 'createdAt'], this.postings.map((p) => [p.id, p.transactionId, p.accountId, p.amount, now]));
    const moved = [...this.accounts.values()].filter((a) => a.delta !== 0);
    if (moved.length > 0) {
      // the guard of `guardFor` per account, on the balance as it is now in the database
      const rows = moved.map((a) => {
        const delta = BigInt(a.delta);
        const lowest = a.delta < 0 ? BigInt(a.bounds.floor) - delta : -NO_LIMIT;
        const highest = a.delta > 0 ? BigInt(a.bounds.ceiling) - delta : NO_LIMIT;
        return [a.id, delta, lowest, highest];
      });
      const count = await tx.$executeRaw(Prisma.sql`
        UPDATE "Account" SET balance = "Account".balance + v.column2
        FROM ${valuesTable(rows, ['TEXT', 'BIGINT', 'BIGINT', 'BIGINT'])}
        WHERE "Account".id = v.column1 AND "Account".balance >= v.column3 AND "Account".balance <= v.column4`);
      if (count !== moved.length) throw new LedgerBatchConflict('a balance moved past what the batch allowed for');
    }
    for (const account of moved) {
      account.read += account.delta;
      account.delta = 0;
    }
    this.entries = [];
    this.postings = [];
  }
}
