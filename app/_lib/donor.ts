/**
 * The donor loop of a browser device, with no React: while the preferences allow it, lease work
 * units from the coordinator (as many as the pool has free workers), run them in the compute pool,
 * submit the results, and lease more; with no work, ask again after 2 s, 4 s, 8 s, then every 10 s.
 * The gate (`evaluateGate` in donor-rules.ts) is re-checked whenever the battery, the network,
 * the tab's visibility or the preferences change: when it closes, running units are aborted and
 * every lease of the device is given back (`compute.returnLeases`); when it opens, the loop goes on.
 *
 * One `Donor` per device for the page's lifetime (`getDonor`), so that donating goes on while the
 * member moves between the app's screens. Its live status is read through `subscribe`/`getStatus`
 * (shaped for React's useSyncExternalStore).
 */
import type { Json, KernelName } from '../../workers/kernels/types';
import { ComputePool, type Engine, type UnitTask } from './compute-pool';
import { MeshSources, type SourceFetcher } from './job-source';
import { trpcClient, type AppClient } from './trpc-client';
import {
  backoffDelay,
  DEFAULT_PREFS,
  evaluateGate,
  normalizePrefs,
  PAUSE_REASON_TEXT,
  workersFor,
  type DonorEnvironment,
  type DonorPrefs,
  type PauseReason,
} from './donor-rules';

export type Lease = { leaseId: string; jobId: string; kernel: string; unitIndex: number; input: Json; expiresAt: string };

/** The three calls the loop makes; `trpcDonorApi` provides them over tRPC, tests fake them. */
export interface DonorApi {
  lease(deviceId: string, max: number): Promise<Lease[]>;
  submit(leaseId: string, output: Json): Promise<{ status: string; unitStatus: string }>;
  returnLeases(deviceId: string): Promise<unknown>;
}

/** The loop's calls over tRPC; `kernels` limits the units leased to those kernels (the agent's choice). */
export function trpcDonorApi(client: AppClient = trpcClient(), options: { kernels?: KernelName[] } = {}): DonorApi {
  return {
    lease: (deviceId, max) => client.compute.lease.mutate({ deviceId, max, ...(options.kernels ? { kernels: options.kernels } : {}) }),
    submit: (leaseId, output) => client.compute.submitResult.mutate({ leaseId, output }),
    returnLeases: (deviceId) => client.compute.returnLeases.mutate({ deviceId }),
  };
}

/** Where the gate's facts come from; `browserEnvironment()` in a page, a fake in tests. */
export interface EnvironmentSource {
  read(): DonorEnvironment;
  /** calls `onChange` whenever a fact may have changed; returns an unsubscribe function */
  subscribe(onChange: () => void): () => void;
  /** resolves once slow facts (the battery) are known */
  ready: Promise<void>;
}

export type DonorState = 'off' | 'idle' | 'computing' | 'paused';
export type CurrentUnit = { leaseId: string; jobId: string; kernel: string; unitIndex: number; startedAt: number };
/** The last unit done: `status` is the result's (SUBMITTED: done, awaiting confirmation; VALID; INVALID), `unitStatus` the unit's. */
export type LastUnit = { jobId: string; kernel: string; unitIndex: number; ms: number; engine: Engine; status: string; unitStatus: string };

export type DonorStatus = {
  state: DonorState;
  /** why it is paused (state 'paused'), else null */
  reason: PauseReason | null;
  reasonText: string | null;
  current: CurrentUnit[];
  unitsDone: number;
  unitsFailed: number;
  lastUnit: LastUnit | null;
  lastError: string | null;
  /** workers the pool may run (one per granted core) */
  workers: number;
  /** when the loop asks for work again after an empty answer (ms since the epoch), else null */
  nextPollAt: number | null;
  pausedByYou: boolean;
};

export type DonorOptions = {
  deviceId: string;
  prefs?: DonorPrefs;
  api?: DonorApi;
  environment?: EnvironmentSource;
  /** the pool for `size` workers and a duty cycle (default: a ComputePool of real workers) */
  createPool?: (size: number, dutyCycle: number) => ComputePool;
  /** cores the device has (default `navigator.hardwareConcurrency`) */
  cores?: number;
  /** wait after `n` empty or failed polls in a row (default `backoffDelay`) */
  backoff?: (n: number) => number;
  /** fetches what a unit's job keeps in the mesh (code, data) before it runs (app/_lib/job-source.ts) */
  sources?: SourceFetcher;
};

/** A unit is abandoned this long before its lease expires (a late result is refused anyway). */
const LEASE_MARGIN_MS = 3_000;
const SUBMIT_ATTEMPTS = 3;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** A dropped connection or a server error is worth retrying; a 4xx answer is not. */
const transient = (err: unknown) => {
  const status = (err as { data?: { httpStatus?: number } } | null)?.data?.httpStatus;
  return status === undefined || status >= 500;
};
const isAbort = (err: unknown) => err instanceof DOMException && err.name === 'AbortError';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Donor {
  readonly deviceId: string;
  private prefs: DonorPrefs;
  private readonly api: DonorApi;
  private readonly environment: EnvironmentSource;
  private readonly pool: ComputePool;
  private readonly cores: number;
  private readonly backoff: (n: number) => number;
  private readonly sources: SourceFetcher | null;

  private running = false;
  private generation = 0;
  private pausedByYou = false;
  private batteryLow = false;
  private gateOpen = false;
  private reason: PauseReason | null = null;
  private inflight = new Map<string, CurrentUnit>();
  private unitsAbort = new AbortController();
  private emptyPolls = 0;
  private nextPollAt = 0;
  private unitsDone = 0;
  private unitsFailed = 0;
  private lastUnit: LastUnit | null = null;
  private lastError: string | null = null;
  private wakeUp: (() => void) | null = null;
  private unsubscribeEnvironment: (() => void) | null = null;
  private listeners = new Set<(status: DonorStatus) => void>();
  private snapshot: DonorStatus;

  constructor(options: DonorOptions) {
    this.deviceId = options.deviceId;
    this.prefs = normalizePrefs(options.prefs ?? DEFAULT_PREFS);
    this.api = options.api ?? trpcDonorApi();
    this.environment = options.environment ?? browserEnvironment();
    this.cores = options.cores ?? (typeof navigator === 'undefined' ? 1 : navigator.hardwareConcurrency || 1);
    this.backoff = options.backoff ?? backoffDelay;
    this.sources = options.sources ?? null;
    const size = workersFor(this.cores, this.prefs.coreShare);
    this.pool = options.createPool ? options.createPool(size, this.prefs.dutyCycle) : new ComputePool({ size, dutyCycle: this.prefs.dutyCycle });
    this.snapshot = this.buildStatus();
  }

  // -------------------------------------------------------------------------------------------
  // control

  /** Starts the loop (when the gate is open); does nothing when it runs already. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.emptyPolls = 0;
    this.nextPollAt = 0;
    this.lastError = null;
    this.unsubscribeEnvironment = this.environment.subscribe(() => this.reevaluate());
    this.evaluate();
    this.emit();
    void this.loop(this.generation);
  }

  /** Stops the loop, aborts running units and gives back every lease of the device. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    this.unsubscribeEnvironment?.();
    this.unsubscribeEnvironment = null;
    this.wake();
    await this.abortAndReturn();
    this.emit();
  }

  /** Pauses by the member's choice (aborts running units and returns their leases). */
  pause(): void {
    this.pausedByYou = true;
    this.reevaluate();
  }

  resume(): void {
    this.pausedByYou = false;
    this.reevaluate();
  }

  setPrefs(prefs: DonorPrefs): void {
    this.prefs = normalizePrefs(prefs);
    this.pool.resize(workersFor(this.cores, this.prefs.coreShare));
    this.pool.setDutyCycle(this.prefs.dutyCycle);
    this.reevaluate();
  }

  getPrefs(): DonorPrefs {
    return this.prefs;
  }

  get isRunning(): boolean {
    return this.running;
  }

  // -------------------------------------------------------------------------------------------
  // status

  subscribe = (listener: (status: DonorStatus) => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The current status; the same object until something changes. */
  getStatus = (): DonorStatus => this.snapshot;

  private buildStatus(): DonorStatus {
    const state: DonorState = !this.running ? 'off' : !this.gateOpen ? 'paused' : this.inflight.size > 0 ? 'computing' : 'idle';
    const reason = state === 'paused' ? this.reason : null;
    return {
      state,
      reason,
      reasonText: reason ? PAUSE_REASON_TEXT[reason] : null,
      current: [...this.inflight.values()],
      unitsDone: this.unitsDone,
      unitsFailed: this.unitsFailed,
      lastUnit: this.lastUnit,
      lastError: this.lastError,
      workers: this.pool.size,
      nextPollAt: state === 'idle' && this.nextPollAt > Date.now() ? this.nextPollAt : null,
      pausedByYou: this.pausedByYou,
    };
  }

  private emit(): void {
    this.snapshot = this.buildStatus();
    for (const listener of this.listeners) listener(this.snapshot);
  }

  // -------------------------------------------------------------------------------------------
  // the gate

  private evaluate(): boolean {
    const gate = evaluateGate(this.environment.read(), this.prefs, this.batteryLow, this.pausedByYou);
    this.batteryLow = gate.batteryLow;
    const wasOpen = this.gateOpen;
    this.gateOpen = gate.allowed;
    this.reason = gate.reason;
    return wasOpen;
  }

  private reevaluate(): void {
    const wasOpen = this.evaluate();
    if (this.running && wasOpen && !this.gateOpen) void this.abortAndReturn();
    if (this.running && this.gateOpen && !wasOpen) {
      this.nextPollAt = 0;
      this.emptyPolls = 0;
    }
    this.wake();
    this.emit();
  }

  private async abortAndReturn(): Promise<void> {
    const hadUnits = this.inflight.size > 0;
    this.unitsAbort.abort(new DOMException('Donating was paused.', 'AbortError'));
    this.unitsAbort = new AbortController();
    this.inflight.clear();
    if (!hadUnits) return;
    try {
      await this.api.returnLeases(this.deviceId);
    } catch (err) {
      this.lastError = `Could not give the leased units back: ${messageOf(err)}`;
    }
    this.emit();
  }

  // -------------------------------------------------------------------------------------------
  // the loop

  private wake(): void {
    const wake = this.wakeUp;
    this.wakeUp = null;
    wake?.();
  }

  private waitForWake(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = ms === undefined ? null : setTimeout(() => this.wake(), Math.max(0, ms));
      this.wakeUp = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
    });
  }

  private async loop(generation: number): Promise<void> {
    const live = () => this.running && this.generation === generation;
    // the battery is read asynchronously: do not lease before the gate knows it
    await this.environment.ready;
    if (!live()) return;
    this.reevaluate();
    while (live()) {
      if (!this.gateOpen) {
        await this.waitForWake();
        continue;
      }
      const room = this.pool.size - this.inflight.size;
      const now = Date.now();
      if (room <= 0 || now < this.nextPollAt) {
        await this.waitForWake(room <= 0 ? undefined : this.nextPollAt - now);
        continue;
      }
      let leases: Lease[];
      try {
        leases = await this.api.lease(this.deviceId, room);
      } catch (err) {
        if (!live()) return;
        this.lastError = messageOf(err);
        this.emptyPolls++;
        this.nextPollAt = Date.now() + this.backoff(this.emptyPolls);
        this.emit();
        continue;
      }
      if (!live() || !this.gateOpen) {
        // paused or stopped while asking: give back what just came
        if (leases.length > 0) await this.api.returnLeases(this.deviceId).catch(() => undefined);
        continue;
      }
      if (leases.length === 0) {
        this.emptyPolls++;
        this.nextPollAt = Date.now() + this.backoff(this.emptyPolls);
        this.emit();
        continue;
      }
      this.emptyPolls = 0;
      this.nextPollAt = 0;
      for (const lease of leases) void this.runUnit(lease);
      this.emit();
    }
  }

  private async runUnit(lease: Lease): Promise<void> {
    const signal = this.unitsAbort.signal;
    const unit: CurrentUnit = { leaseId: lease.leaseId, jobId: lease.jobId, kernel: lease.kernel, unitIndex: lease.unitIndex, startedAt: Date.now() };
    this.inflight.set(lease.leaseId, unit);
    try {
      const prepared = this.sources ? await this.sources.prepare(lease) : { input: lease.input };
      signal.throwIfAborted();
      const task: UnitTask = { jobId: lease.jobId, kernel: lease.kernel, ...prepared };
      const timeoutMs = Math.max(1_000, Date.parse(lease.expiresAt) - Date.now() - LEASE_MARGIN_MS);
      const run = await this.pool.run(task, { signal, timeoutMs });
      signal.throwIfAborted();
      const verdict = await this.submit(lease.leaseId, run.output, signal);
      this.unitsDone++;
      this.lastUnit = { jobId: lease.jobId, kernel: lease.kernel, unitIndex: lease.unitIndex, ms: run.ms, engine: run.engine, status: verdict.status, unitStatus: verdict.unitStatus };
    } catch (err) {
      if (signal.aborted || isAbort(err)) return;
      this.unitsFailed++;
      this.lastError = `Unit ${lease.unitIndex} of ${lease.kernel}: ${messageOf(err)}`;
    } finally {
      if (this.inflight.get(lease.leaseId) === unit) this.inflight.delete(lease.leaseId);
      this.wake();
      this.emit();
    }
  }

  private async submit(leaseId: string, output: Json, signal: AbortSignal) {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.api.submit(leaseId, output);
      } catch (err) {
        if (attempt >= SUBMIT_ATTEMPTS || !transient(err) || signal.aborted) throw err;
        await sleep(1_000 * attempt);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The browser's facts

type BatteryManagerLike = EventTarget & { level: number; charging: boolean };
type ConnectionLike = EventTarget & { type?: string; saveData?: boolean };
type NavigatorExtras = Navigator & { getBattery?: () => Promise<BatteryManagerLike>; connection?: ConnectionLike };

/** Reads visibility, online state, the battery and the connection, and reports their changes. */
export function browserEnvironment(): EnvironmentSource {
  const nav: NavigatorExtras | undefined = typeof navigator === 'undefined' ? undefined : navigator;
  let battery: BatteryManagerLike | null = null;
  const listeners = new Set<() => void>();
  const notify = () => listeners.forEach((l) => l());
  const ready: Promise<void> =
    typeof nav?.getBattery === 'function'
      ? nav.getBattery().then(
          (b) => {
            battery = b;
            b.addEventListener('levelchange', notify);
            b.addEventListener('chargingchange', notify);
          },
          () => undefined,
        )
      : Promise.resolve();
  let attached = false;
  const attach = () => {
    if (attached || typeof window === 'undefined') return;
    attached = true;
    document.addEventListener('visibilitychange', notify);
    window.addEventListener('online', notify);
    window.addEventListener('offline', notify);
    nav?.connection?.addEventListener?.('change', notify);
  };
  return {
    ready,
    read: () => ({
      visible: typeof document === 'undefined' || document.visibilityState === 'visible',
      online: nav?.onLine ?? true,
      battery: battery ? { level: battery.level, charging: battery.charging } : null,
      connection: nav?.connection ? { type: nav.connection.type ?? null, saveData: nav.connection.saveData ?? null } : null,
    }),
    subscribe(onChange) {
      attach();
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One donor per device, and the preferences kept in localStorage

const PREFS_KEY = 'swapmesh.donorPrefs';
const donors = new Map<string, Donor>();

export function loadPrefs(): DonorPrefs {
  try {
    const text = typeof localStorage === 'undefined' ? null : localStorage.getItem(PREFS_KEY);
    return normalizePrefs(text ? JSON.parse(text) : null);
  } catch {
    return DEFAULT_PREFS;
  }
}

export function savePrefs(prefs: DonorPrefs): void {
  try {
    localStorage.setItem(PREFS_KEY, JSON.stringify(normalizePrefs(prefs)));
  } catch {
    // private mode or storage full: the preferences last for this visit only
  }
}

/** The device's donor, made on first use with the stored preferences (browser only). */
export function getDonor(deviceId: string): Donor {
  let donor = donors.get(deviceId);
  if (!donor) {
    donor = new Donor({ deviceId, prefs: loadPrefs(), sources: new MeshSources(deviceId) });
    donors.set(deviceId, donor);
    if (typeof window !== 'undefined') {
      const d = donor;
      // closing the tab: hand the units back at once instead of letting their leases time out
      window.addEventListener('pagehide', () => {
        if (d.isRunning && d.getStatus().current.length > 0) {
          void trpcClient().compute.returnLeases.mutate({ deviceId: d.deviceId }, { context: { keepalive: true } }).catch(() => undefined);
        }
      });
    }
  }
  return donor;
}
