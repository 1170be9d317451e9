/**
 * The donor's rules as pure functions over plain data: preferences and their bounds, how many
 * workers a share of the cores gives, the duty-cycle rest, when the device may compute (battery
 * hysteresis, charging, metered networks, hidden tab), and the back-off when there is no work.
 * No DOM and no timers here, so they are tested in Node (tests/unit/compute-pool.test.ts).
 */

/** What a member chooses about donating this device (BOINC-like computing preferences). */
export type DonorPrefs = {
  /** share of the logical processors to use, 0.25 … 1 */
  coreShare: number;
  /** share of the time each used processor may be busy, 0.1 … 1 (see `restAfter`) */
  dutyCycle: number;
  /** compute only while the device is charging */
  onlyWhileCharging: boolean;
  /** stop when the battery falls below this level (0 … 1) … */
  stopBelowBattery: number;
  /** … and start again only once it is back above this one (always above `stopBelowBattery`) */
  resumeAboveBattery: number;
  /** pause while the tab is hidden (else keep computing in the background, as far as the browser lets it) */
  pauseWhenHidden: boolean;
  /** compute only on networks the browser does not report as metered (see `isMetered`) */
  unmeteredOnly: boolean;
  /** the least a work unit must pay, micro-credits */
  floorPrice: number;
  /** MB of memory offered to one unit (0: none); jobs whose units need more are never given to this device */
  memoryMb: number;
};

/** The memory a device can offer to one unit, MB (the panel shows those the device has). */
export const MEMORY_CHOICES = [0, 128, 256, 512, 1024, 2048] as const;

export const CORE_SHARES = [0.25, 0.5, 0.75, 1] as const;
export const MIN_DUTY_CYCLE = 0.1;
/** The gap kept between the stop and resume battery levels, so they cannot cross. */
export const MIN_BATTERY_GAP = 0.05;
export const MIN_FLOOR_PRICE = 1;
export const MAX_FLOOR_PRICE = 1_000_000_000_000;

export const DEFAULT_PREFS: DonorPrefs = {
  coreShare: 0.5,
  dutyCycle: 0.5,
  onlyWhileCharging: true,
  stopBelowBattery: 0.3,
  resumeAboveBattery: 0.5,
  pauseWhenHidden: false,
  unmeteredOnly: true,
  floorPrice: 1_000,
  memoryMb: 256,
};

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const finite = (x: unknown, fallback: number) => (typeof x === 'number' && Number.isFinite(x) ? x : fallback);
const bool = (x: unknown, fallback: boolean) => (typeof x === 'boolean' ? x : fallback);

/**
 * Preferences from anything (localStorage JSON, a form): missing or wrong fields take the defaults,
 * numbers are clamped to their bounds, levels are rounded to whole percents, the core share snaps
 * to the nearest allowed step, and the resume level is kept at least `MIN_BATTERY_GAP` above the
 * stop level (moving the resume level up, or the stop level down at the top of the range).
 */
export function normalizePrefs(raw: unknown): DonorPrefs {
  const o = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>) : {};
  const d = DEFAULT_PREFS;
  const share = finite(o.coreShare, d.coreShare);
  const coreShare = CORE_SHARES.reduce((best, s) => (Math.abs(s - share) < Math.abs(best - share) ? s : best), CORE_SHARES[0]);
  const pct = (x: number) => Math.round(x * 100) / 100;
  let stop = pct(clamp(finite(o.stopBelowBattery, d.stopBelowBattery), 0, 1 - MIN_BATTERY_GAP));
  let resume = pct(clamp(finite(o.resumeAboveBattery, d.resumeAboveBattery), 0, 1));
  if (resume < stop + MIN_BATTERY_GAP) resume = pct(stop + MIN_BATTERY_GAP);
  if (resume > 1) {
    resume = 1;
    stop = pct(1 - MIN_BATTERY_GAP);
  }
  return {
    coreShare,
    dutyCycle: pct(clamp(finite(o.dutyCycle, d.dutyCycle), MIN_DUTY_CYCLE, 1)),
    onlyWhileCharging: bool(o.onlyWhileCharging, d.onlyWhileCharging),
    stopBelowBattery: stop,
    resumeAboveBattery: resume,
    pauseWhenHidden: bool(o.pauseWhenHidden, d.pauseWhenHidden),
    unmeteredOnly: bool(o.unmeteredOnly, d.unmeteredOnly),
    floorPrice: Math.round(clamp(finite(o.floorPrice, d.floorPrice), MIN_FLOOR_PRICE, MAX_FLOOR_PRICE)),
    memoryMb: nearest(MEMORY_CHOICES, finite(o.memoryMb, d.memoryMb)),
  };
}

const nearest = (choices: readonly number[], x: number) => choices.reduce((best, c) => (Math.abs(c - x) < Math.abs(best - x) ? c : best), choices[0]!);

/** The memory choices a device has room for: those within what it measured (`navigator.deviceMemory` GB), all when it cannot tell. */
export function memoryChoices(deviceMemoryGb: number | undefined): number[] {
  if (!(typeof deviceMemoryGb === 'number' && deviceMemoryGb > 0)) return [...MEMORY_CHOICES];
  return MEMORY_CHOICES.filter((mb) => mb <= deviceMemoryGb * 1024);
}

/** Workers for a share of the logical processors: at least one, never more than there are (rounded down). */
export function workersFor(hardwareConcurrency: number | undefined, coreShare: number): number {
  const cores = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  return clamp(Math.floor(cores * clamp(coreShare, 0, 1) + 1e-9), 1, cores);
}

/**
 * The duty-cycle rule: a worker that was busy `busyMs` on a unit rests `busyMs × (1 − d) / d`
 * before its next unit, so that over every unit-plus-rest it is busy exactly the fraction `d`
 * (50% → rests as long as it worked; 25% → three times as long; 100% → not at all).
 */
export function restAfter(busyMs: number, dutyCycle: number): number {
  const d = clamp(finite(dutyCycle, 1), MIN_DUTY_CYCLE, 1);
  if (!(busyMs > 0) || d >= 1) return 0;
  return (busyMs * (1 - d)) / d;
}

/** What the browser tells about the network (`navigator.connection`, where it exists). */
export type ConnectionFacts = { type?: string | null; saveData?: boolean | null } | null | undefined;

/**
 * Metered only where the browser says so: a cellular connection, or the person asked to save data.
 * Unknown (no Network Information API, as in Safari and Firefox) counts as unmetered.
 */
export function isMetered(connection: ConnectionFacts): boolean {
  if (!connection) return false;
  return connection.type === 'cellular' || connection.saveData === true;
}

/** The battery as `navigator.getBattery()` reports it; null where there is no Battery API. */
export type BatteryFacts = { level: number; charging: boolean } | null | undefined;

/**
 * Battery hysteresis: below `stop` the battery is low; it stays low until it rises above
 * `resume`; in between it keeps its previous state. No battery information means mains power
 * (desktops; browsers without the Battery API), which is never low.
 */
export function batteryLow(battery: BatteryFacts, wasLow: boolean, prefs: Pick<DonorPrefs, 'stopBelowBattery' | 'resumeAboveBattery'>): boolean {
  if (!battery || !Number.isFinite(battery.level)) return false;
  if (battery.level < prefs.stopBelowBattery) return true;
  if (battery.level > prefs.resumeAboveBattery) return false;
  return wasLow;
}

/** Everything the gate looks at, read from the browser (or made up by a test). */
export type DonorEnvironment = {
  /** the document is visible (`document.visibilityState === 'visible'`) */
  visible: boolean;
  /** `navigator.onLine` */
  online: boolean;
  battery: BatteryFacts;
  connection: ConnectionFacts;
};

export type PauseReason = 'paused-by-you' | 'offline' | 'not-charging' | 'battery-low' | 'metered-network' | 'tab-hidden';

export type Gate = { allowed: true; reason: null; batteryLow: boolean } | { allowed: false; reason: PauseReason; batteryLow: boolean };

/**
 * Whether the device may compute now, and if not the first reason why (in the order a person
 * would look for it). `wasBatteryLow` carries the hysteresis from one evaluation to the next; the
 * result's `batteryLow` is the new state to carry on.
 */
export function evaluateGate(env: DonorEnvironment, prefs: DonorPrefs, wasBatteryLow: boolean, pausedByYou = false): Gate {
  const low = batteryLow(env.battery, wasBatteryLow, prefs);
  const blocked = (reason: PauseReason): Gate => ({ allowed: false, reason, batteryLow: low });
  if (pausedByYou) return blocked('paused-by-you');
  if (!env.online) return blocked('offline');
  if (prefs.onlyWhileCharging && env.battery && !env.battery.charging) return blocked('not-charging');
  if (low) return blocked('battery-low');
  if (prefs.unmeteredOnly && isMetered(env.connection)) return blocked('metered-network');
  if (prefs.pauseWhenHidden && !env.visible) return blocked('tab-hidden');
  return { allowed: true, reason: null, batteryLow: low };
}

/** A sentence for each reason, for the status line. */
export const PAUSE_REASON_TEXT: Record<PauseReason, string> = {
  'paused-by-you': 'Paused by you',
  offline: 'Offline',
  'not-charging': 'Waiting for the charger',
  'battery-low': 'Battery low: waiting until it is charged enough',
  'metered-network': 'On a metered network',
  'tab-hidden': 'Paused while the app is in the background',
};

export const BACKOFF_MIN_MS = 2_000;
export const BACKOFF_MAX_MS = 10_000;

/** Wait before asking again after `emptyPolls` answers in a row with no work: 2 s, 4 s, 8 s, then 10 s. */
export function backoffDelay(emptyPolls: number): number {
  if (!(emptyPolls >= 1)) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(emptyPolls - 1, 10));
}
