import { afterEach, describe, expect, it, vi } from 'vitest';
import { ComputePool, UnitFailedError, parseSandboxReply, type RunnerKind, type UnitRunner, type UnitTask } from '@/app/_lib/compute-pool';
import {
  backoffDelay,
  batteryLow,
  DEFAULT_PREFS,
  evaluateGate,
  isMetered,
  normalizePrefs,
  restAfter,
  workersFor,
  type DonorEnvironment,
} from '@/app/_lib/donor-rules';
import { Donor, type DonorApi, type EnvironmentSource, type Lease } from '@/app/_lib/donor';
import type { Json } from '@/workers/kernels/types';

describe('duty cycle', () => {
  it('rests so that the busy share of unit + rest is the duty cycle', () => {
    expect(restAfter(100, 0.5)).toBe(100);
    expect(restAfter(100, 0.25)).toBe(300);
    expect(restAfter(100, 1)).toBe(0);
    expect(restAfter(90, 0.9)).toBeCloseTo(10);
    for (const d of [0.1, 0.2, 0.33, 0.5, 0.75, 1]) {
      const t = 123;
      expect(t / (t + restAfter(t, d))).toBeCloseTo(d, 10);
    }
  });
  it('clamps the duty cycle to 10% … 100% and never rests after no work', () => {
    expect(restAfter(100, 0)).toBe(900);
    expect(restAfter(100, 5)).toBe(0);
    expect(restAfter(0, 0.5)).toBe(0);
    expect(restAfter(-5, 0.5)).toBe(0);
    expect(restAfter(Number.NaN, 0.5)).toBe(0);
  });
});

describe('workers for a share of the cores', () => {
  it('rounds down, at least one, at most the cores', () => {
    expect(workersFor(8, 0.5)).toBe(4);
    expect(workersFor(8, 0.25)).toBe(2);
    expect(workersFor(2, 0.75)).toBe(1);
    expect(workersFor(2, 1)).toBe(2);
    expect(workersFor(1, 0.25)).toBe(1);
    expect(workersFor(undefined, 1)).toBe(1);
    expect(workersFor(0, 1)).toBe(1);
    expect(workersFor(6, 2)).toBe(6);
  });
});

describe('preferences', () => {
  it('takes the defaults for anything missing or wrong', () => {
    expect(normalizePrefs(null)).toEqual(DEFAULT_PREFS);
    expect(normalizePrefs({ dutyCycle: 'fast', onlyWhileCharging: 'yes' })).toEqual(DEFAULT_PREFS);
  });
  it('clamps numbers, snaps the core share and keeps resume above stop', () => {
    const p = normalizePrefs({ coreShare: 0.6, dutyCycle: 0.01, stopBelowBattery: 0.8, resumeAboveBattery: 0.2, floorPrice: -3 });
    expect(p.coreShare).toBe(0.5);
    expect(p.dutyCycle).toBe(0.1);
    expect(p.stopBelowBattery).toBe(0.8);
    expect(p.resumeAboveBattery).toBe(0.85);
    expect(p.floorPrice).toBe(1);
    const top = normalizePrefs({ stopBelowBattery: 1, resumeAboveBattery: 1 });
    expect(top.stopBelowBattery).toBeLessThan(top.resumeAboveBattery);
    expect(top.resumeAboveBattery).toBe(1);
  });
});

describe('battery hysteresis', () => {
  const prefs = { stopBelowBattery: 0.3, resumeAboveBattery: 0.5 };
  it('stops below X, stays stopped between X and Y, resumes above Y', () => {
    let low = false;
    const levels = [0.9, 0.4, 0.29, 0.35, 0.49, 0.5, 0.51, 0.4, 0.31, 0.2];
    const seen = levels.map((level) => (low = batteryLow({ level, charging: true }, low, prefs)));
    expect(seen).toEqual([false, false, true, true, true, true, false, false, false, true]);
  });
  it('treats no battery information as mains power', () => {
    expect(batteryLow(null, true, prefs)).toBe(false);
    expect(batteryLow(undefined, false, prefs)).toBe(false);
  });
});

describe('metered networks', () => {
  it('is metered only where the browser says so', () => {
    expect(isMetered({ type: 'cellular' })).toBe(true);
    expect(isMetered({ type: 'wifi', saveData: true })).toBe(true);
    expect(isMetered({ type: 'wifi', saveData: false })).toBe(false);
    expect(isMetered({ type: 'unknown' })).toBe(false);
    expect(isMetered({})).toBe(false);
    expect(isMetered(null)).toBe(false);
  });
});

describe('the gate', () => {
  const env = (over: Partial<DonorEnvironment> = {}): DonorEnvironment => ({
    visible: true,
    online: true,
    battery: { level: 0.8, charging: true },
    connection: { type: 'wifi', saveData: false },
    ...over,
  });
  const prefs = { ...DEFAULT_PREFS, onlyWhileCharging: true, unmeteredOnly: true, pauseWhenHidden: true };

  it('opens when every rule holds', () => {
    expect(evaluateGate(env(), prefs, false)).toEqual({ allowed: true, reason: null, batteryLow: false });
  });
  it('names the first rule that closes it', () => {
    expect(evaluateGate(env(), prefs, false, true).reason).toBe('paused-by-you');
    expect(evaluateGate(env({ online: false }), prefs, false).reason).toBe('offline');
    expect(evaluateGate(env({ battery: { level: 0.8, charging: false } }), prefs, false).reason).toBe('not-charging');
    expect(evaluateGate(env({ battery: { level: 0.1, charging: true } }), prefs, false).reason).toBe('battery-low');
    expect(evaluateGate(env({ connection: { type: 'cellular' } }), prefs, false).reason).toBe('metered-network');
    expect(evaluateGate(env({ visible: false }), prefs, false).reason).toBe('tab-hidden');
  });
  it('respects preferences that are switched off', () => {
    const lax = { ...prefs, onlyWhileCharging: false, unmeteredOnly: false, pauseWhenHidden: false };
    expect(evaluateGate(env({ battery: { level: 0.8, charging: false }, connection: { type: 'cellular' }, visible: false }), lax, false).allowed).toBe(true);
  });
  it('carries the battery hysteresis', () => {
    const between = env({ battery: { level: 0.4, charging: true } });
    expect(evaluateGate(between, prefs, true)).toMatchObject({ allowed: false, reason: 'battery-low', batteryLow: true });
    expect(evaluateGate(between, prefs, false)).toMatchObject({ allowed: true, batteryLow: false });
  });
  it('without a Battery API (desktops), charging-only does not block', () => {
    expect(evaluateGate(env({ battery: null }), prefs, false).allowed).toBe(true);
  });
});

describe('back-off with no work', () => {
  it('2 s, 4 s, 8 s, then every 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map(backoffDelay)).toEqual([0, 2000, 4000, 8000, 10000, 10000, 10000]);
  });
});

describe('sandbox replies', () => {
  it('accepts only results of the protocol', () => {
    expect(parseSandboxReply({ type: 'result', id: 1, ok: true, output: [1] })).toEqual({ type: 'result', id: 1, ok: true, output: [1] });
    expect(parseSandboxReply({ type: 'result', id: 2, ok: false, error: 'boom' })).toMatchObject({ ok: false, error: 'boom' });
    expect(parseSandboxReply({ type: 'result', id: 2, ok: false })).toMatchObject({ ok: false, error: 'The code failed.' });
    expect(parseSandboxReply({ type: 'result', ok: true, output: 1 })).toBeNull();
    expect(parseSandboxReply({ ok: true, output: 1 })).toBeNull();
    expect(parseSandboxReply('result')).toBeNull();
    expect(parseSandboxReply(null)).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// The pool, with fake workers that "compute" for input.ms milliseconds

type FakeRunner = UnitRunner & { kind: RunnerKind; terminated: boolean; runs: number };

function fakeFactory() {
  const made: FakeRunner[] = [];
  const factory = (kind: RunnerKind): UnitRunner => {
    const runner: FakeRunner = {
      kind,
      terminated: false,
      runs: 0,
      run(task: UnitTask) {
        runner.runs++;
        const input = task.input as { ms: number; fail?: boolean; value?: Json };
        return new Promise((resolve, reject) =>
          setTimeout(() => {
            if (runner.terminated) return; // a terminated worker never answers
            if (input.fail) reject(new UnitFailedError('bad input'));
            else resolve({ output: input.value ?? input.ms, engine: 'js' });
          }, input.ms),
        );
      },
      terminate() {
        runner.terminated = true;
      },
    };
    made.push(runner);
    return runner;
  };
  return { made, factory };
}

const unit = (ms: number, extra: Record<string, Json> = {}, kernel = 'mandelbrot', jobId = 'job1'): UnitTask => ({ jobId, kernel, input: { ms, ...extra } });

describe('ComputePool', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at most one unit per worker and queues the rest', async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 2, dutyCycle: 1, createRunner: factory });
    const done: number[] = [];
    const runs = [100, 100, 100].map((ms, i) => pool.run(unit(ms)).then(() => done.push(i)));
    expect(pool.running).toBe(2);
    expect(pool.queued).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toEqual([0, 1]);
    expect(pool.running).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(runs);
    expect(made).toHaveLength(2); // workers are reused
  });

  it('rests a worker as long as it worked at a 50% duty cycle', async () => {
    vi.useFakeTimers();
    const { factory } = fakeFactory();
    const pool = new ComputePool({ size: 1, dutyCycle: 0.5, createRunner: factory });
    const started: number[] = [];
    const t0 = Date.now();
    const first = pool.run(unit(200));
    started.push(0);
    const second = pool.run(unit(200)).then(() => started.push(Date.now() - t0));
    await vi.advanceTimersByTimeAsync(200);
    await first;
    expect(pool.running).toBe(0); // resting, not yet started
    await vi.advanceTimersByTimeAsync(199);
    expect(pool.running).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pool.running).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    await second;
    expect(started[1]).toBe(600); // 200 busy + 200 rest + 200 busy
  });

  it('aborting a running unit terminates its worker and a new one takes the next unit', async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 1, dutyCycle: 1, createRunner: factory });
    const controller = new AbortController();
    const aborted = pool.run(unit(1000), { signal: controller.signal });
    const rejection = expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new DOMException('stop', 'AbortError'));
    await rejection;
    expect(made[0]!.terminated).toBe(true);
    const next = pool.run(unit(50));
    await vi.advanceTimersByTimeAsync(50);
    await expect(next).resolves.toMatchObject({ output: 50 });
    expect(made).toHaveLength(2);
  });

  it('aborting a queued unit removes it without touching the workers', async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 1, dutyCycle: 1, createRunner: factory });
    const running = pool.run(unit(100));
    const controller = new AbortController();
    const queued = pool.run(unit(100), { signal: controller.signal });
    const rejection = expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    controller.abort();
    await rejection;
    expect(pool.queued).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    await running;
    expect(made[0]!.terminated).toBe(false);
  });

  it('a unit past its time limit is stopped and its worker replaced', async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 1, dutyCycle: 1, createRunner: factory, unitTimeoutMs: 500 });
    const slow = pool.run(unit(10_000));
    const rejection = expect(slow).rejects.toMatchObject({ name: 'TimeoutError' });
    await vi.advanceTimersByTimeAsync(500);
    await rejection;
    expect(made[0]!.terminated).toBe(true);
  });

  it("a kernel's error fails the unit but keeps the worker", async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 1, dutyCycle: 1, createRunner: factory });
    const bad = pool.run(unit(10, { fail: true }));
    const rejection = expect(bad).rejects.toBeInstanceOf(UnitFailedError);
    await vi.advanceTimersByTimeAsync(10);
    await rejection;
    const good = pool.run(unit(10));
    await vi.advanceTimersByTimeAsync(10);
    await good;
    expect(made).toHaveLength(1);
    expect(made[0]!.runs).toBe(2);
  });

  it('terminates workers that sit idle', async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 2, dutyCycle: 1, createRunner: factory, idleMs: 1000 });
    const run = pool.run(unit(10));
    await vi.advanceTimersByTimeAsync(10);
    await run;
    expect(pool.workers).toBe(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(pool.workers).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(pool.workers).toBe(0);
    expect(made[0]!.terminated).toBe(true);
  });

  it("runs members' code in a sandbox per job, reused for the job's next unit", async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 1, dutyCycle: 1, createRunner: factory });
    for (const task of [unit(5, {}, 'custom', 'a'), unit(5, {}, 'custom', 'a'), unit(5, {}, 'custom', 'b'), unit(5)]) {
      const run = pool.run(task);
      await vi.advanceTimersByTimeAsync(5);
      await run;
    }
    expect(made.map((r) => r.kind)).toEqual([{ type: 'sandbox', jobId: 'a' }, { type: 'sandbox', jobId: 'b' }, { type: 'kernels' }]);
    expect(made.map((r) => r.terminated)).toEqual([true, true, false]);
  });

  it('shrinks by retiring workers when their unit ends', async () => {
    vi.useFakeTimers();
    const { made, factory } = fakeFactory();
    const pool = new ComputePool({ size: 2, dutyCycle: 1, createRunner: factory });
    const runs = [pool.run(unit(100)), pool.run(unit(100))];
    pool.resize(1);
    expect(pool.running).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(runs);
    expect(pool.workers).toBe(1);
    expect(made.filter((r) => r.terminated)).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// The donor loop, against a fake coordinator

function fakeEnvironment(initial: DonorEnvironment) {
  let env = initial;
  const listeners = new Set<() => void>();
  const source: EnvironmentSource = {
    ready: Promise.resolve(),
    read: () => env,
    subscribe(onChange) {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
  };
  return {
    source,
    set(over: Partial<DonorEnvironment>) {
      env = { ...env, ...over };
      listeners.forEach((l) => l());
    },
  };
}

function fakeCoordinator(units: number, ms: number) {
  let next = 0;
  const calls = { lease: 0, returned: 0, submitted: [] as string[] };
  const api: DonorApi = {
    async lease(_deviceId, max) {
      calls.lease++;
      const leases: Lease[] = [];
      while (leases.length < max && next < units) {
        const i = next++;
        leases.push({ leaseId: `l${i}`, jobId: 'job', kernel: 'mandelbrot', unitIndex: i, input: { ms }, expiresAt: new Date(Date.now() + 120_000).toISOString() });
      }
      return leases;
    },
    async submit(leaseId) {
      calls.submitted.push(leaseId);
      return { status: 'SUBMITTED', unitStatus: 'PENDING' };
    },
    async returnLeases() {
      calls.returned++;
      return { returned: 1 };
    },
  };
  return { api, calls };
}

const until = async (check: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('Donor', () => {
  const open: DonorEnvironment = { visible: true, online: true, battery: { level: 0.9, charging: true }, connection: { type: 'wifi' } };

  it('leases as many units as there are workers, runs and submits them, then idles', async () => {
    const { api, calls } = fakeCoordinator(5, 5);
    const env = fakeEnvironment(open);
    const { factory } = fakeFactory();
    const donor = new Donor({
      deviceId: 'd1',
      api,
      environment: env.source,
      cores: 2,
      prefs: { ...DEFAULT_PREFS, coreShare: 1, dutyCycle: 1 },
      createPool: (size, duty) => new ComputePool({ size, dutyCycle: duty, createRunner: factory }),
      backoff: () => 20,
    });
    const states = new Set<string>();
    donor.subscribe((s) => states.add(s.state));
    donor.start();
    await until(() => donor.getStatus().unitsDone === 5);
    expect(calls.submitted.sort()).toEqual(['l0', 'l1', 'l2', 'l3', 'l4']);
    await until(() => donor.getStatus().state === 'idle');
    expect(states.has('computing')).toBe(true);
    expect(donor.getStatus().workers).toBe(2);
    await donor.stop();
    expect(donor.getStatus().state).toBe('off');
  });

  it('pauses when the charger is unplugged: aborts the units and returns the leases', async () => {
    const { api, calls } = fakeCoordinator(2, 10_000);
    const env = fakeEnvironment(open);
    const { made, factory } = fakeFactory();
    const donor = new Donor({
      deviceId: 'd1',
      api,
      environment: env.source,
      cores: 2,
      prefs: { ...DEFAULT_PREFS, coreShare: 1, onlyWhileCharging: true },
      createPool: (size, duty) => new ComputePool({ size, dutyCycle: duty, createRunner: factory }),
      backoff: () => 20,
    });
    donor.start();
    await until(() => donor.getStatus().current.length === 2);
    env.set({ battery: { level: 0.9, charging: false } });
    expect(donor.getStatus()).toMatchObject({ state: 'paused', reason: 'not-charging', current: [] });
    await until(() => calls.returned === 1);
    expect(made.every((r) => r.terminated)).toBe(true);
    expect(calls.submitted).toEqual([]);
    const leasesBefore = calls.lease;
    await new Promise((r) => setTimeout(r, 60));
    expect(calls.lease).toBe(leasesBefore); // no leasing while paused
    env.set({ battery: { level: 0.9, charging: true } });
    await until(() => calls.lease > leasesBefore);
    await donor.stop();
  });

  it('pause and resume by the member', async () => {
    const { api, calls } = fakeCoordinator(0, 5);
    const env = fakeEnvironment(open);
    const { factory } = fakeFactory();
    const donor = new Donor({
      deviceId: 'd1',
      api,
      environment: env.source,
      cores: 1,
      createPool: (size, duty) => new ComputePool({ size, dutyCycle: duty, createRunner: factory }),
      backoff: () => 10,
    });
    donor.start();
    await until(() => calls.lease >= 2); // polls again after empty answers
    donor.pause();
    expect(donor.getStatus()).toMatchObject({ state: 'paused', reason: 'paused-by-you', reasonText: 'Paused by you', pausedByYou: true });
    const polls = calls.lease;
    await new Promise((r) => setTimeout(r, 50));
    expect(calls.lease).toBe(polls);
    donor.resume();
    await until(() => calls.lease > polls);
    await donor.stop();
  });
});
