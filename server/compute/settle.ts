import type { Db, Tx } from '../db/client';
import { conflictUnless, deferWrites, rawQuery, rawQueryAll, unguarded, type Write } from '../db/direct';
import { Prisma } from '../db/generated/sqlite/client';
import { DomainError } from '../errors';
import { communityAccount, escrowAccount, memberAccount, type PostingLine } from '../ledger/postings';
import { toMicro } from '../money';
import { fillAmounts } from '../market/commission';
import { reviewEndsAt } from '../market/contract-state';
import { withOutbox, type Outbox } from '../live/outbox';
import { chunks, enumValue, insertStatements, valuesTable } from '../db/bulk';
import { newId } from '../db/ids';
import { communityAccountsQuery, LedgerBatch, memberAccountsQuery, type AccountRow } from '../ledger/batch';
import { getKernel } from '../../workers/kernels';
import { settleTerms } from './terms';

/** Contracts settled per transaction: each chunk is short, so leases and results of the community go on between chunks. */
export const settleChunkSize = () => (Number(process.env.COMPUTE_SETTLE_CHUNK) > 0 ? Number(process.env.COMPUTE_SETTLE_CHUNK) : 100);

const TRACE = process.env.COMPUTE_TRACE === '1';

/**
 * Settles the contracts of a job that ended, a chunk at a time, each contract for the replicas validated
 * under it: with none it fails and refunds its escrow in full; otherwise it shrinks to the units validated
 * (the rest of its escrow goes back to the job's owner), is reported delivered on the quorum's word and
 * signed off, paying the donor less commission. The same outcome, events and ledger entries (one per
 * contract and movement, referenced `contract:<id>`) as the contract state machine gives one contract at
 * a time, written with multi-row statements. Each chunk's writes are conditional on the contracts' states,
 * so two processes settling one job settle each contract once. Returns how many contracts it settled.
 */
export async function settleJob(db: Db, jobId: string, now = new Date()): Promise<number> {
  // memory and a spent GFLOP or CPU-second contract first: they read which replicas are valid, as the chunks below do
  await settleTerms(db, jobId, (name) => getKernel(name), now);
  let settled = 0;
  const size = settleChunkSize();
  for (;;) {
    const started = TRACE ? performance.now() : 0;
    // raw statements: a chunk reads twice and writes with its COMMIT, so it holds the database as briefly as it can
    const done = await withOutbox(db, (tx, outbox) => settleChunk(tx, jobId, size, outbox, now), { raw: true });
    if (TRACE) console.log(`[compute] settled ${done} contracts of job ${jobId}: ${(performance.now() - started).toFixed(1)} ms`);
    settled += done;
    if (done < size) return settled;
    // a turn of the event loop between chunks: requests that arrived meanwhile are read, and their batches commit
    await new Promise((resolve) => setImmediate(resolve));
  }
}

type ContractState = 'MATCHED' | 'ACTIVE';
type Row = {
  id: string; communityId: string; buyerId: string; sellerId: string; quantity: number; price: bigint; commissionBps: number;
  escrowed: bigint; buyerCommission: bigint; sellerCommission: bigint; state: ContractState; unit: string; category: string; sellerCommunityId: string | null;
};

/** A job's next `size` open compute contracts, found through the job's bids (tests/integration/query-plans). */
export const jobContractsQuery = (jobId: string, size: number) => Prisma.sql`
  SELECT c.id, c."communityId", c."buyerId", c."sellerId", c.quantity, c.price, c."commissionBps", c.escrowed, c."buyerCommission",
    c."sellerCommission", c.state, c.unit, c.category, c."sellerCommunityId"
  FROM "Contract" c
  WHERE c."buyOrderId" IN (SELECT o.id FROM "Order" o WHERE o."jobId" = ${jobId}) AND c.category = 'COMPUTE' AND c.state IN ('MATCHED', 'ACTIVE')
  ORDER BY c.id LIMIT ${size}`;

/** Each contract's VALID replicas, by contract. */
export const validByContractQuery = (contractIds: string[]) => Prisma.sql`
  SELECT "contractId", COUNT(*) AS n FROM "Replica" WHERE "contractId" IN (${Prisma.join(contractIds)}) AND status = 'VALID' GROUP BY "contractId"`;

/** A row as the driver reads it, with the money as bigints and the counts as numbers. */
function contractOf(row: Record<string, unknown>): Row {
  return {
    ...(row as Omit<Row, 'quantity' | 'price' | 'commissionBps' | 'escrowed' | 'buyerCommission' | 'sellerCommission'>),
    quantity: Number(row.quantity), price: BigInt(row.price as bigint), commissionBps: Number(row.commissionBps), escrowed: BigInt(row.escrowed as bigint),
    buyerCommission: BigInt(row.buyerCommission as bigint), sellerCommission: BigInt(row.sellerCommission as bigint),
  };
}

const SETTLEMENT_ACCOUNTS = ['COMMISSION', 'SWEEPSTAKES'] as const;

async function settleChunk(tx: Tx, jobId: string, size: number, outbox: Outbox, now: Date): Promise<number> {
  const contracts = (await rawQuery<Record<string, unknown>>(tx, jobContractsQuery(jobId, size))).map(contractOf);
  if (contracts.length === 0) return 0;
  const communityId = contracts[0]!.communityId;
  const ids = contracts.map((c) => c.id);
  const members = [...new Set(contracts.flatMap((c) => [c.buyerId, c.sellerId]))];
  // the community's terms, the replicas validated under each contract and every account the chunk posts to, in one message
  const [communities, valid, memberAccounts, communityAccounts] = await rawQueryAll<[
    { creditLimit: unknown; sweepstakesShareBps: unknown; reviewPeriodHours: unknown },
    { contractId: string; n: unknown },
    AccountRow,
    AccountRow,
  ]>(tx, [
    Prisma.sql`SELECT "creditLimit", "sweepstakesShareBps", "reviewPeriodHours" FROM "Community" WHERE id = ${communityId}`,
    validByContractQuery(ids),
    memberAccountsQuery(communityId, members),
    communityAccountsQuery(tx, communityId, SETTLEMENT_ACCOUNTS),
  ]);
  const community = {
    creditLimit: BigInt(communities[0]!.creditLimit as bigint),
    sweepstakesShareBps: Number(communities[0]!.sweepstakesShareBps),
    reviewPeriodHours: Number(communities[0]!.reviewPeriodHours),
  };
  const delivered = new Map(valid.map((v) => [v.contractId, Number(v.n)]));
  const ledger = new LedgerBatch(communityId, toMicro(community.creditLimit));
  ledger.accept([...memberAccounts, ...communityAccounts]);
  const events: { id: string; contractId: string; action: string; fromState: string | null; toState: string; note: string; createdAt: Date }[] = [];
  const event = (c: Row, action: string, fromState: string, toState: string, note: string) =>
    events.push({ id: newId(), contractId: c.id, action, fromState, toState, note, createdAt: new Date() });
  const refunded: string[] = [];
  const paid: { id: string; quantity: number; buyerCommission: bigint; sellerCommission: bigint }[] = [];

  for (const c of contracts) {
    const units = delivered.get(c.id) ?? 0;
    const reference = `contract:${c.id}`;
    const escrowed = toMicro(c.escrowed);
    if (c.sellerCommunityId) throw new DomainError('PRECONDITION', 'A compute contract is always within one community.');
    if (units <= 0) {
      event(c, 'FAIL', c.state, 'FAILED', 'No validated work units');
      event(c, 'REFUND', 'FAILED', 'REFUNDED', 'Escrow returned to the job owner');
      if (escrowed > 0) {
        ledger.post({ kind: 'REFUND', memo: `Refund: ${c.quantity} ${c.unit} of ${c.category.toLowerCase()}`, reference, lines: [
          { account: escrowAccount(c.buyerId), amount: -escrowed }, { account: memberAccount(c.buyerId), amount: escrowed },
        ] });
      }
      refunded.push(c.id);
      outbox.add([c.buyerId, c.sellerId], { type: 'contract', contractId: c.id, state: 'REFUNDED', action: 'REFUND' });
      continue;
    }
    let quantity = c.quantity;
    let holds = escrowed;
    let buyerCommission = c.buyerCommission;
    let sellerCommission = c.sellerCommission;
    if (units < c.quantity) {
      const amounts = fillAmounts(units, toMicro(c.price), c.commissionBps);
      const refund = escrowed - amounts.buyerPays;
      if (refund > 0) {
        ledger.post({ kind: 'REFUND', memo: `${c.quantity - units} work units not validated: refunded`, reference, lines: [
          { account: escrowAccount(c.buyerId), amount: -refund }, { account: memberAccount(c.buyerId), amount: refund },
        ] });
      }
      event(c, 'ADJUST', c.state, c.state, `${units} of ${c.quantity} ${c.unit} validated`);
      quantity = units;
      holds = amounts.buyerPays;
      buyerCommission = BigInt(amounts.buyerShare);
      sellerCommission = BigInt(amounts.sellerShare);
    }
    event(c, 'REPORT_DELIVERED', c.state, 'DELIVERED', `${units} work units validated by quorum`);
    event(c, 'SIGN_OFF', 'DELIVERED', 'SETTLED', 'Paid for validated work');
    if (holds > 0) {
      const commission = Math.min(holds, toMicro(buyerCommission) + toMicro(sellerCommission));
      const toPool = Math.floor((commission * community.sweepstakesShareBps) / 10_000);
      const lines: PostingLine[] = [
        { account: escrowAccount(c.buyerId), amount: -holds },
        { account: memberAccount(c.sellerId), amount: holds - commission },
        { account: communityAccount('COMMISSION'), amount: commission - toPool },
        { account: communityAccount('SWEEPSTAKES'), amount: toPool },
      ].filter((l) => l.amount !== 0);
      if (lines.length >= 2) ledger.post({ kind: 'SETTLEMENT', memo: `Sold ${quantity} ${c.unit} of ${c.category.toLowerCase()}`, reference, lines });
    }
    paid.push({ id: c.id, quantity, buyerCommission, sellerCommission });
    outbox.add([c.buyerId, c.sellerId], { type: 'contract', contractId: c.id, state: 'SETTLED', action: 'SIGN_OFF' });
  }

  // each contract changes only from the state it was read in: a contract settled or disputed meanwhile fails the
  // chunk (its COMMIT, which carries these writes, rolls back)
  const changed = 'A contract of this job changed while it was being settled: try again.';
  const writes: Write[] = [];
  if (refunded.length) {
    writes.push(conflictUnless(Prisma.sql`
      UPDATE "Contract" SET state = ${enumValue(tx, 'REFUNDED', 'ContractState')}, escrowed = 0, "updatedAt" = ${now}
      WHERE id IN (${Prisma.join(refunded)}) AND state IN ('MATCHED', 'ACTIVE')`, refunded.length, changed));
  }
  const ends = reviewEndsAt(now, community.reviewPeriodHours);
  for (const part of chunks(paid, 500)) {
    writes.push(conflictUnless(Prisma.sql`
      UPDATE "Contract" SET "quantity" = v.column2, "buyerCommission" = v.column3, "sellerCommission" = v.column4,
        state = ${enumValue(tx, 'SETTLED', 'ContractState')}, escrowed = 0, "deliveredAt" = ${now}, "reviewEndsAt" = ${ends}, "updatedAt" = ${now}
      FROM ${valuesTable(part.map((p) => [p.id, p.quantity, p.buyerCommission, p.sellerCommission]), ['TEXT', 'INTEGER', 'BIGINT', 'BIGINT'])}
      WHERE "Contract"."id" = v.column1 AND "Contract"."state" IN ('MATCHED', 'ACTIVE')`, part.length, changed));
  }
  writes.push(...unguarded(insertStatements('ContractEvent', ['id', 'contractId', 'action', 'fromState', 'toState', 'note', 'createdAt'],
    events.map((e) => [e.id, e.contractId, e.action, e.fromState ? enumValue(tx, e.fromState, 'ContractState') : null, enumValue(tx, e.toState, 'ContractState'), e.note, e.createdAt]))));
  const postings = await ledger.writes(tx);
  await deferWrites(tx, [...writes, ...postings.writes]);
  postings.done();
  return contracts.length;
}
