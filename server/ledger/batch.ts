import { Prisma } from '../db/generated/sqlite/client';
import { rawQuery, runWrites, unguarded, type Write } from '../db/direct';
import type { Tx } from '../db/client';
import { chunks, enumValue, insertStatements, valuesTable } from '../db/bulk';
import { newId } from '../db/ids';
import { DomainError } from '../errors';
import { toMicro } from '../money';
import { accountBounds, assertBalanced, mayPost, netByAccount, type AccountRef, type Bounds, type JournalEntry } from './postings';

/**
 * A posting a batch cannot make: a balance it read would pass its bounds, or the balance in the database
 * moved under the batch. The batch's transaction must be rolled back (the market's writer then places its
 * orders one by one; the compute writer runs its commands one by one).
 */
export class LedgerBatchConflict extends DomainError {
  constructor(detail: string) {
    super('CONFLICT', 'A balance changed meanwhile and this would take it past its bounds: try again.');
    this.cause = detail;
  }
}

type HeldAccount = { id: string; ref: AccountRef; read: number; delta: number };

const NO_LIMIT = 2n ** 62n;
const keyOf = (ref: AccountRef) => `${ref.kind}:${ref.memberId ?? ''}`;

/**
 * Balanced entries of one community gathered in memory and written together by `flush`: one multi-row
 * insert of the entries, one of their postings, and one guarded multi-row update of the balances (each
 * account's net change checked against its bounds on the balance as it is in the database, as `postEntry`
 * checks each line). Members' available and escrow accounts and the community's own accounts; no
 * federation clearing. Accounts read with `load` are also checked posting by posting in memory, so a
 * writer can decide from their balances (`balance`) before it commits to anything.
 */
/** An account as `memberAccountsQuery` reads it (or a community's own account, read the same way). */
export type AccountRow = { id: string; kind: AccountRef['kind']; memberId: string | null; balance: unknown };

/** The available and escrow accounts of members of a community (for `LedgerBatch.accept`). */
export function memberAccountsQuery(communityId: string, memberIds: string[]): Prisma.Sql {
  // a raw statement: on the hot paths the ORM's cost per query is most of the cost
  return Prisma.sql`
    SELECT id, kind, "memberId", balance FROM "Account"
    WHERE "communityId" = ${communityId} AND "memberId" IN (${Prisma.join(memberIds)}) AND kind IN ('MEMBER', 'ESCROW')`;
}

/** A community's own accounts of `kinds` (its commission, its sweepstakes pool…): no member, no linked community. */
const ownAccounts = (tx: Tx, kinds: readonly AccountRef['kind'][]) =>
  Prisma.sql`("memberId" IS NULL AND "peerCommunityId" IS NULL AND kind IN (${Prisma.join(kinds.map((kind) => enumValue(tx, kind, 'AccountKind')))}))`;

/** A community's own accounts of `kinds`, read as `memberAccountsQuery` reads members' (for `LedgerBatch.accept`). */
export function communityAccountsQuery(tx: Tx, communityId: string, kinds: readonly AccountRef['kind'][]): Prisma.Sql {
  return Prisma.sql`SELECT id, kind, "memberId", balance FROM "Account" WHERE "communityId" = ${communityId} AND ${ownAccounts(tx, kinds)}`;
}

export class LedgerBatch {
  private readonly loaded = new Map<string, HeldAccount>();
  private entries: { id: string; kind: string; memo: string; reference: string | null }[] = [];
  private lines: { transactionId: string; ref: AccountRef; amount: number }[] = [];

  constructor(
    readonly communityId: string,
    private readonly creditLimit: number,
  ) {}

  /** Entries waiting to be written. */
  get size(): number {
    return this.entries.length;
  }

  /** Reads the available and escrow accounts of the members not read yet. */
  async load(tx: Tx, memberIds: Iterable<string>): Promise<void> {
    const query = this.accountsQuery(memberIds);
    if (query) this.accept(await rawQuery<AccountRow>(tx, query));
  }

  /** The query `load` runs (null when every member was read), for a caller that sends it with others. */
  accountsQuery(memberIds: Iterable<string>): Prisma.Sql | null {
    const missing = [...new Set(memberIds)].filter((id) => !this.loaded.has(`MEMBER:${id}`));
    return missing.length === 0 ? null : memberAccountsQuery(this.communityId, missing);
  }

  /** Takes the rows of `accountsQuery` (or `memberAccountsQuery`). */
  accept(rows: AccountRow[]): void {
    for (const row of rows) {
      const ref: AccountRef = { kind: row.kind, memberId: row.memberId };
      this.loaded.set(keyOf(ref), { id: row.id, ref, read: toMicro(BigInt(row.balance as bigint)), delta: 0 });
    }
  }

  has(ref: AccountRef): boolean {
    return this.loaded.has(keyOf(ref));
  }

  /** The balance of a loaded account as this batch will leave it. */
  balance(ref: AccountRef): number {
    const account = this.loaded.get(keyOf(ref));
    if (!account) throw new Error(`LedgerBatch: account ${keyOf(ref)} was not loaded`);
    return account.read + account.delta;
  }

  private bounds(ref: AccountRef): Bounds {
    return accountBounds(ref, { creditLimit: this.creditLimit });
  }

  /** Posts a balanced entry in memory; a loaded account's line that would pass its bounds throws `LedgerBatchConflict`. */
  post(entry: JournalEntry): void {
    assertBalanced(entry);
    const lines = netByAccount(entry).filter((line) => line.amount !== 0);
    for (const { account: ref, amount } of lines) {
      const held = this.loaded.get(keyOf(ref));
      if (held && !mayPost(held.read + held.delta, amount, this.bounds(ref))) {
        throw new LedgerBatchConflict(`posting ${amount} to ${keyOf(ref)} would pass its bounds`);
      }
    }
    const transactionId = newId();
    this.entries.push({ id: transactionId, kind: entry.kind, memo: entry.memo, reference: entry.reference ?? null });
    for (const { account: ref, amount } of lines) {
      const held = this.loaded.get(keyOf(ref));
      if (held) held.delta += amount;
      this.lines.push({ transactionId, ref, amount });
    }
  }

  /** Writes the entries, their postings and the balances; afterwards the batch holds nothing unwritten. */
  async flush(tx: Tx): Promise<void> {
    if (this.entries.length === 0) return;
    const { writes, done } = await this.writes(tx);
    await runWrites(tx, writes);
    done();
  }

  /**
   * What `flush` writes, for a caller that sends it with its own writes (server/db/direct.ts): the writes (the
   * balances' guarded: `LedgerBatchConflict` if a balance moved past what the batch allowed for), and `done`
   * to call once they are sent, after which the batch holds nothing unwritten.
   */
  async writes(tx: Tx): Promise<{ writes: Write[]; done: () => void }> {
    if (this.entries.length === 0) return { writes: [], done: () => {} };
    const ids = await this.accountIds(tx);
    const net = new Map<string, { id: string; delta: number; bounds: Bounds }>();
    const postings = this.lines.map((line) => {
      const accountId = ids.get(keyOf(line.ref))!;
      const held = net.get(accountId) ?? { id: accountId, delta: 0, bounds: this.bounds(line.ref) };
      held.delta += line.amount;
      net.set(accountId, held);
      return [newId(), line.transactionId, accountId, BigInt(line.amount)];
    });
    const at = new Date();
    const moved = [...net.values()].filter((a) => a.delta !== 0);
    const conflict = () => new LedgerBatchConflict('a balance moved past what the batch allowed for');
    const writes: Write[] = unguarded([
      ...insertStatements('LedgerTransaction', ['id', 'communityId', 'kind', 'memo', 'reference', 'createdAt'], this.entries.map((e) => [e.id, this.communityId, e.kind, e.memo, e.reference, at])),
      ...insertStatements('Posting', ['id', 'transactionId', 'accountId', 'amount', 'createdAt'], postings.map((p) => [...p, at])),
    ]);
    for (const part of chunks(moved, 1_000)) {
      // the guard of `guardFor` per account, on the balance as it is now in the database
      const values = part.map((a) => {
        const delta = BigInt(a.delta);
        return [a.id, delta, a.delta < 0 ? BigInt(a.bounds.floor) - delta : -NO_LIMIT, a.delta > 0 ? BigInt(a.bounds.ceiling) - delta : NO_LIMIT];
      });
      writes.push({
        guard: { changes: part.length, error: conflict },
        query: Prisma.sql`
          UPDATE "Account" SET balance = "Account".balance + v.column2
          FROM ${valuesTable(values, ['TEXT', 'BIGINT', 'BIGINT', 'BIGINT'])}
          WHERE "Account".id = v.column1 AND "Account".balance >= v.column3 AND "Account".balance <= v.column4`,
      });
    }
    const done = () => {
      for (const account of this.loaded.values()) {
        account.read += account.delta;
        account.delta = 0;
      }
      this.entries = [];
      this.lines = [];
    };
    return { writes, done };
  }

  /** The ids of every account the lines name: the loaded ones, and the rest read in one query. */
  private async accountIds(tx: Tx): Promise<Map<string, string>> {
    const ids = new Map([...this.loaded].map(([key, account]) => [key, account.id]));
    const unknown = this.lines.filter((l) => !ids.has(keyOf(l.ref))).map((l) => l.ref);
    if (unknown.length > 0) {
      const members = [...new Set(unknown.flatMap((r) => (r.memberId ? [r.memberId] : [])))];
      const kinds = [...new Set(unknown.filter((r) => !r.memberId).map((r) => r.kind))];
      // raw, as the rest of the batch (a transaction outside the ORM runs raw statements only)
      const rows = await rawQuery<{ id: string; kind: AccountRef['kind']; memberId: string | null }>(tx, Prisma.sql`
        SELECT id, kind, "memberId" FROM "Account"
        WHERE "communityId" = ${this.communityId} AND (${Prisma.join(
          [
            ...(members.length ? [Prisma.sql`("memberId" IN (${Prisma.join(members)}) AND kind IN ('MEMBER', 'ESCROW'))`] : []),
            ...(kinds.length ? [ownAccounts(tx, kinds)] : []),
          ],
          ' OR ',
        )})`);
      for (const row of rows) ids.set(keyOf({ kind: row.kind, memberId: row.memberId }), row.id);
    }
    for (const { ref } of this.lines) {
      if (!ids.has(keyOf(ref))) {
        throw new DomainError('PRECONDITION', `No ${ref.kind.toLowerCase()} account ${ref.memberId ? 'for this member ' : ''}in this community — join it first.`);
      }
    }
    return ids;
  }
}
