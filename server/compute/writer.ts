import { Prisma } from '../db/generated/sqlite/client';
import { conflictUnless, deferWrites, rawExecute, rawExecuteAll, rawExecuteLater, unguarded, type Write } from '../db/direct';
import { kindOf, type Db, type Tx } from '../db/client';
import { durable } from '../db/transaction';
import { lockBook } from '../db/book-lock';
import { DomainError } from '../errors';
import { escrowAccount, memberAccount } from '../ledger/postings';
import { toMicro } from '../money';
import { fillAmounts } from '../market/commission';
import { releasedHold } from '../market/reservation';
import { withOutbox, type Outbox } from '../live/outbox';
import type { BookOrder } from '../market/engine';
import type { Json } from '../../workers/kernels/types';
import { asEnum, asJson, chunks, enumValue, insertStatements, valuesTable } from '../db/bulk';
import { pendingByJob, readBuys, readCommunity, readComputeContracts, readJobs, readOpenOrders, readOutputs, readUnits, type JobRow } from './batch-reads';
import { newId } from '../db/ids';
import { CommunityWork, DEVICE_TTL_MS, memoryFits, pickFrom, readDonor, type DonorFacts, type MemJob, type MemUnit, type UnitState } from './feeder';
import { COMPUTE_CATEGORY, finishJob, WORK_UNIT } from './jobs';
import { LedgerBatch } from '../ledger/batch';
import { randomInt } from 'node:crypto';
import { addTrustEvent, applyTrust, initialReplicas, isLive, judge, judgeByOwner, noTrustChange, ownerMayCheck, type ReplicaView, type TrustDelta, type TrustEvent } from './scheduler';
import { settleJob } from './settle';

/** How long a donor has to return a leased unit before it goes back to the pool (COMPUTE_LEASE_TTL_MS, default 2 min). */
export const LEASE_TTL_MS = Number(process.env.COMPUTE_LEASE_TTL_MS) > 0 ? Number(process.env.COMPUTE_LEASE_TTL_MS) : 2 * 60_000;
export const MAX_LEASE_BATCH = 16;
/** Commands one batch takes at most (a bounded transaction; the rest wait for the next one). */
const MAX_COMMANDS = 256;
/**
 * COMPUTE_GATHER_MS (default 0): with fewer than GATHER_UNTIL commands waiting, a batch waits this long for
 * more, trading that much latency for fewer transactions (each costs the ORM's transaction and a dozen
 * messages to SQLite's thread whatever its size). Measured at 2 ms: 1,730 and 1,362 µs of app CPU per lease
 * against 1,779 and 1,927 without, at the same rates (two runs each, bench/scheduler-http.mjs, SQLite).
 */
const GATHER_MS = Math.max(0, Number(process.env.COMPUTE_GATHER_MS) || 0);
const GATHER_UNTIL = 32;
/** COMPUTE_TRACE=1 logs each batch's size and time. */
const TRACE = process.env.COMPUTE_TRACE === '1';

export type Lease = { leaseId: string; jobId: string; kernel: string; unitIndex: number; input: Json; expiresAt: string };
export type ResultAnswer = { leaseId: string; status: string; unitStatus: string };
/** The owner's check of a unit: the unit's state after it, and how many donors' results agreed and disagreed. */
export type CheckAnswer = { unitIndex: number; unitStatus: string; agreed: number; disagreed: number };

type LeaseCommand = { kind: 'lease'; donor: DonorFacts; donation: BookOrder; max: number; kernels?: string[]; now: Date; resolve: (l: Lease[]) => void; reject: (e: unknown) => void };
type ResultCommand = { kind: 'result'; memberId: string; leaseId: string; jobId: string; output: Json; outputHash: string; now: Date; resolve: (a: ResultAnswer) => void; reject: (e: unknown) => void };
type CheckCommand = { kind: 'check'; memberId: string; jobId: string; unitIndex: number; output: Json; outputHash: string; now: Date; resolve: (a: CheckAnswer) => void; reject: (e: unknown) => void };
type Command = LeaseCommand | ResultCommand | CheckCommand;

/** What a committed batch changes in memory and answers, applied only once the transaction committed. */
type Plan = {
  units: Map<string, { jobId: string; status: MemUnit['status']; requiredReplicas: number; replicas: ReplicaView[] }>;
  closedJobs: Set<string>;
  finished: string[];
  /** answered once the batch is durable (results, checks) */
  answers: (() => void)[];
  /** answered once the batch committed, before it is durable (leases: see CommunityWriter) */
  leaseAnswers: (() => void)[];
  leaseIndex: [string, LeaseRef][];
  trust: Map<string, TrustDelta>;
  /** units went back to pending outside memory's knowledge (a device's results were taken back): memory is read again */
  stale: boolean;
};

type LeaseRef = { communityId: string; jobId: string; kernel: string; memberId: string };

/**
 * One writer per community for compute (the single writer of issue 10): leases and results queue here, and
 * one loop takes them in batches, each batch one transaction under the community's compute book lock that
 * writes every replica, contract, order and ledger change of the batch with multi-row statements. Results
 * and checks are answered once the commit is durable (an answered result is), while the next batch runs;
 * leases as soon as it committed, without waiting for the log's sync: a lease a crash then loses costs no
 * credits (its contract's growth and hold go with it) and its result is refused as an unknown lease, which
 * issue 10's scheduler allows ("a lease is answered from memory and recorded in the next batch"). A batch
 * that fails as a whole is run again one command at a time, so one bad command fails alone.
 */
export class CommunityWriter {
  readonly work: CommunityWork;
  private queue: Command[] = [];
  private running = false;

  constructor(
    readonly registry: Registry,
    readonly db: Db,
    readonly communityId: string,
  ) {
    this.work = new CommunityWork(db, communityId);
  }

  lease(donor: DonorFacts, donation: BookOrder, max: number, now: Date, kernels?: string[]): Promise<Lease[]> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'lease', donor, donation, max, kernels, now, resolve, reject }));
  }

  /** A donor's result for lease `leaseId` of job `jobId` (as the lease index or the database named it). */
  result(memberId: string, leaseId: string, jobId: string, output: Json, outputHash: string, now: Date): Promise<ResultAnswer> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'result', memberId, leaseId, jobId, output, outputHash, now, resolve, reject }));
  }

  /** The job owner's own result for a unit a donor returned (the owner is `memberId`: the router checked). */
  check(memberId: string, jobId: string, unitIndex: number, output: Json, outputHash: string, now: Date): Promise<CheckAnswer> {
    return new Promise((resolve, reject) => this.enqueue({ kind: 'check', memberId, jobId, unitIndex, output, outputHash, now, resolve, reject }));
  }

  private enqueue(command: Command) {
    this.queue.push(command);
    if (!this.running) void this.loop();
  }

  private async loop() {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        // one turn of the event loop first: the requests that arrived meanwhile (SQLite's statements run
        // synchronously, so none is read while a batch runs) join this batch instead of waiting for the next
        await new Promise((resolve) => setImmediate(resolve));
        if (GATHER_MS > 0 && this.queue.length < GATHER_UNTIL) await new Promise((resolve) => setTimeout(resolve, GATHER_MS));
        const batch = this.queue.splice(0, MAX_COMMANDS);
        try {
          await this.run(batch);
        } catch {
          // one command spoiled the batch: each runs alone, and only the one at fault fails
          for (const command of batch) {
            try {
              await this.run([command]);
            } catch (error) {
              command.reject(error);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async run(batch: Command[]) {
    const now = batch.reduce((latest, c) => Math.max(latest, c.now.getTime()), 0);
    const leases = batch.filter((c): c is LeaseCommand => c.kind === 'lease');
    const results = batch.filter((c): c is ResultCommand => c.kind === 'result');
    const checks = batch.filter((c): c is CheckCommand => c.kind === 'check');
    try {
      // when there is no work in memory, look again now rather than at the next refresh
      const r0 = TRACE ? performance.now() : 0;
      await this.work.refresh(Date.now(), leases.length > 0 && !this.work.hasWork());
      if (TRACE && performance.now() - r0 > 5) console.log(`[compute] refresh ${(performance.now() - r0).toFixed(1)} ms`);
    } catch (error) {
      this.work.markStale();
      throw error;
    }
    let plan!: Plan;
    const started = TRACE ? performance.now() : 0;
    try {
      await withOutbox(this.db, async (tx, outbox) => {
        plan = { units: new Map(), closedJobs: new Set(), finished: [], answers: [], leaseAnswers: [], leaseIndex: [], trust: new Map(), stale: false };
        await lockBook(tx, this.communityId, COMPUTE_CATEGORY);
        if (results.length || checks.length) await this.applyResults(tx, outbox, results, checks, plan, new Date(now));
        if (leases.length) await this.applyLeases(tx, outbox, leases, plan);
        // raw statements but for rare steps (a job finishing, a device found cheating, memory offers): those
        // batches run again in the ORM's transaction
      }, { answerWhenDurable: false, raw: true, ormIfNeeded: true });
    } catch (error) {
      this.work.markStale();
      throw error;
    }
    if (TRACE) console.log(`[compute] batch of ${leases.length} leases, ${results.length} results, ${checks.length} checks: ${(performance.now() - started).toFixed(1)} ms`);
    for (const [unitId, state] of plan.units) this.work.updateUnit(state.jobId, unitId, state);
    if (plan.stale) this.work.markStale();
    for (const jobId of plan.closedJobs) this.work.dropJob(jobId);
    for (const [id, ref] of plan.leaseIndex) this.registry.leases.set(id, ref);
    for (const [deviceId, delta] of plan.trust) this.registry.countResults(deviceId, delta);
    // the job's contracts settle in their own short transactions; the caller whose result completed it waits for them
    for (const jobId of plan.finished) void this.registry.settle(jobId);
    // leases are answered at once; the next batch may run now; this one's other callers are answered once it is durable
    for (const answer of plan.leaseAnswers) answer();
    const answers = plan.answers;
    void durable(this.db).then(
      () => answers.forEach((answer) => answer()),
      (error: unknown) => batch.forEach((command) => command.reject(error)),
    );
  }

  // ---------------------------------------------------------------------------------------------
  // results

  private async applyResults(tx: Tx, outbox: Outbox, commands: ResultCommand[], checks: CheckCommand[], plan: Plan, now: Date) {
    // the units of the leases and checks with all their replicas, and their jobs: two statements sent together
    const [units, jobs] = await together(tx, [
      () => readUnits(tx, { leaseIds: commands.map((c) => c.leaseId), at: checks.map((c) => ({ jobId: c.jobId, index: c.unitIndex })) }),
      () => readJobs(tx, [...new Set([...commands.map((c) => c.jobId), ...checks.map((c) => c.jobId)])]),
    ] as const);
    const byId = new Map<string, { id: string; memberId: string; unitId: string; jobId: string }>();
    for (const u of units.values()) for (const r of u.replicas) byId.set(r.id, { id: r.id, memberId: r.memberId, unitId: u.id, jobId: u.jobId });
    const unitAt = new Map([...units.values()].map((u) => [`${u.jobId}:${u.index}`, u]));

    const outputs = new Map<string, { hash: string; output: Json }>();
    const expired: string[] = [];
    const status = new Map<string, 'VALID' | 'INVALID'>();
    const validated = new Map<string, { hash: string; output: Json | null; from: string }>();
    const failed = new Set<string>();
    const required = new Map<string, number>();
    const tickets: { communityId: string; memberId: string; source: string; reference: string }[] = [];
    const changedJobs = new Set<string>();
    const judged = (r: ReplicaView, event: TrustEvent) => {
      const valid = event !== 'mismatch';
      status.set(r.id, valid ? 'VALID' : 'INVALID');
      r.status = valid ? 'VALID' : 'INVALID';
      if (valid) tickets.push({ communityId: this.communityId, memberId: r.memberId, source: 'COMPUTE_UNIT', reference: r.id });
      plan.trust.set(r.deviceId, addTrustEvent(plan.trust.get(r.deviceId) ?? noTrustChange(), event));
    };

    const answers: { command: ResultCommand; outcome: ResultAnswer | DomainError }[] = [];
    for (const command of commands) {
      const lease = byId.get(command.leaseId);
      const unit = lease && units.get(lease.unitId);
      const job = unit && jobs.get(unit.jobId);
      const replica = unit?.replicas.find((r) => r.id === command.leaseId);
      if (!lease || lease.memberId !== command.memberId || !unit || !job || !replica || expired.includes(command.leaseId)) {
        answers.push({ command, outcome: new DomainError('NOT_FOUND', 'You hold no lease with that id.') });
        continue;
      }
      if (replica.status !== 'LEASED') {
        answers.push({ command, outcome: new DomainError('CONFLICT', 'A result for this lease was already submitted.') });
        continue;
      }
      if (replica.expiresAt <= command.now.getTime()) {
        expired.push(replica.id);
        unit.replicas = unit.replicas.filter((r) => r.id !== replica.id);
        answers.push({ command, outcome: new DomainError('CONFLICT', 'This lease expired: the unit went back to the pool. Lease new work.') });
        continue;
      }
      replica.status = 'SUBMITTED';
      replica.outputHash = command.outputHash;
      outputs.set(replica.id, { hash: command.outputHash, output: command.output });
      if (unit.status === 'PENDING') {
        const verdict = judge(unit.replicas, unit.requiredReplicas, job.quorum, job.maxReplicas, command.now.getTime());
        if (verdict.status === 'VALIDATED') {
          unit.status = 'VALIDATED';
          unit.canonicalHash = verdict.canonicalHash;
          const from = verdict.valid.find((id) => outputs.has(id)) ?? verdict.valid[0]!;
          validated.set(unit.id, { hash: verdict.canonicalHash, output: outputs.get(from)?.output ?? null, from });
          // agreement between devices confirms each of them; a result accepted alone (a trusted device's single replica) only pays
          const agreement: TrustEvent = verdict.valid.length >= 2 ? 'confirmed' : 'accepted';
          for (const r of unit.replicas) {
            if (verdict.valid.includes(r.id)) judged(r, agreement);
            else if (verdict.invalid.includes(r.id)) judged(r, 'mismatch');
          }
          changedJobs.add(unit.jobId);
        } else if (verdict.status === 'FAILED') {
          unit.status = 'FAILED';
          failed.add(unit.id);
          for (const r of unit.replicas) if (verdict.invalid.includes(r.id)) judged(r, 'mismatch');
          changedJobs.add(unit.jobId);
        } else if (verdict.requiredReplicas !== unit.requiredReplicas) {
          unit.requiredReplicas = verdict.requiredReplicas;
          required.set(unit.id, verdict.requiredReplicas);
        }
      } else {
        // the unit was settled before this result arrived: judged against the canonical hash
        judged(replica, unit.status === 'VALIDATED' && unit.canonicalHash === command.outputHash ? 'confirmed' : 'mismatch');
      }
      answers.push({ command, outcome: { leaseId: replica.id, status: '', unitStatus: '' } });
      plan.units.set(unit.id, { jobId: unit.jobId, status: unit.status, requiredReplicas: unit.requiredReplicas, replicas: unit.replicas });
    }

    // the owner's checks: the owner's result decides the unit (see scheduler.ts on trust)
    const checked: { command: CheckCommand; outcome: CheckAnswer | DomainError }[] = [];
    for (const command of checks) {
      const job = jobs.get(command.jobId);
      const unit = unitAt.get(`${command.jobId}:${command.unitIndex}`);
      if (!job || job.memberId !== command.memberId) {
        checked.push({ command, outcome: new DomainError('NOT_FOUND', 'You have no job with that id.') });
        continue;
      }
      if (!unit) {
        checked.push({ command, outcome: new DomainError('NOT_FOUND', `This job has no unit ${command.unitIndex + 1}.`) });
        continue;
      }
      if (job.status !== 'OPEN' || unit.status !== 'PENDING') {
        // ended, or confirmed meanwhile (by another device, or by this owner's earlier check): nothing changes
        checked.push({ command, outcome: { unitIndex: unit.index, unitStatus: job.status !== 'OPEN' && unit.status === 'PENDING' ? 'ENDED' : unit.status, agreed: 0, disagreed: 0 } });
        continue;
      }
      if (!ownerMayCheck(unit)) {
        checked.push({ command, outcome: new DomainError('PRECONDITION', 'No device has returned this unit yet: there is nothing to confirm.') });
        continue;
      }
      const verdict = judgeByOwner(unit.replicas, command.outputHash);
      unit.status = 'VALIDATED';
      unit.canonicalHash = command.outputHash;
      validated.set(unit.id, { hash: command.outputHash, output: command.output, from: '' });
      for (const r of unit.replicas) {
        if (verdict.valid.includes(r.id)) judged(r, 'confirmed');
        else if (verdict.invalid.includes(r.id)) judged(r, 'mismatch');
      }
      changedJobs.add(unit.jobId);
      plan.units.set(unit.id, { jobId: unit.jobId, status: unit.status, requiredReplicas: unit.requiredReplicas, replicas: unit.replicas });
      checked.push({ command, outcome: { unitIndex: unit.index, unitStatus: 'VALIDATED', agreed: verdict.valid.length, disagreed: verdict.invalid.length } });
    }

    // writes, deferred (server/db/direct.ts deferWrites): they go to SQLite's thread with this transaction's next
    // statement, saving a wait for the thread. The results (conditional on the leases still held, each with its
    // verdict when this batch judged it), the verdicts on earlier results, units, tickets, devices
    if (validated.size) {
      const missing = [...validated.values()].filter((v) => v.output === null).map((v) => v.from);
      if (missing.length) {
        const read = await readOutputs(tx, missing);
        for (const v of validated.values()) if (v.output === null) v.output = read.get(v.from) ?? null;
      }
    }
    const writes: Write[] = [];
    if (expired.length) writes.push({ query: Prisma.sql`DELETE FROM "Replica" WHERE id IN (${Prisma.join(expired)}) AND status = 'LEASED'` });
    const submitted = [...outputs.entries()];
    for (const part of chunks(submitted, 200)) {
      writes.push(conflictUnless(Prisma.sql`
        UPDATE "Replica" SET "status" = ${asEnum(tx, 'v.column4', 'ReplicaStatus')}, "outputHash" = v.column2, "output" = ${asJson(tx, 'v.column3')}, "submittedAt" = ${now}
        FROM ${valuesTable(part.map(([id, o]) => [id, o.hash, JSON.stringify(o.output), status.get(id) ?? 'SUBMITTED']), ['TEXT', 'TEXT', 'TEXT', 'TEXT'])}
        WHERE "Replica"."id" = v.column1 AND "Replica"."status" = 'LEASED'`, part.length, 'A lease changed while its result was being recorded: try again.'));
    }
    const verdicts = [...status].filter(([id]) => !outputs.has(id));
    for (const part of chunks(verdicts, 500)) {
      writes.push({ query: Prisma.sql`
        UPDATE "Replica" SET "status" = ${asEnum(tx, 'v.column2', 'ReplicaStatus')}
        FROM ${valuesTable(part, ['TEXT', 'TEXT'])} WHERE "Replica"."id" = v.column1` });
    }
    for (const part of chunks([...validated], 200)) {
      writes.push(conflictUnless(Prisma.sql`
        UPDATE "WorkUnit" SET "status" = ${asEnum(tx, "'VALIDATED'", 'UnitStatus')}, "canonicalHash" = v.column2, "output" = ${asJson(tx, 'v.column3')}, "validatedAt" = ${now}
        FROM ${valuesTable(part.map(([id, v]) => [id, v.hash, JSON.stringify(v.output)]), ['TEXT', 'TEXT', 'TEXT'])}
        WHERE "WorkUnit"."id" = v.column1 AND "WorkUnit"."status" = 'PENDING'`, part.length, 'A work unit changed while results were being judged: try again.'));
    }
    if (failed.size) writes.push({ query: Prisma.sql`UPDATE "WorkUnit" SET status = ${enumValue(tx, 'FAILED', 'UnitStatus')} WHERE id IN (${Prisma.join([...failed])}) AND status = 'PENDING'` });
    writes.push(...unguarded(requiredStatements(required)));
    if (tickets.length) {
      writes.push(...unguarded(insertStatements('SweepstakesTicket', ['id', 'communityId', 'memberId', 'source', 'reference', 'createdAt'], tickets.map((k) => [newId(), k.communityId, k.memberId, k.source, k.reference, now]))));
    }
    // a device that disagreed loses what it was accepted for alone (takeBack reads what these writes made): its counts wait for that
    const untrusted = [...plan.trust.values()].some((t) => t.reset);
    if (!untrusted) writes.push(...unguarded(deviceStatements(plan.trust)));
    await deferWrites(tx, writes);
    if (untrusted) {
      await this.takeBack(tx, plan);
      await rawExecuteAll(tx, deviceStatements(plan.trust));
    }

    // a job whose last unit was settled here ends in this batch; its contracts settle after it commits. Its units
    // still pending: as read with the job, less the ones settled here (read again when units were taken back)
    if (changedJobs.size) {
      const pending = untrusted ? await pendingByJob(tx, [...changedJobs]) : pendingAfter(jobs, units, [...validated.keys(), ...failed]);
      for (const jobId of changedJobs) {
        if ((pending.get(jobId) ?? 0) > 0) continue;
        if (await finishJob(tx, jobId, 'COMPLETED', outbox, now)) {
          plan.finished.push(jobId);
          plan.closedJobs.add(jobId);
        }
      }
    }

    for (const { command, outcome } of checked) {
      if (outcome instanceof DomainError) plan.answers.push(() => command.reject(outcome));
      else if (plan.finished.includes(command.jobId)) plan.answers.push(() => void this.registry.settle(command.jobId).then(() => command.resolve(outcome), () => command.resolve(outcome)));
      else plan.answers.push(() => command.resolve(outcome));
    }
    for (const { command, outcome } of answers) {
      if (outcome instanceof DomainError) {
        plan.answers.push(() => command.reject(outcome));
        continue;
      }
      const lease = byId.get(command.leaseId)!;
      const unit = units.get(lease.unitId)!;
      const replica = unit.replicas.find((r) => r.id === command.leaseId)!;
      // a job that ended in this batch dropped the leases still out, not the ones answered
      const answer = { leaseId: replica.id, status: replica.status, unitStatus: unit.status };
      const finished = plan.finished.includes(unit.jobId);
      plan.answers.push(() => {
        this.registry.leases.delete(command.leaseId);
        if (finished) void this.registry.settle(unit.jobId).then(() => command.resolve(answer), () => command.resolve(answer));
        else command.resolve(answer);
      });
    }
  }

  /**
   * A device that disagreed in this batch lost its trust: its results accepted on trust alone (single
   * replicas) in this community's open jobs are taken back — judged invalid and unpaid, their units
   * pending again for other devices (never this one: it holds a replica of each), needing a compared
   * result. Jobs that already ended keep what they paid; the spot-check rate bounds that.
   */
  private async takeBack(tx: Tx, plan: Plan) {
    const untrusted = [...plan.trust].filter(([, t]) => t.reset).map(([deviceId]) => deviceId);
    if (untrusted.length === 0) return;
    const accepted = await tx.replica.findMany({
      where: { deviceId: { in: untrusted }, status: 'VALID', unit: { status: 'VALIDATED', requiredReplicas: 1 }, job: { status: 'OPEN', communityId: this.communityId } },
      select: { id: true, deviceId: true, unitId: true, job: { select: { replication: true } } },
    });
    if (accepted.length === 0) return;
    const ids = accepted.map((r) => r.id);
    await tx.replica.updateMany({ where: { id: { in: ids }, status: 'VALID' }, data: { status: 'INVALID' } });
    await tx.sweepstakesTicket.deleteMany({ where: { source: 'COMPUTE_UNIT', reference: { in: ids } } });
    const byReplication = new Map<number, string[]>();
    for (const r of accepted) byReplication.set(r.job.replication, [...(byReplication.get(r.job.replication) ?? []), r.unitId]);
    for (const [replication, unitIds] of byReplication) {
      for (const part of chunks(unitIds, 500)) {
        const count = await rawExecute(tx, Prisma.sql`
          UPDATE "WorkUnit" SET "status" = ${enumValue(tx, 'PENDING', 'UnitStatus')}, "canonicalHash" = NULL, "output" = NULL, "validatedAt" = NULL, "requiredReplicas" = ${replication}
          WHERE "id" IN (${Prisma.join(part)}) AND "status" = ${enumValue(tx, 'VALIDATED', 'UnitStatus')}`);
        if (count !== part.length) throw new DomainError('CONFLICT', 'A work unit changed while results were being taken back: try again.');
      }
    }
    for (const r of accepted) {
      const t = plan.trust.get(r.deviceId)!;
      plan.trust.set(r.deviceId, { ...t, valid: t.valid - 1, invalid: t.invalid + 1 });
    }
    plan.stale = true;
  }

  private async writeRequired(tx: Tx, required: Map<string, number>) {
    await rawExecuteAll(tx, requiredStatements(required));
  }

  // ---------------------------------------------------------------------------------------------
  // leases

  private async applyLeases(tx: Tx, outbox: Outbox, commands: LeaseCommand[], plan: Plan) {
    // 1. proposals from memory, each command seeing what the ones before it took
    const taken = new Map<string, UnitState>();
    const viewOf = (u: MemUnit): UnitState => taken.get(u.id) ?? u;
    const proposals: { command: LeaseCommand; picks: { job: MemJob; unit: MemUnit; need: number }[] }[] = [];
    for (const command of commands) {
      const now = command.now.getTime();
      const donor = { deviceId: command.donor.id, memberId: command.donor.memberId };
      const picks: { job: MemJob; unit: MemUnit; need: number }[] = [];
      for (const job of this.work.jobsFor(command.donation, command.donor, now, command.kernels)) {
        if (picks.length >= command.max) break;
        for (const unit of pickFrom(job.units, viewOf, donor, command.max - picks.length, now)) {
          // drawn once, here: whether this unit, if the device is trusted, is a spot check (the device is not told)
          const need = initialReplicas(job.replication, job.maxReplicas, command.donor.trustStreak, this.registry.draw());
          picks.push({ job, unit, need });
          const view = viewOf(unit);
          taken.set(unit.id, {
            replicas: [...view.replicas, { id: '', deviceId: donor.deviceId, memberId: donor.memberId, status: 'LEASED', outputHash: null, expiresAt: now + LEASE_TTL_MS }],
            requiredReplicas: requiredAfterLease(view, need, now),
          });
        }
      }
      proposals.push({ command, picks });
    }
    const unitIds = [...new Set(proposals.flatMap((p) => p.picks.map((x) => x.unit.id)))];
    if (unitIds.length === 0) {
      for (const { command } of proposals) plan.leaseAnswers.push(() => command.resolve([]));
      return;
    }

    // 2. the database's word on everything proposed, under the book lock
    const batchNow = new Date(Math.max(...commands.map((c) => c.now.getTime())));
    // sent with the reads below (which see what it deleted)
    await rawExecuteLater(tx, [Prisma.sql`DELETE FROM "Replica" WHERE "unitId" IN (${Prisma.join(unitIds)}) AND status = 'LEASED' AND "expiresAt" <= ${batchNow}`]);
    const jobIds = [...new Set(proposals.flatMap((p) => p.picks.map((x) => x.job.id)))];
    const deviceIds = [...new Set(proposals.map((p) => p.command.donor.id))];
    // the memory gate, checked again against the database: the device's memory sale as it is now
    const memoryDevices = [...new Set(proposals.filter((p) => p.picks.some((x) => x.job.workingSetMb > 0)).map((p) => p.command.donor.id))];
    const [units, buyRows, sellRows, contractRows, community, memoryRows] = await together(tx, [
      () => readUnits(tx, { unitIds }),
      () => readBuys(tx, jobIds),
      () => readOpenOrders(tx, [...new Set(proposals.map((p) => p.command.donation.id))]),
      () => readComputeContracts(tx, jobIds, deviceIds),
      () => readCommunity(tx, this.communityId),
      () => memoryDevices.length
        ? tx.memoryOffer.findMany({ where: { deviceId: { in: memoryDevices }, order: { communityId: this.communityId, status: 'OPEN', windowEnd: { gt: batchNow } } }, select: { deviceId: true, memoryMb: true, order: { select: { price: true } } } })
        : Promise.resolve([]),
    ] as const);
    const memorySold = new Map<string, { mb: number; price: number }>();
    for (const m of memoryRows) {
      const known = memorySold.get(m.deviceId);
      if (!known || m.memoryMb > known.mb) memorySold.set(m.deviceId, { mb: m.memoryMb, price: toMicro(m.order.price) });
    }
    const buys = new Map(buyRows.filter((o) => o.jobStatus === 'OPEN').map((o) => [o.jobId, { ...o, left: o.remaining, taken: 0 }]));
    const sells = new Map(sellRows.map((o) => [o.id, { ...o, left: o.remaining, taken: 0 }]));
    type Held = { contractId: string; jobId: string; deviceId: string; memberId: string; sellOrderId: string; fresh: boolean; quantity: number; escrowed: number; added: number };
    const contracts = new Map<string, Held>();
    // a device's contract for a job grows while it is open and under the device's current donation; a contract
    // that closed (delivered or disputed by hand) or whose donation was replaced stays as it is, and a new one
    // takes its place as the device's contract for the job
    const replaced = new Set<string>();
    const donationOf = new Map(proposals.map((p) => [p.command.donor.id, p.command.donation.id]));
    for (const row of contractRows) {
      const open = row.contract.state === 'MATCHED' || row.contract.state === 'ACTIVE';
      const key = `${row.jobId}:${row.deviceId}`;
      if (open && row.contract.sellOrderId === donationOf.get(row.deviceId)) {
        contracts.set(key, { contractId: row.contract.id, jobId: row.jobId, deviceId: row.deviceId, memberId: '', sellOrderId: row.contract.sellOrderId, fresh: false, quantity: row.contract.quantity, escrowed: toMicro(row.contract.escrowed), added: 0 });
      } else replaced.add(key);
    }
    for (const jobId of jobIds) if (!buys.has(jobId)) plan.closedJobs.add(jobId);

    // 3. each proposal checked again, in order, against what the database holds and what the batch took
    const replicas: { id: string; unitId: string; jobId: string; contractId: string; deviceId: string; memberId: string; expiresAt: Date; leasedAt: Date }[] = [];
    const required = new Map<string, number>();
    for (const { command, picks } of proposals) {
      const now = command.now.getTime();
      const device = command.donor;
      const sell = sells.get(command.donation.id);
      const granted: Lease[] = [];
      for (const { job, unit: proposed, need } of picks) {
        const unit = units.get(proposed.id);
        const buy = buys.get(job.id);
        if (!unit || !buy || !sell || unit.status !== 'PENDING' || buy.left <= 0 || sell.left <= 0) continue;
        if (!memoryFits(job, memorySold.get(device.id))) continue;
        const key = `${job.id}:${device.id}`;
        let live = 0;
        let mine = false;
        for (const r of unit.replicas) {
          if (r.deviceId === device.id || r.memberId === device.memberId) mine = true;
          else if (isLive(r, now)) live++;
        }
        if (mine || live >= unit.requiredReplicas) continue;
        let held = contracts.get(key);
        if (!held) {
          held = { contractId: newId(), jobId: job.id, deviceId: device.id, memberId: device.memberId, sellOrderId: sell.id, fresh: true, quantity: 0, escrowed: 0, added: 0 };
          contracts.set(key, held);
        }
        held.added++;
        held.memberId = device.memberId;
        held.sellOrderId = sell.id;
        buy.left--;
        buy.taken++;
        sell.left--;
        sell.taken++;
        const expiresAt = new Date(now + LEASE_TTL_MS);
        const id = newId();
        const requiredReplicas = requiredAfterLease(unit, need, now);
        unit.replicas.push({ id, deviceId: device.id, memberId: device.memberId, status: 'LEASED', outputHash: null, expiresAt: expiresAt.getTime() });
        if (requiredReplicas !== unit.requiredReplicas) {
          unit.requiredReplicas = requiredReplicas;
          required.set(unit.id, requiredReplicas);
        }
        replicas.push({ id, unitId: unit.id, jobId: job.id, contractId: held.contractId, deviceId: device.id, memberId: device.memberId, expiresAt, leasedAt: command.now });
        granted.push({ leaseId: id, jobId: job.id, kernel: job.kernel, unitIndex: proposed.index, input: proposed.input, expiresAt: expiresAt.toISOString() });
        plan.leaseIndex.push([id, { communityId: this.communityId, jobId: job.id, kernel: job.kernel, memberId: device.memberId }]);
      }
      plan.leaseAnswers.push(() => command.resolve(granted));
    }
    for (const unit of units.values()) plan.units.set(unit.id, { jobId: unit.jobId, status: unit.status, requiredReplicas: unit.requiredReplicas, replicas: unit.replicas });
    if (replicas.length === 0) return;

    // 4. writes: contracts made or grown (escrow from the job's hold), orders, the hold's surplus, the leases
    const bps = community.commissionBps;
    const ledger = new LedgerBatch(this.communityId, toMicro(community.creditLimit));
    const made: Held[] = [];
    const grown: { held: Held; amounts: ReturnType<typeof fillAmounts> }[] = [];
    const escrowByJob = new Map<string, number>();
    for (const held of contracts.values()) {
      if (held.added === 0) continue;
      const buy = buys.get(held.jobId)!;
      const amounts = fillAmounts(held.quantity + held.added, toMicro(buy.price), bps);
      escrowByJob.set(held.jobId, (escrowByJob.get(held.jobId) ?? 0) + amounts.buyerPays - held.escrowed);
      if (held.fresh) made.push(held);
      else grown.push({ held, amounts });
    }
    // every write of the leases, sent together, in an order the foreign keys accept
    const writes: Write[] = [];
    if (made.length) {
      const rows = made.map((held) => {
        const buy = buys.get(held.jobId)!;
        const amounts = fillAmounts(held.added, toMicro(buy.price), bps);
        return {
          id: held.contractId, communityId: this.communityId, buyOrderId: buy.id, sellOrderId: held.sellOrderId, buyerId: buy.memberId, sellerId: held.memberId,
          category: COMPUTE_CATEGORY, unit: WORK_UNIT, quantity: held.added, price: buy.price, pricing: 'CROSS', windowStart: buy.windowStart, windowEnd: buy.windowEnd,
          commissionBps: bps, buyerCommission: BigInt(amounts.buyerShare), sellerCommission: BigInt(amounts.sellerShare), escrowed: BigInt(amounts.buyerPays),
        };
      });
      const at = new Date(batchNow);
      writes.push(...unguarded(insertStatements('Contract', ['id', 'communityId', 'buyOrderId', 'sellOrderId', 'buyerId', 'sellerId', 'category', 'unit', 'quantity', 'price', 'pricing', 'windowStart', 'windowEnd', 'commissionBps', 'buyerCommission', 'sellerCommission', 'escrowed', 'state', 'createdAt', 'updatedAt'],
        rows.map((r) => [r.id, r.communityId, r.buyOrderId, r.sellOrderId, r.buyerId, r.sellerId, r.category, r.unit, r.quantity, r.price, r.pricing, r.windowStart, r.windowEnd, r.commissionBps, r.buyerCommission, r.sellerCommission, r.escrowed, enumValue(tx, 'ACTIVE', 'ContractState'), at, at]))));
      // a job's window is open from its submission: the contract starts at once (MATCH, then START, as the
      // market's sweeper would start it a moment later, one transaction per contract)
      writes.push(...unguarded(insertStatements('ContractEvent', ['id', 'contractId', 'action', 'fromState', 'toState', 'note', 'createdAt'],
        rows.flatMap((r) => [
          [newId(), r.id, 'MATCH', null, enumValue(tx, 'MATCHED', 'ContractState'), `${r.quantity} ${WORK_UNIT} at ${toMicro(r.price)} µcredits (cross), growing with each unit leased`, at],
          [newId(), r.id, 'START', enumValue(tx, 'MATCHED', 'ContractState'), enumValue(tx, 'ACTIVE', 'ContractState'), 'The window opened', at],
        ]))));
      const again = made.filter((h) => replaced.has(`${h.jobId}:${h.deviceId}`));
      if (again.length) writes.push({ query: Prisma.sql`DELETE FROM "ComputeContract" WHERE ${Prisma.join(again.map((h) => Prisma.sql`("jobId" = ${h.jobId} AND "deviceId" = ${h.deviceId})`), ' OR ')}` });
      writes.push(...unguarded(insertStatements('ComputeContract', ['contractId', 'jobId', 'deviceId'], made.map((h) => [h.contractId, h.jobId, h.deviceId]))));
      for (const r of rows) {
        for (const [memberId, orderId, side] of [[r.buyerId, r.buyOrderId, 'BUY'], [r.sellerId, r.sellOrderId, 'SELL']] as const) {
          outbox.add([memberId], { type: 'fill', contractId: r.id, orderId, side, quantity: r.quantity, price: toMicro(r.price), category: COMPUTE_CATEGORY, pulled: true });
        }
        outbox.add([r.buyerId, r.sellerId], { type: 'contract', contractId: r.id, state: 'ACTIVE', action: 'START' });
      }
    }
    for (const part of chunks(grown, 500)) {
      writes.push(conflictUnless(Prisma.sql`
        UPDATE "Contract" SET "quantity" = v.column2, "escrowed" = v.column3, "buyerCommission" = v.column4, "sellerCommission" = v.column5
        FROM ${valuesTable(part.map(({ held, amounts }) => [held.contractId, held.quantity + held.added, BigInt(amounts.buyerPays), BigInt(amounts.buyerShare), BigInt(amounts.sellerShare), held.quantity]), ['TEXT', 'INTEGER', 'BIGINT', 'BIGINT', 'BIGINT', 'INTEGER'])}
        WHERE "Contract"."id" = v.column1 AND "Contract"."quantity" = v.column6 AND "Contract"."state" IN ('MATCHED', 'ACTIVE')`, part.length, 'A contract changed while work was being leased under it: try again.'));
    }

    // the job's hold gives up its share for the units leased (linear, so it covers every fill); the surplus goes back to the owner
    const orderRows: unknown[][] = [];
    for (const buy of buys.values()) {
      if (buy.taken === 0) continue;
      const reserved = toMicro(buy.reserved);
      const released = releasedHold(reserved, buy.remaining, buy.taken);
      const surplus = released - (escrowByJob.get(buy.jobId!) ?? 0);
      const reference = `fill:${buy.id}`;
      if (surplus > 0) ledger.post({ kind: 'HOLD_RELEASE', memo: 'Work units leased below the hold: the difference is released', reference, lines: [{ account: escrowAccount(buy.memberId), amount: -surplus }, { account: memberAccount(buy.memberId), amount: surplus }] });
      else if (surplus < 0) ledger.post({ kind: 'ESCROW_TOP_UP', memo: 'Work units leased above the hold: the difference is held in escrow', reference, lines: [{ account: memberAccount(buy.memberId), amount: surplus }, { account: escrowAccount(buy.memberId), amount: -surplus }] });
      const left = buy.remaining - buy.taken;
      orderRows.push([buy.id, left, BigInt(reserved - released), left === 0 ? 'FILLED' : 'OPEN', buy.remaining]);
      if (left === 0) outbox.add([buy.memberId], { type: 'order', orderId: buy.id, status: 'FILLED', remaining: 0 });
    }
    for (const sell of sells.values()) {
      if (sell.taken === 0) continue;
      const left = sell.remaining - sell.taken;
      orderRows.push([sell.id, left, null, left === 0 ? 'FILLED' : 'OPEN', sell.remaining]);
    }
    writes.push(conflictUnless(Prisma.sql`
      UPDATE "Order" SET "remaining" = v.column2, "reserved" = COALESCE(v.column3, "Order"."reserved"), "status" = ${asEnum(tx, 'v.column4', 'OrderStatus')}
      FROM ${valuesTable(orderRows, ['TEXT', 'INTEGER', 'BIGINT', 'TEXT', 'INTEGER'])}
      WHERE "Order"."id" = v.column1 AND "Order"."remaining" = v.column5 AND "Order"."status" = 'OPEN'`, orderRows.length, 'An order changed while work was being leased: try again.'));
    writes.push(...unguarded(insertStatements('Replica', ['id', 'unitId', 'jobId', 'contractId', 'deviceId', 'memberId', 'expiresAt', 'leasedAt'],
      replicas.map((r) => [r.id, r.unitId, r.jobId, r.contractId, r.deviceId, r.memberId, r.expiresAt, r.leasedAt]))));
    writes.push(...unguarded(requiredStatements(required)));
    // the ledger's rows and balances go in the same message, deferred to the transaction's next statement (its
    // COMMIT at the latest, which fails, rolling the batch back, if a guard is not met)
    const ledgerWrites = await ledger.writes(tx);
    await deferWrites(tx, [...writes, ...ledgerWrites.writes]);
    ledgerWrites.done();
    outbox.book(this.communityId, COMPUTE_CATEGORY);
  }
}

/**
 * Reads of one transaction: on SQLite's threaded connection sent together (run in order on its thread,
 * one wait for all); on PostgreSQL one after the other (a connection runs one query at a time anyway, and
 * node-postgres is retiring queries queued on a busy client).
 */
async function together<T extends readonly (() => Promise<unknown>)[]>(tx: Tx, reads: T): Promise<{ -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> }> {
  // a read that throws at once (an ORM call in a raw transaction) rejects with the others still awaited
  if (kindOf(tx) === 'sqlite') return (await Promise.all(reads.map((read) => Promise.resolve().then(read)))) as { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };
  const out: unknown[] = [];
  for (const read of reads) out.push(await read());
  return out as { -readonly [K in keyof T]: Awaited<ReturnType<T[K]>> };
}

/** Each job's units still pending once the units `settled` (validated or failed by the batch) are no longer. */
function pendingAfter(jobs: Map<string, JobRow>, units: Map<string, { jobId: string }>, settled: string[]): Map<string, number> {
  const pending = new Map([...jobs.values()].map((job) => [job.id, job.pending]));
  for (const unitId of settled) {
    const jobId = units.get(unitId)!.jobId;
    pending.set(jobId, pending.get(jobId)! - 1);
  }
  return pending;
}

/** Sets each unit's required replicas (one multi-row statement per 500 units). */
function requiredStatements(required: Map<string, number>): Prisma.Sql[] {
  return chunks([...required], 500).map((part) => Prisma.sql`
    UPDATE "WorkUnit" SET "requiredReplicas" = v.column2 FROM ${valuesTable(part, ['TEXT', 'INTEGER'])} WHERE "WorkUnit"."id" = v.column1`);
}

/** Adds a batch's judged results to each device's counts and streak. */
function deviceStatements(trust: Map<string, TrustDelta>): Prisma.Sql[] {
  if (trust.size === 0) return [];
  return chunks([...trust], 500).map((part) => Prisma.sql`
    UPDATE "Device" SET "validResults" = "Device"."validResults" + v.column2, "invalidResults" = "Device"."invalidResults" + v.column3,
      "trustStreak" = CASE WHEN v.column4 = 1 THEN v.column5 ELSE "Device"."trustStreak" + v.column5 END
    FROM ${valuesTable(part.map(([deviceId, t]) => [deviceId, t.valid, t.invalid, t.reset ? 1 : 0, t.confirmed]), ['TEXT', 'INTEGER', 'INTEGER', 'INTEGER', 'INTEGER'])} WHERE "Device"."id" = v.column1`);
}

/**
 * Replicas a unit needs once a device leased it with `need` (`initialReplicas`): the first device on a unit
 * (no result and no live lease on it) sets it, lowering it to one for a trusted device's single replica;
 * a later one can only raise it.
 */
function requiredAfterLease(unit: UnitState, need: number, now: number): number {
  const untouched = unit.replicas.every((r) => r.status === 'LEASED' && !isLive(r, now));
  return untouched ? need : Math.max(unit.requiredReplicas, need);
}

/** Per database client: the writers of its communities, devices' facts, and which community each lease is in. */
export class Registry {
  readonly writers = new Map<string, CommunityWriter>();
  readonly donors = new Map<string, DonorFacts>();
  readonly leases = new Map<string, LeaseRef>();
  private readonly settling = new Map<string, Promise<void>>();

  constructor(readonly db: Db) {}

  writer(communityId: string): CommunityWriter {
    let writer = this.writers.get(communityId);
    if (!writer) {
      writer = new CommunityWriter(this, this.db, communityId);
      this.writers.set(communityId, writer);
    }
    return writer;
  }

  async donor(deviceId: string, now = Date.now()): Promise<DonorFacts | null> {
    const known = this.donors.get(deviceId);
    if (known && now - known.readAt < DEVICE_TTL_MS) return known;
    const read = await readDonor(this.db, deviceId, now);
    if (read) this.donors.set(deviceId, read);
    else this.donors.delete(deviceId);
    if (this.donors.size > 100_000) this.donors.clear();
    return read;
  }

  forgetDonor(deviceId: string): void {
    this.donors.delete(deviceId);
  }

  countResults(deviceId: string, delta: TrustDelta): void {
    const known = this.donors.get(deviceId);
    if (known) {
      known.validResults += delta.valid;
      known.invalidResults += delta.invalid;
      known.trustStreak = applyTrust(known.trustStreak, delta);
    }
  }

  /** A uniform draw in [0, 1) for spot checks; tests replace it to fix the outcome. */
  draw: () => number = () => randomInt(0x1_0000_0000) / 0x1_0000_0000;

  /** Settles a finished job's contracts (once at a time per job in this process). */
  settle(jobId: string): Promise<void> {
    let running = this.settling.get(jobId);
    if (!running) {
      running = settleJob(this.db, jobId)
        .then(() => undefined)
        .catch((error: unknown) => console.error(`[compute] settling job ${jobId} failed (the sweeper tries again):`, error))
        .finally(() => this.settling.delete(jobId));
      this.settling.set(jobId, running);
    }
    return running;
  }

  /** Something outside the writers changed leases (a sweep, leases given back): memory is read again. */
  markStale(communityId?: string): void {
    for (const [id, writer] of this.writers) if (!communityId || id === communityId) writer.work.markStale();
  }

  markJobsChanged(communityId: string): void {
    this.writers.get(communityId)?.work.markJobsChanged();
  }
}

// Per copy of this module: Next.js's copy of the server code (the sweeper) and the API bundle's copy each
// hold their own (their classes differ: a DomainError thrown by one copy is not one to the other). The API's
// copy serves every lease and result; what the sweeper changes, the writers find at commit or on refresh.
const registries = new WeakMap<Db, Registry>();

export function registryFor(db: Db): Registry {
  let registry = registries.get(db);
  if (!registry) {
    registry = new Registry(db);
    registries.set(db, registry);
  }
  return registry;
}

/** Forgets everything held in memory for `db` (as a restarted process would). */
export function forgetRegistry(db: Db): void {
  registries.delete(db);
}
