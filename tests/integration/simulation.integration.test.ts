/**
 * A randomized, seeded simulation of the whole market (issue 9, "How it must be shown"): 20+ members in
 * two linked communities place and cancel orders, negotiate, deliver, sign off and dispute, barter,
 * post compute jobs and donate work, publish and buy files, while coordinators record cash and run
 * draws and the sweeps run at chosen times — many operations in flight at once through the same tRPC
 * callers the app uses. Expected refusals are counted; a 500 is a failure. Then the invariants of
 * tests/support/simulation/invariants.ts must hold, before and after every deadline is swept past.
 *
 * Size: SIM_OPS (default 800 here; `node scripts/simulate.mjs` runs 10,000), SIM_CONCURRENCY (24),
 * SIM_MEMBERS (24), SIM_SEED (printed; set it to replay a run's plan), SIM_DATABASES (sqlite, postgres or both).
 */
import { describe, expect, it } from 'vitest';
import { databaseKinds, freshDatabase } from '../support/database';
import { describeReport, runSimulation } from '../support/simulation/run';

const ops = Number(process.env.SIM_OPS) || 800;
const concurrency = Number(process.env.SIM_CONCURRENCY) || 24;
const members = Math.max(20, Number(process.env.SIM_MEMBERS) || 24);
const seed = Number(process.env.SIM_SEED) || Math.floor(Math.random() * 2 ** 31);
/** SIM_DATABASES=sqlite or =postgres runs one only (the full-size script runs each in its own process). */
const kinds = databaseKinds.filter((k) => !process.env.SIM_DATABASES || process.env.SIM_DATABASES.split(',').includes(k));

describe.each(kinds)('randomized simulation on %s', (kind) => {
  it(`${ops} random operations, ${concurrency} at a time, by ${members}+ members keep every invariant (seed ${seed})`, { timeout: 120_000 + ops * 400 }, async () => {
    const t = await freshDatabase(kind);
    try {
      const report = await runSimulation(t.db, kind, { seed, ops, concurrency, members });
      const described = describeReport(report);
      console.info(`[simulation ${kind}] ${JSON.stringify(described, null, 1)}`);
      // the run really exercised the market
      const ok = (op: string) => report.outcomes[op]?.ok ?? 0;
      expect(ok('market.placeOrder')).toBeGreaterThan(ops / 10);
      expect(ok('contract.reportDelivered') + ok('barter.offer') + ok('compute.lease') + ok('content.request')).toBeGreaterThan(0);
      expect({
        seed,
        failures: report.failures,
        anomalies: report.anomalies,
        problems: described.problems,
        problemsAfterDrain: described.problemsAfterDrain,
      }).toEqual({ seed, failures: [], anomalies: [], problems: {}, problemsAfterDrain: {} });
    } finally {
      await t.drop();
    }
  });
});
