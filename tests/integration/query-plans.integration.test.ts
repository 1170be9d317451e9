import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '@/server/db/generated/sqlite/client';
import { donorQuery } from '@/server/compute/feeder';
import { jobContractsQuery, validByContractQuery } from '@/server/compute/settle';
import { freshDatabase, type TestDatabase } from '../support/database';

// SQLite without statistics takes an equality on the first column of any index to match about ten rows, so an
// index that leads with a state or status (the sweeps') won over the selective one, and queries walked every
// row in that state, a range that grows with the whole history. The migration `planner_statistics` gives the
// planner fixed statistics for those indexes; these plans must hold on a database fresh from the migrations.
describe('query plans on SQLite', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase('sqlite');
  });
  afterAll(() => t?.drop());

  const plan = async (query: Prisma.Sql) =>
    (await t.db.$queryRaw<{ detail: string }[]>(Prisma.sql`EXPLAIN QUERY PLAN ${query}`)).map((row) => row.detail).join('\n');
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`);

  it("a donor's open donations are read by its device, not from every open order by status", async () => {
    const detail = await plan(donorQuery('device'));
    expect(detail).toMatch(/SEARCH o USING INDEX Order_deviceId_status_idx/);
  });

  it("settling a job reads its contracts through its bids, not every open contract by state", async () => {
    const detail = await plan(jobContractsQuery('job', 100));
    expect(detail).toMatch(/SEARCH c USING INDEX Contract_buyOrderId_idx/);
    expect(detail).not.toMatch(/Contract_state/);
  });

  it("settling counts a chunk's valid replicas by contract, not every valid replica by status", async () => {
    const detail = await plan(validByContractQuery(ids(100)));
    expect(detail).toMatch(/USING INDEX Replica_contractId_idx/);
    expect(detail).not.toMatch(/Replica_status/);
  });

  it('a write conditional on rows by id and their state finds them by id (the ORM updateMany shape)', async () => {
    for (const [table, column, value] of [['Replica', 'status', 'VALID'], ['Order', 'status', 'OPEN'], ['Contract', 'state', 'SETTLED']] as const) {
      const detail = await plan(Prisma.sql`SELECT id FROM ${Prisma.raw(`"${table}"`)} WHERE id IN (${Prisma.join(ids(3))}) AND ${Prisma.raw(`"${column}"`)} = ${value}`);
      expect(detail, table).toMatch(new RegExp(`SEARCH ${table} USING (COVERING )?INDEX sqlite_autoindex_${table}_1 \\(id=\\?\\)`));
    }
  });

  it("the sweeps still find what is due through their indexes", async () => {
    const now = new Date();
    expect(await plan(Prisma.sql`SELECT id FROM "Replica" WHERE status = 'LEASED' AND "expiresAt" <= ${now}`)).toMatch(/Replica_status_expiresAt_idx \(status=\? AND expiresAt<\?\)/);
    expect(await plan(Prisma.sql`SELECT id FROM "Order" WHERE status = 'OPEN' AND "windowEnd" <= ${now}`)).toMatch(/Order_status_windowEnd_idx \(status=\? AND windowEnd<\?\)/);
    expect(await plan(Prisma.sql`SELECT id FROM "Contract" WHERE state IN ('MATCHED', 'ACTIVE') AND "windowEnd" <= ${now}`)).toMatch(/Contract_state_windowEnd_idx \(state=\? AND windowEnd<\?\)/);
  });
});
