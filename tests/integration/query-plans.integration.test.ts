import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '@/server/db/generated/sqlite/client';
import { donorQuery } from '@/server/compute/feeder';
import { jobContractsQuery, validByContractQuery } from '@/server/compute/settle';
import { freshDatabase, type TestDatabase } from '../support/database';

// SQLite plans its queries without statistics: an equality on the first column of any index looks selective to
// it, so a low-cardinality index (a state, a status) can win over the one that is selective in fact, and the
// query then walks a range that grows with the whole history. These queries went that way once the sweep's
// indexes (by state and by status) existed, for want of statistics or of an index of their own: each must keep
// using its selective index.
describe('query plans on SQLite', () => {
  let t: TestDatabase;

  beforeAll(async () => {
    t = await freshDatabase('sqlite');
  });
  afterAll(() => t?.drop());

  const plan = async (query: Prisma.Sql) =>
    (await t.db.$queryRaw<{ detail: string }[]>(Prisma.sql`EXPLAIN QUERY PLAN ${query}`)).map((row) => row.detail).join('\n');

  it("a donor's open donations are read by its device, not from every open order by status", async () => {
    const detail = await plan(donorQuery('device'));
    expect(detail).toMatch(/SEARCH o USING INDEX Order_deviceId_status_idx/);
    expect(detail).not.toMatch(/Order_status/);
  });

  it("settling a job reads its contracts through its bids, not every open contract by state", async () => {
    const detail = await plan(jobContractsQuery('job', 100));
    expect(detail).toMatch(/SEARCH c USING INDEX Contract_buyOrderId_idx/);
    expect(detail).not.toMatch(/Contract_state/);
  });

  it("settling counts a chunk's valid replicas by contract, not every valid replica by status", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `contract-${i}`);
    const detail = await plan(validByContractQuery(ids));
    expect(detail).toMatch(/USING INDEX Replica_contractId_idx/);
    expect(detail).not.toMatch(/Replica_status/);
  });
});
