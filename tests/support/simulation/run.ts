/**
 * Runs a seeded simulation: builds the world, then `ops` operations drawn by weight, `concurrency` of
 * them in flight at once (each worker takes the next operation number; operation i draws its choices from
 * a generator seeded by (seed, i), so a seed replays the same plan — the interleaving of concurrent calls,
 * and so what each call meets, is up to the database). Then the invariants are checked, every deadline is
 * swept past, and they are checked again with nothing allowed to stay in escrow.
 */
import { sweepCompute } from '@/server/compute/sweep';
import { sweepTransfers } from '@/server/content/transfers';
import { sweepMarket } from '@/server/market/lifecycle';
import type { Db, DbKind } from '@/server/db/client';
import { checkInvariants, groupProblems, type Problem } from './invariants';
import { OPERATIONS, WEIGHTS } from './operations';
import { Recorder } from './recorder';
import { opSeed, rng } from './rng';
import { buildWorld, CREDIT, HOUR } from './world';

export type SimulationOptions = { seed: number; ops: number; concurrency: number; members: number; echoServerErrors?: boolean };

export type SimulationReport = {
  kind: DbKind;
  seed: number;
  ops: number;
  calls: number;
  concurrency: number;
  members: number;
  setupMs: number;
  runMs: number;
  checkMs: number;
  outcomes: Record<string, Record<string, number>>;
  failures: Recorder['failures'];
  anomalies: string[];
  problems: Problem[];
  drainedProblems: Problem[];
  stats: Awaited<ReturnType<typeof checkInvariants>>['stats'];
};

/** Sweeps at `now` until nothing more changes (each sweep handles a batch). */
async function sweepUntilQuiet(db: Db, now: Date) {
  for (let pass = 0; pass < 50; pass++) {
    const t = await sweepTransfers(db, now);
    const c = await sweepCompute(db, now);
    const m = await sweepMarket(db, now);
    if (!t.transfersFailed && !c.jobsExpired && !c.leasesExpired && !m.ordersExpired && !m.negotiationsExpired && !m.contractsFailed && !m.contractsStarted) return;
  }
}

export async function runSimulation(db: Db, kind: DbKind, options: SimulationOptions): Promise<SimulationReport> {
  const { seed, ops, concurrency } = options;
  const t0 = Date.now();
  const world = await buildWorld(db, kind, { members: options.members, seedTag: seed.toString(36) });
  // both coordinators fund their pools, so that pool barter offers can pay
  await Promise.all(world.communities.map((c) => c.coordinator.caller.admin.fundPool({ communityId: c.id, amount: 100 * CREDIT })));
  const setupMs = Date.now() - t0;

  const rec = new Recorder();
  rec.captureServerLog(options.echoServerErrors ?? false);
  const t1 = Date.now();
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < ops; i = next++) {
          const r = rng(opSeed(seed, i));
          const op = r.weighted(WEIGHTS);
          // a sweep decides for itself whether it runs at real time or ahead of it (alone)
          await (op === 'sweep' ? OPERATIONS[op](world, r, rec) : world.gate.shared(() => OPERATIONS[op](world, r, rec)));
        }
      }),
    );
  } finally {
    rec.stopCapture();
  }
  const runMs = Date.now() - t1;

  const t2 = Date.now();
  const { problems, stats } = await checkInvariants(db);
  // every window, deadline, transfer and review period passes: nothing may be left held
  await sweepUntilQuiet(db, new Date(Date.now() + 40 * 24 * HOUR));
  const drained = await checkInvariants(db, { now: new Date(Date.now() + 40 * 24 * HOUR), drained: true });
  const checkMs = Date.now() - t2;

  return {
    kind, seed, ops, calls: rec.calls, concurrency, members: world.members.length, setupMs, runMs, checkMs,
    outcomes: rec.summary(), failures: rec.failures, anomalies: rec.anomalies, problems, drainedProblems: drained.problems, stats,
  };
}

/** The report as a reader wants it: figures, refusals by operation, and problems grouped by invariant. */
export function describeReport(report: SimulationReport) {
  return {
    database: report.kind,
    seed: report.seed,
    replay: `SIM_SEED=${report.seed} SIM_OPS=${report.ops}`,
    operations: report.ops,
    calls: report.calls,
    concurrency: report.concurrency,
    members: report.members,
    timingsMs: { setup: report.setupMs, run: report.runMs, checks: report.checkMs },
    stats: report.stats,
    outcomes: report.outcomes,
    failures: report.failures.length,
    failureExamples: report.failures.slice(0, 5),
    anomalies: report.anomalies.slice(0, 20),
    anomalyCount: report.anomalies.length,
    problems: groupProblems(report.problems),
    problemsAfterDrain: groupProblems(report.drainedProblems),
  };
}
