import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { registryFor } from '@/server/compute/writer';
import { spotCheckRate, TRUST_STREAK } from '@/server/compute/scheduler';
import { getKernel } from '@/workers/kernels';
import { decodeBase64, encodeBase64 } from '@/workers/kernels/shared';
import { PRESETS } from '@/app/jobs/new/job-presets';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const mandelbrot = getKernel('mandelbrot');
type Input = Parameters<typeof mandelbrot.run>[0];
type Output = ReturnType<typeof mandelbrot.run>;
/** The job form's default: a 512 × 512 Mandelbrot in 64 tiles, replication 2, quorum 2. */
const DEFAULT = PRESETS.mandelbrot!;

type Member = { caller: Caller; memberId: string };
type Donor = Member & { deviceId: string };

/** What a cheating donor sends: a well-formed tile with its first pixel's count changed. */
function corrupt(output: Output): Output {
  const bytes = decodeBase64(output.counts);
  bytes[0] = (bytes[0]! + 1) % 256;
  return { ...output, counts: encodeBase64(bytes) };
}

describe.each(databaseKinds)('small communities finish jobs on %s', (kind) => {
  let t: TestDatabase;
  let seq = 0;
  const draw = { next: (): number => Math.random() };

  async function community(slug: string): Promise<Member & { communityId: string }> {
    const o = await signUp(t.db, `owner-${slug}`);
    const { id } = await o.caller.community.create({ name: `Pair ${slug}`, slug, commissionBps: 100, startingGrant: 1_000 * CREDIT, inviteOnly: false });
    return { caller: o.caller, memberId: o.member.id, communityId: id };
  }

  async function donor(slug: string, communityId: string, streak = 0): Promise<Donor> {
    const m = await signUp(t.db, `donor-${slug}-${++seq}`);
    await m.caller.community.join({ slug });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    // a device with a history elsewhere: `streak` results confirmed in a row
    if (streak) await t.db.device.update({ where: { id: device.id }, data: { trustStreak: streak } });
    await m.caller.compute.donate({ communityId, deviceId: device.id, on: true, floorPrice: 1_000 });
    return { caller: m.caller, memberId: m.member.id, deviceId: device.id };
  }

  const submit = (owner: Member, communityId: string, params: Record<string, unknown> = DEFAULT.params, units = DEFAULT.units) =>
    owner.caller.compute.submitJob({ communityId, kernel: 'mandelbrot', params, units, replication: 2, quorum: 2, deadline: new Date(Date.now() + 3_600_000).toISOString(), pricePerUnit: 10_000 });

  /** The donor leases and answers everything it is given (lying when `cheat`), until it is given nothing. */
  async function donate(d: Donor, cheat = false) {
    const answers: { unitIndex: number; status: string; unitStatus: string }[] = [];
    for (;;) {
      const leases = await d.caller.compute.lease({ deviceId: d.deviceId, max: 16 });
      if (leases.length === 0) return answers;
      for (const l of leases) {
        const output = mandelbrot.run(l.input as Input);
        const answer = await d.caller.compute.submitResult({ leaseId: l.leaseId, output: cheat ? corrupt(output) : output });
        answers.push({ unitIndex: l.unitIndex, ...answer });
      }
    }
  }

  /** The owner's device confirms what waits for confirmation, `max` units at most (all when omitted). */
  async function confirm(owner: Member, jobId: string, max = Infinity) {
    const done: { unitIndex: number; agreed: number; disagreed: number }[] = [];
    while (done.length < max) {
      const units = await owner.caller.compute.toConfirm({ jobId, max: Math.min(16, max - done.length) });
      if (units.length === 0) break;
      for (const u of units) done.push(await owner.caller.compute.confirm({ jobId, unitIndex: u.unitIndex, output: mandelbrot.run(u.input as Input) }));
    }
    return done;
  }

  async function assertSettled(jobId: string, owner: Member & { communityId: string }) {
    const contracts = await t.db.contract.findMany({ where: { buyOrder: { jobId } }, select: { state: true, quantity: true, sellerId: true } });
    expect(contracts.every((c) => c.state === 'SETTLED' || c.state === 'REFUNDED')).toBe(true);
    expect((await owner.caller.ledger.balance({ communityId: owner.communityId })).escrow).toBe(0);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
    return contracts;
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    registryFor(t.db).draw = () => draw.next();
  });
  afterAll(() => t?.drop());

  it('a two-member community: the wait is explained, the owner confirms, the donor earns trust, and a default job completes with spot checks only', async () => {
    const owner = await community('pair');
    const phone = await donor('pair', owner.communityId);
    const first = await submit(owner, owner.communityId);

    // the donor computes all 64 tiles: each is done, awaiting confirmation by a second device
    const answers = await donate(phone);
    expect(answers).toHaveLength(64);
    expect(answers.every((a) => a.status === 'SUBMITTED' && a.unitStatus === 'PENDING')).toBe(true);
    const waiting = await owner.caller.compute.job({ jobId: first.id });
    expect(waiting.progress).toMatchObject({ validated: 0, pending: 64, awaitingConfirmation: 64 });
    expect(waiting.confirmation).toMatchObject({ devicesPerResult: 2, donatingDevices: 1, devicesMissing: 1, trustAfter: TRUST_STREAK, donorsTrusted: 0, bestStreak: 0 });
    expect((await owner.caller.compute.units({ jobId: first.id })).phases).toEqual(Array.from({ length: 64 }, () => 'awaiting'));
    expect(await phone.caller.compute.donorStats({ deviceId: phone.deviceId })).toMatchObject({ awaitingConfirmation: 64, trusted: false, trustStreak: 0, earned: 0 });

    // the owner's phone confirms: ten agreements make the donor trusted
    const firstChecks = await confirm(owner, first.id, TRUST_STREAK);
    expect(firstChecks.every((c) => c.agreed === 1 && c.disagreed === 0)).toBe(true);
    expect(await phone.caller.compute.donorStats({ deviceId: phone.deviceId })).toMatchObject({ trusted: true, trustStreak: TRUST_STREAK, awaitingConfirmation: 54, validResults: 10 });
    expect((await owner.caller.compute.job({ jobId: first.id })).confirmation).toMatchObject({ donorsTrusted: 1 });
    // units leased before the donor was trusted still need their confirmation
    await confirm(owner, first.id);
    const one = await owner.caller.compute.job({ jobId: first.id });
    expect(one.status).toBe('COMPLETED');

    // the second default job: single replicas, one in ten spot-checked (the draws are fixed to make exactly that share)
    const streak = (await phone.caller.compute.donorStats({ deviceId: phone.deviceId })).trustStreak;
    expect(streak).toBe(64);
    let n = 0;
    draw.next = () => (n++ % 10) / 10;
    try {
      const second = await submit(owner, owner.communityId);
      const done = await donate(phone);
      expect(done).toHaveLength(64);
      const checked = done.filter((a) => a.unitStatus === 'PENDING');
      expect(checked).toHaveLength(Math.ceil(64 * spotCheckRate(streak)));
      expect(done.filter((a) => a.status === 'VALID' && a.unitStatus === 'VALIDATED')).toHaveLength(64 - checked.length);
      const view = await owner.caller.compute.job({ jobId: second.id });
      expect(view.progress).toMatchObject({ validated: 64 - checked.length, awaitingConfirmation: checked.length });
      expect((await owner.caller.compute.units({ jobId: second.id })).phases.filter((p) => p === 'awaiting')).toHaveLength(checked.length);

      // only the spot checks wait for the owner's phone
      const confirmed = await confirm(owner, second.id);
      expect(confirmed.map((c) => c.unitIndex).sort((a, b) => a - b)).toEqual(checked.map((c) => c.unitIndex).sort((a, b) => a - b));
      const two = await owner.caller.compute.job({ jobId: second.id });
      expect(two.status).toBe('COMPLETED');
      const reference = mandelbrot.assemble(DEFAULT.params as never, mandelbrot.split(DEFAULT.params as never, 64).map((u) => mandelbrot.run(u)));
      expect(two.result).toEqual(reference);
      // single replicas add nothing to the streak; the confirmed spot checks do
      expect(await phone.caller.compute.donorStats({ deviceId: phone.deviceId })).toMatchObject({ trustStreak: 64 + checked.length, validResults: 128, invalidResults: 0, awaitingConfirmation: 0 });
    } finally {
      draw.next = () => Math.random();
    }
    const contracts = await assertSettled(first.id, owner);
    expect(contracts.filter((c) => c.state === 'SETTLED').reduce((s, c) => s + c.quantity, 0)).toBe(64);
    const paid = await t.db.contract.findMany({ where: { sellerId: phone.memberId, state: 'SETTLED' }, select: { quantity: true } });
    expect(paid.reduce((s, c) => s + c.quantity, 0)).toBe(128);
  });

  it('a trusted donor that cheats is caught by a spot check: it loses its trust, its results accepted on trust are taken back and recomputed, and it is paid nothing', async () => {
    const owner = await community('caught');
    const cheater = await donor('caught', owner.communityId, 50);
    const params = { ...DEFAULT.params, width: 128, height: 128 };
    const job = await submit(owner, owner.communityId, params, 9);
    // the first five units are given to the cheater alone, the other four are spot checks
    let n = 0;
    draw.next = () => (n++ < 5 ? 0.99 : 0);
    let honest: Donor;
    try {
      const lied = await donate(cheater, true);
      expect(lied.filter((a) => a.unitStatus === 'VALIDATED')).toHaveLength(5);
      expect(lied.filter((a) => a.unitStatus === 'PENDING')).toHaveLength(4);
      expect((await owner.caller.compute.job({ jobId: job.id })).progress).toMatchObject({ validated: 5, awaitingConfirmation: 4 });

      // one spot check confirmed on the owner's phone disagrees: the cheater's trust is gone, and so are its five unchecked units
      const [check] = await confirm(owner, job.id, 1);
      expect(check).toMatchObject({ agreed: 0, disagreed: 1 });
      expect(await cheater.caller.compute.donorStats({ deviceId: cheater.deviceId })).toMatchObject({ trusted: false, trustStreak: 0, validResults: 0, invalidResults: 6 });
      expect((await owner.caller.compute.job({ jobId: job.id })).progress).toMatchObject({ validated: 1, pending: 8 });
      expect(await t.db.sweepstakesTicket.count({ where: { memberId: cheater.memberId } })).toBe(0);
      // it is never given those units again
      expect(await cheater.caller.compute.lease({ deviceId: cheater.deviceId, max: 16 })).toEqual([]);

      // an honest member's device recomputes them; the owner confirms what needs a second result
      honest = await donor('caught', owner.communityId);
      draw.next = () => Math.random();
      for (let round = 0; round < 10 && (await owner.caller.compute.job({ jobId: job.id })).status === 'OPEN'; round++) {
        await donate(honest);
        await confirm(owner, job.id);
      }
    } finally {
      draw.next = () => Math.random();
    }
    const view = await owner.caller.compute.job({ jobId: job.id });
    expect(view.status).toBe('COMPLETED');
    const reference = mandelbrot.assemble(params as never, mandelbrot.split(params as never, 9).map((u) => mandelbrot.run(u)));
    expect(view.result).toEqual(reference);
    expect(await t.db.replica.count({ where: { deviceId: cheater.deviceId, status: { not: 'INVALID' } } })).toBe(0);
    expect(await cheater.caller.compute.donorStats({ deviceId: cheater.deviceId })).toMatchObject({ earned: 0, validResults: 0, invalidResults: 9 });
    expect(await honest!.caller.compute.donorStats({ deviceId: honest!.deviceId })).toMatchObject({ invalidResults: 0 });
    const contracts = await assertSettled(job.id, owner);
    expect(contracts.filter((c) => c.sellerId === cheater.memberId).map((c) => c.state)).toEqual(['REFUNDED']);
  });

  it('24 concurrent submissions of a trusted single replica and 24 concurrent confirmations of one unit each count once', async () => {
    const owner = await community('once');
    const trusted = await donor('once', owner.communityId, 40);
    const params = { ...DEFAULT.params, width: 128, height: 128 };
    const job = await submit(owner, owner.communityId, params, 4);
    let n = 0;
    draw.next = () => (n++ === 0 ? 0.99 : 0); // unit 0 alone, units 1 to 3 spot checks
    try {
      const leases = await trusted.caller.compute.lease({ deviceId: trusted.deviceId, max: 4 });
      expect(leases).toHaveLength(4);
      const [alone, spot] = [leases.find((l) => l.unitIndex === 0)!, leases.find((l) => l.unitIndex === 1)!];
      const once = await Promise.allSettled(Array.from({ length: 24 }, () => trusted.caller.compute.submitResult({ leaseId: alone.leaseId, output: mandelbrot.run(alone.input as Input) })));
      expect(once.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      for (const o of once) if (o.status === 'rejected') expect(String(o.reason)).toMatch(/already submitted/);
      expect(await trusted.caller.compute.donorStats({ deviceId: trusted.deviceId })).toMatchObject({ validResults: 1, trustStreak: 40 });
      expect(await t.db.sweepstakesTicket.count({ where: { reference: alone.leaseId } })).toBe(1);

      for (const l of leases.filter((l) => l !== alone)) await trusted.caller.compute.submitResult({ leaseId: l.leaseId, output: mandelbrot.run(l.input as Input) });
      const output = mandelbrot.run(spot.input as Input);
      const checks = await Promise.allSettled(Array.from({ length: 24 }, () => owner.caller.compute.confirm({ jobId: job.id, unitIndex: 1, output })));
      // each is answered; one of them judged the unit, the others found it confirmed already
      const answers = checks.map((c) => (c.status === 'fulfilled' ? c.value : null));
      expect(answers.every((a) => a?.unitStatus === 'VALIDATED' || (a === null))).toBe(true);
      expect(answers.filter((a) => a && a.agreed === 1)).toHaveLength(1);
      for (const c of checks) if (c.status === 'rejected') expect(String(c.reason)).toMatch(/already completed|nothing left to confirm/);
      expect(await trusted.caller.compute.donorStats({ deviceId: trusted.deviceId })).toMatchObject({ validResults: 2, trustStreak: 41 });
      await confirm(owner, job.id);
    } finally {
      draw.next = () => Math.random();
    }
    expect(await trusted.caller.compute.donorStats({ deviceId: trusted.deviceId })).toMatchObject({ validResults: 4, invalidResults: 0, trustStreak: 43 });
    expect(await t.db.replica.count({ where: { jobId: job.id, status: 'VALID' } })).toBe(4);
    expect((await owner.caller.compute.job({ jobId: job.id })).status).toBe('COMPLETED');
    const contracts = await assertSettled(job.id, owner);
    expect(contracts).toHaveLength(1);
    expect(contracts[0]).toMatchObject({ state: 'SETTLED', quantity: 4 });
  });

  it('refuses bad confirmations with clear errors, changing nothing', async () => {
    const owner = await community('refuse');
    const phone = await donor('refuse', owner.communityId);
    const params = { ...DEFAULT.params, width: 64, height: 64 };
    const job = await submit(owner, owner.communityId, params, 2);
    const [lease] = await phone.caller.compute.lease({ deviceId: phone.deviceId, max: 1 });
    const output = mandelbrot.run(lease!.input as Input);
    // nobody returned it yet
    await rejects(owner.caller.compute.confirm({ jobId: job.id, unitIndex: lease!.unitIndex, output }), 'PRECONDITION_FAILED', /nothing to confirm/);
    await phone.caller.compute.submitResult({ leaseId: lease!.leaseId, output });
    // not the owner: the job is not theirs (NOT_FOUND, as for any job that is not yours)
    await rejects(phone.caller.compute.confirm({ jobId: job.id, unitIndex: lease!.unitIndex, output }), 'NOT_FOUND');
    await rejects(phone.caller.compute.toConfirm({ jobId: job.id }), 'NOT_FOUND');
    await rejects(owner.caller.compute.confirm({ jobId: job.id, unitIndex: 99, output }), 'NOT_FOUND', /no unit 100/);
    await rejects(owner.caller.compute.confirm({ jobId: job.id, unitIndex: lease!.unitIndex, output: { nonsense: true } }), 'BAD_REQUEST', /not a valid/);
    await rejects(owner.caller.compute.confirm({ jobId: job.id, unitIndex: -1, output }), 'BAD_REQUEST');
    expect(await t.db.workUnit.count({ where: { jobId: job.id, status: 'VALIDATED' } })).toBe(0);
    expect(await phone.caller.compute.donorStats({ deviceId: phone.deviceId })).toMatchObject({ validResults: 0, invalidResults: 0, trustStreak: 0, awaitingConfirmation: 1 });
  });
});
