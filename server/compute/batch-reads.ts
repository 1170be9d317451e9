import { Prisma } from '../db/generated/sqlite/client';
import { rawQuery } from '../db/direct';
import type { Queryable, Tx } from '../db/client';
import { fromJson } from '../db/json';
import type { Json } from '../../workers/kernels/types';
import { COMPUTE_CATEGORY } from './jobs';
import type { ReplicaView } from './scheduler';

/**
 * The compute writer's reads under the book lock, as raw statements (server/db/direct.ts): on this path the
 * ORM's cost per query (and per nested relation, one more query each) was most of a batch's time. Rows
 * come back as the driver reads them (server/db/direct.ts): numbers may be bigints, dates and JSON text on
 * SQLite, so every value is converted here and the writer sees plain numbers, milliseconds and objects.
 */

const int = (value: unknown) => Number(value);
const ms = (value: unknown) => new Date(value as string | Date).getTime();
const date = (value: unknown) => new Date(value as string | Date);

export type UnitRow = {
  id: string;
  jobId: string;
  index: number;
  status: 'PENDING' | 'VALIDATED' | 'FAILED';
  requiredReplicas: number;
  canonicalHash: string | null;
  replicas: ReplicaView[];
};

/** A job as a batch reads it; `pending`: its units still pending when read (under the book's lock, only the batch changes that). */
export type JobRow = { id: string; kernel: string; quorum: number; maxReplicas: number; replication: number; memberId: string; status: string; pending: number };

type UnitReplicaRow = {
  id: string; jobId: string; index: unknown; status: UnitRow['status']; requiredReplicas: unknown; canonicalHash: string | null; input?: unknown;
  rid: string | null; deviceId: string | null; memberId: string | null; rstatus: ReplicaView['status'] | null; outputHash: string | null; expiresAt: unknown;
};

/**
 * Units with every replica each holds, in one statement: the units of `unitIds`, those holding a replica of
 * `leaseIds`, those at `(jobId, index)` of `at`, and the pending units of the jobs `pendingOf`; with `input`,
 * each unit's input too (the feeder's; a batch has no use for it).
 */
export async function readUnits<I extends boolean = false>(
  tx: Queryable,
  which: { unitIds?: string[]; leaseIds?: string[]; at?: { jobId: string; index: number }[]; pendingOf?: string[] },
  options: { input?: I } = {},
): Promise<Map<string, I extends true ? UnitRow & { input: Json } : UnitRow>> {
  const conditions: Prisma.Sql[] = [];
  if (which.unitIds?.length) conditions.push(Prisma.sql`u.id IN (${Prisma.join(which.unitIds)})`);
  if (which.leaseIds?.length) conditions.push(Prisma.sql`u.id IN (SELECT "unitId" FROM "Replica" WHERE id IN (${Prisma.join(which.leaseIds)}))`);
  for (const { jobId, index } of which.at ?? []) conditions.push(Prisma.sql`(u."jobId" = ${jobId} AND u."index" = ${index})`);
  if (which.pendingOf?.length) conditions.push(Prisma.sql`(u."jobId" IN (${Prisma.join(which.pendingOf)}) AND u.status = 'PENDING')`);
  const units = new Map<string, UnitRow & { input?: Json }>();
  if (conditions.length === 0) return units as never;
  const rows = await rawQuery<UnitReplicaRow>(tx, Prisma.sql`
    SELECT u.id, u."jobId", u."index", u.status, u."requiredReplicas", u."canonicalHash",${Prisma.raw(options.input ? ' u.input,' : '')}
           r.id AS rid, r."deviceId", r."memberId", r.status AS rstatus, r."outputHash", r."expiresAt"
    FROM "WorkUnit" u LEFT JOIN "Replica" r ON r."unitId" = u.id
    WHERE ${Prisma.join(conditions, ' OR ')}`);
  for (const row of rows) {
    let unit = units.get(row.id);
    if (!unit) {
      unit = { id: row.id, jobId: row.jobId, index: int(row.index), status: row.status, requiredReplicas: int(row.requiredReplicas), canonicalHash: row.canonicalHash, replicas: [] };
      if (options.input) unit.input = fromJson(row.input);
      units.set(row.id, unit);
    }
    if (row.rid !== null) {
      unit.replicas.push({ id: row.rid, deviceId: row.deviceId!, memberId: row.memberId!, status: row.rstatus!, outputHash: row.outputHash, expiresAt: ms(row.expiresAt) });
    }
  }
  return units as never;
}

export async function readJobs(tx: Tx, jobIds: string[]): Promise<Map<string, JobRow>> {
  if (jobIds.length === 0) return new Map();
  const rows = await rawQuery<{ id: string; kernel: string; quorum: unknown; maxReplicas: unknown; replication: unknown; memberId: string; status: string; pending: unknown }>(tx, Prisma.sql`
    SELECT j.id, j.kernel, j.quorum, j."maxReplicas", j.replication, j."memberId", j.status,
           (SELECT COUNT(*) FROM "WorkUnit" u WHERE u."jobId" = j.id AND u.status = 'PENDING') AS pending
    FROM "Job" j WHERE j.id IN (${Prisma.join(jobIds)})`);
  return new Map(rows.map((j) => [j.id, { id: j.id, kernel: j.kernel, quorum: int(j.quorum), maxReplicas: int(j.maxReplicas), replication: int(j.replication), memberId: j.memberId, status: j.status, pending: int(j.pending) }]));
}

export type BuyRow = { id: string; jobId: string; memberId: string; remaining: number; reserved: bigint; price: bigint; windowStart: Date; windowEnd: Date; jobStatus: string };

/** The open compute BUYs of `jobIds`, with their job's status. */
export async function readBuys(tx: Tx, jobIds: string[]): Promise<BuyRow[]> {
  const rows = await rawQuery<{ id: string; jobId: string; memberId: string; remaining: unknown; reserved: unknown; price: unknown; windowStart: unknown; windowEnd: unknown; jobStatus: string }>(tx, Prisma.sql`
    SELECT o.id, o."jobId", o."memberId", o.remaining, o.reserved, o.price, o."windowStart", o."windowEnd", j.status AS "jobStatus"
    FROM "Order" o JOIN "Job" j ON j.id = o."jobId"
    WHERE o."jobId" IN (${Prisma.join(jobIds)}) AND o.category = ${COMPUTE_CATEGORY} AND o.side = 'BUY' AND o.status = 'OPEN'`);
  return rows.map((o) => ({
    id: o.id, jobId: o.jobId, memberId: o.memberId, remaining: int(o.remaining), reserved: BigInt(o.reserved as bigint), price: BigInt(o.price as bigint),
    windowStart: date(o.windowStart), windowEnd: date(o.windowEnd), jobStatus: o.jobStatus,
  }));
}

/** The orders of `ids` still open, with what is left of each. */
export async function readOpenOrders(tx: Tx, ids: string[]): Promise<{ id: string; remaining: number }[]> {
  const rows = await rawQuery<{ id: string; remaining: unknown }>(tx, Prisma.sql`SELECT id, remaining FROM "Order" WHERE id IN (${Prisma.join(ids)}) AND status = 'OPEN'`);
  return rows.map((o) => ({ id: o.id, remaining: int(o.remaining) }));
}

export type ContractRow = { jobId: string; deviceId: string; contract: { id: string; state: string; quantity: number; escrowed: bigint; sellOrderId: string | null } };

/** The devices' contracts for the jobs (one per device and job). */
export async function readComputeContracts(tx: Tx, jobIds: string[], deviceIds: string[]): Promise<ContractRow[]> {
  const rows = await rawQuery<{ jobId: string; deviceId: string; id: string; state: string; quantity: unknown; escrowed: unknown; sellOrderId: string | null }>(tx, Prisma.sql`
    SELECT cc."jobId", cc."deviceId", c.id, c.state, c.quantity, c.escrowed, c."sellOrderId"
    FROM "ComputeContract" cc JOIN "Contract" c ON c.id = cc."contractId"
    WHERE cc."jobId" IN (${Prisma.join(jobIds)}) AND cc."deviceId" IN (${Prisma.join(deviceIds)})`);
  return rows.map((r) => ({ jobId: r.jobId, deviceId: r.deviceId, contract: { id: r.id, state: r.state, quantity: int(r.quantity), escrowed: BigInt(r.escrowed as bigint), sellOrderId: r.sellOrderId } }));
}

export async function readCommunity(tx: Tx, communityId: string): Promise<{ commissionBps: number; creditLimit: bigint }> {
  const [row] = await rawQuery<{ commissionBps: unknown; creditLimit: unknown }>(tx, Prisma.sql`SELECT "commissionBps", "creditLimit" FROM "Community" WHERE id = ${communityId}`);
  if (!row) throw new Error(`community ${communityId} is gone`);
  return { commissionBps: int(row.commissionBps), creditLimit: BigInt(row.creditLimit as bigint) };
}

/** The outputs of replicas `ids`. */
export async function readOutputs(tx: Tx, ids: string[]): Promise<Map<string, Json>> {
  const rows = await rawQuery<{ id: string; output: unknown }>(tx, Prisma.sql`SELECT id, output FROM "Replica" WHERE id IN (${Prisma.join(ids)})`);
  return new Map(rows.map((r) => [r.id, r.output === null ? null : fromJson(r.output)]));
}

/** Units still pending, by job, of `jobIds`. */
export async function pendingByJob(tx: Tx, jobIds: string[]): Promise<Map<string, number>> {
  const rows = await rawQuery<{ jobId: string; n: unknown }>(tx, Prisma.sql`
    SELECT "jobId", COUNT(*) AS n FROM "WorkUnit" WHERE "jobId" IN (${Prisma.join(jobIds)}) AND status = 'PENDING' GROUP BY "jobId"`);
  return new Map(rows.map((r) => [r.jobId, int(r.n)]));
}
