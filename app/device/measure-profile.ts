/**
 * Measures this browser's device Profile: benchmarks in a Web Worker (through Comlink), facts
 * from `navigator`, and the network against the coordinator's `/api/ping`.
 *
 * Browser-only (call it from an effect or an event handler); no React. Every API it touches is
 * feature-detected: a missing one leaves its fields null instead of failing the measurement. It
 * never asks for a permission (cameras and microphones are only counted, not opened).
 */
import { wrap, type Remote } from 'comlink';
import {
  CONNECTION_TYPES,
  EFFECTIVE_CONNECTION_TYPES,
  MAX_PING_BYTES,
  PROFILE_VERSION,
  deviceProfileSchema,
  type Browser,
  type DeviceProfile,
  type OperatingSystem,
} from '../../server/device/profile';
import type { ComputeBenchmark, MemoryBenchmark, StorageBenchmark } from '../../workers/benchmark';
import type { BenchmarkWorkerApi } from '../../workers/benchmark.worker';
import { browserWorker, WorkerLifetime } from '../_lib/worker-lifetime';

export type MeasureProfileOptions = {
  /** aborting terminates the worker and rejects with the signal's reason */
  signal?: AbortSignal;
  /** called with a short human description of each step as it starts */
  onStep?: (step: string) => void;
};

/** Base URL of the coordinator's ping route. */
const PING_URL = '/api/ping';
/** Small requests timed for the round trip (after one warm-up). */
const RTT_SAMPLES = 5;
/** Size of the throughput download. */
const DOWNLOAD_BYTES = 1024 * 1024;
/** Longest any one worker step or request may take before it counts as failed. */
const STEP_TIMEOUT_MS = 20_000;
const REQUEST_TIMEOUT_MS = 10_000;
const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Browser APIs that the DOM typings do not (yet) describe, read only after feature detection.

interface NetworkInformationLike {
  effectiveType?: string;
  downlink?: number;
  rtt?: number;
  type?: string;
  saveData?: boolean;
}
interface UserAgentDataLike {
  platform?: string;
  mobile?: boolean;
  brands?: ReadonlyArray<{ brand: string; version: string }>;
}
interface BatteryLike {
  level: number;
  charging: boolean;
}
type NavigatorWithExtras = Navigator & {
  connection?: NetworkInformationLike;
  deviceMemory?: number;
  userAgentData?: UserAgentDataLike;
  getBattery?: () => Promise<BatteryLike>;
};

// ---------------------------------------------------------------------------------------------

/**
 * Measures the profile, ~1–2 s in all: compute, memory and storage in a worker (terminated
 * afterwards), then the network; `navigator` facts are gathered meanwhile.
 * Resolves to a profile that passes `deviceProfileSchema`.
 */
export async function measureProfile(opts: MeasureProfileOptions = {}): Promise<DeviceProfile> {
  const { signal, onStep } = opts;
  signal?.throwIfAborted();
  const nav: NavigatorWithExtras = navigator;

  onStep?.('Reading device facts…');
  // cheap, asynchronous facts run while the worker benchmarks on its own thread
  const factsPromise = Promise.all([
    storageEstimate(nav),
    countMediaDevices(nav),
    readBattery(nav),
    estimateRefreshHz(),
  ]);
  factsPromise.catch(() => undefined); // awaited below; never an unhandled rejection on abort

  const bench = await runWorkerBenchmarks(signal, onStep);

  onStep?.('Measuring the network…');
  const measured = await measureNetwork(signal);

  onStep?.('Putting the profile together…');
  const [estimate, media, battery, refreshHz] = await abortable(factsPromise, signal);
  const connection = nav.connection;
  const platform = classifyPlatform(nav.userAgent, nav.userAgentData, nav.maxTouchPoints);
  const screenFacts = typeof screen === 'undefined' ? null : screen;

  const profile: DeviceProfile = {
    version: PROFILE_VERSION,
    measuredAt: new Date().toISOString(),
    compute: {
      cores: int(nav.hardwareConcurrency, 1, 1024) ?? int(bench.compute?.cores, 1, 1024),
      mips: num(bench.compute?.mips, 0, 1_000_000),
      mflops: num(bench.compute?.mflops, 0, 1_000_000),
      durationMs: num(bench.compute?.durationMs, 0, 60_000),
    },
    memory: {
      deviceMemoryGb: num(nav.deviceMemory, 0, 4096),
      readNs: num(bench.memory?.readNs, 0, 1_000_000),
      writeNs: num(bench.memory?.writeNs, 0, 1_000_000),
      testedMb: num(bench.memory?.testedMb, 0, 65_536),
    },
    storage: {
      quotaMb: num(estimate.quotaMb, 0, 1e9),
      usageMb: num(estimate.usageMb, 0, 1e9),
      persisted: estimate.persisted,
      readMs: num(bench.storage?.readMs, 0, 600_000),
      writeMs: num(bench.storage?.writeMs, 0, 600_000),
      testedBytes: int(bench.storage?.testedBytes, 0, 64 * MB),
      method: bench.storage?.method ?? null,
    },
    peripherals: {
      screenWidth: int(screenFacts?.width, 0, 65_536),
      screenHeight: int(screenFacts?.height, 0, 65_536),
      pixelRatio: num(typeof devicePixelRatio === 'number' ? devicePixelRatio : undefined, 0, 16),
      colorDepth: int(screenFacts?.colorDepth, 0, 64),
      refreshHz: num(refreshHz, 0, 1000),
      cameras: media ? int(media.cameras, 0, 64) : null,
      microphones: media ? int(media.microphones, 0, 64) : null,
      speakers: media ? int(media.speakers, 0, 64) : null,
      maxTouchPoints: int(nav.maxTouchPoints, 0, 256),
    },
    network: {
      effectiveType: oneOf(connection?.effectiveType, EFFECTIVE_CONNECTION_TYPES),
      downlinkMbps: num(connection?.downlink, 0, 100_000),
      rttMs: num(connection?.rtt, 0, 60_000),
      type: oneOf(connection?.type, CONNECTION_TYPES),
      saveData: typeof connection?.saveData === 'boolean' ? connection.saveData : null,
      measuredRttMs: num(measured.rttMs, 0, 60_000),
      measuredThroughputMbps: num(measured.throughputMbps, 0, 100_000),
      measuredBytes: int(measured.bytes, 0, MAX_PING_BYTES),
    },
    platform: { ...platform, battery },
  };
  // the values above are clamped to the schema's bounds; this is the last check before sending
  return deviceProfileSchema.parse(profile);
}

// ---------------------------------------------------------------------------------------------
// Worker

type WorkerResults = {
  compute: ComputeBenchmark | null;
  memory: MemoryBenchmark | null;
  storage: StorageBenchmark | null;
};

/**
 * Runs the three benchmarks one after another in a fresh module worker. A worker that cannot
 * start, crashes or hangs leaves the remaining results null; an abort terminates it and rejects.
 */
async function runWorkerBenchmarks(
  signal: AbortSignal | undefined,
  onStep: ((step: string) => void) | undefined,
): Promise<WorkerResults> {
  const results: WorkerResults = { compute: null, memory: null, storage: null };
  if (typeof Worker === 'undefined') return results;
  const worker = new WorkerLifetime(
    browserWorker(() => new Worker(new URL('../../workers/benchmark.worker.ts', import.meta.url), { type: 'module' }), (w) => wrap<BenchmarkWorkerApi>(w)),
    { name: 'The benchmark worker', idleMs: null },
  );
  const step = async <T>(label: string, call: (remote: Remote<BenchmarkWorkerApi>) => Promise<T>): Promise<T> => {
    onStep?.(label);
    return abortable(withTimeout(worker.call(call, { signal }), STEP_TIMEOUT_MS), signal);
  };
  try {
    results.compute = await step('Measuring the processor…', (remote) => remote.measureCompute());
    results.memory = await step('Measuring memory…', (remote) => remote.measureMemory());
    results.storage = await step('Measuring storage…', (remote) => remote.measureStorage());
  } catch {
    if (signal?.aborted) throw abortReason(signal);
    // a worker that cannot start, failed or is stuck: keep what was measured, the rest stays null
  } finally {
    worker.stop();
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// Network

type NetworkMeasurement = { rttMs: number | null; throughputMbps: number | null; bytes: number | null };

/**
 * Median round trip of small `/api/ping` requests (after one warm-up that opens the connection),
 * then the throughput of one ~1 MiB download, counting the time after the first byte could have
 * arrived (elapsed − RTT, at least half the elapsed time). Failures give nulls; abort rejects.
 */
async function measureNetwork(signal: AbortSignal | undefined): Promise<NetworkMeasurement> {
  const result: NetworkMeasurement = { rttMs: null, throughputMbps: null, bytes: null };
  if (typeof fetch !== 'function') return result;
  try {
    await timedFetch(`${PING_URL}?warm=${nonce()}`, signal);
    const samples: number[] = [];
    for (let i = 0; i < RTT_SAMPLES; i++) {
      samples.push((await timedFetch(`${PING_URL}?n=${nonce()}`, signal)).ms);
    }
    result.rttMs = median(samples);
  } catch {
    if (signal?.aborted) throw abortReason(signal);
    return result;
  }
  try {
    const download = await timedFetch(`${PING_URL}?bytes=${DOWNLOAD_BYTES}&n=${nonce()}`, signal);
    if (download.bytes > 0) {
      const transferMs = Math.max(download.ms - (result.rttMs ?? 0), download.ms / 2, 0.1);
      result.throughputMbps = (download.bytes * 8) / (transferMs * 1000);
      result.bytes = download.bytes;
    }
  } catch {
    if (signal?.aborted) throw abortReason(signal);
  }
  return result;
}

/** GETs `url` bypassing every cache, reads the whole body, and times it (ms). */
async function timedFetch(url: string, signal: AbortSignal | undefined): Promise<{ ms: number; bytes: number }> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => controller.abort(new Error('Request timed out.')), REQUEST_TIMEOUT_MS);
  try {
    const t0 = performance.now();
    const response = await fetch(url, { cache: 'no-store', signal: controller.signal });
    const body = await response.arrayBuffer();
    const ms = performance.now() - t0;
    if (!response.ok) throw new Error(`Ping answered ${response.status}.`);
    return { ms, bytes: body.byteLength };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

// ---------------------------------------------------------------------------------------------
// navigator facts

async function storageEstimate(
  nav: Navigator,
): Promise<{ quotaMb: number | null; usageMb: number | null; persisted: boolean | null }> {
  const storage: StorageManager | undefined = nav.storage;
  let quotaMb: number | null = null;
  let usageMb: number | null = null;
  let persisted: boolean | null = null;
  if (!storage) return { quotaMb, usageMb, persisted };
  try {
    if (typeof storage.estimate === 'function') {
      const estimate = await storage.estimate();
      quotaMb = typeof estimate.quota === 'number' ? estimate.quota / MB : null;
      usageMb = typeof estimate.usage === 'number' ? estimate.usage / MB : null;
    }
  } catch {
    // unavailable (e.g. some private modes)
  }
  try {
    if (typeof storage.persisted === 'function') persisted = await storage.persisted();
  } catch {
    // unavailable
  }
  return { quotaMb, usageMb, persisted };
}

/** Counts device kinds without asking permission (labels stay hidden, which is fine here). */
async function countMediaDevices(
  nav: Navigator,
): Promise<{ cameras: number; microphones: number; speakers: number } | null> {
  const media: MediaDevices | undefined = nav.mediaDevices;
  if (!media || typeof media.enumerateDevices !== 'function') return null;
  try {
    const devices = await media.enumerateDevices();
    const count = (kind: MediaDeviceKind) => devices.filter((d) => d.kind === kind).length;
    return { cameras: count('videoinput'), microphones: count('audioinput'), speakers: count('audiooutput') };
  } catch {
    return null;
  }
}

async function readBattery(nav: NavigatorWithExtras): Promise<{ level: number; charging: boolean } | null> {
  if (typeof nav.getBattery !== 'function') return null;
  try {
    const battery = await withTimeout(nav.getBattery(), 2_000);
    const level = num(battery.level, 0, 1);
    return level === null || typeof battery.charging !== 'boolean' ? null : { level, charging: battery.charging };
  } catch {
    return null;
  }
}

/**
 * The display's refresh rate from the median interval between animation frames (up to 20 frames
 * or 500 ms). Null when frames do not come (a hidden tab) or there is no `requestAnimationFrame`.
 */
function estimateRefreshHz(): Promise<number | null> {
  if (typeof requestAnimationFrame !== 'function') return Promise.resolve(null);
  return new Promise((resolve) => {
    const stamps: number[] = [];
    let frame = 0;
    const finish = () => {
      clearTimeout(timer);
      cancelAnimationFrame(frame);
      const intervals = stamps.slice(1).map((t, i) => t - (stamps[i] ?? t));
      const typical = intervals.length >= 4 ? median(intervals) : null;
      resolve(typical && typical > 0 ? 1000 / typical : null);
    };
    const timer = setTimeout(finish, 500);
    const tick = (t: number) => {
      stamps.push(t);
      if (stamps.length >= 20) finish();
      else frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  });
}

export type PlatformFacts = {
  os: OperatingSystem;
  browser: Browser;
  browserVersion: string | null;
  mobile: boolean | null;
};

/**
 * Operating system family and browser, from User-Agent Client Hints where the browser has them
 * (`navigator.userAgentData`), else from the user-agent string. An iPad asking for desktop sites
 * reports "Macintosh" but has touch points: it counts as iOS.
 */
export function classifyPlatform(
  userAgent: string,
  userAgentData?: UserAgentDataLike | null,
  maxTouchPoints = 0,
): PlatformFacts {
  const ua = typeof userAgent === 'string' ? userAgent : '';
  const ipadAsMac = /Macintosh/.test(ua) && maxTouchPoints > 1;
  const os = osFromHints(userAgentData?.platform) ?? (ipadAsMac ? 'ios' : osFromUserAgent(ua));
  const fromHints = browserFromBrands(userAgentData?.brands);
  const { browser, browserVersion } = fromHints ?? browserFromUserAgent(ua);
  const mobile =
    typeof userAgentData?.mobile === 'boolean'
      ? userAgentData.mobile
      : ipadAsMac || /Mobi|Android|iPhone|iPad|iPod/.test(ua);
  return { os, browser, browserVersion, mobile };
}

function osFromHints(platform: string | undefined): OperatingSystem | null {
  switch ((platform ?? '').toLowerCase().replace(/\s+/g, '')) {
    case 'android':
      return 'android';
    case 'ios':
      return 'ios';
    case 'windows':
      return 'windows';
    case 'macos':
      return 'macos';
    case 'linux':
      return 'linux';
    case 'chromeos':
    case 'chromiumos':
      return 'chromeos';
    default:
      return null; // "Unknown" or missing: fall back to the user agent
  }
}

function osFromUserAgent(ua: string): OperatingSystem {
  if (/Android/i.test(ua)) return 'android';
  if (/iPhone|iPad|iPod/.test(ua)) return 'ios';
  if (/Windows/.test(ua)) return 'windows';
  if (/CrOS/.test(ua)) return 'chromeos';
  if (/Macintosh|Mac OS X/.test(ua)) return 'macos';
  if (/Linux|X11/.test(ua)) return 'linux';
  return 'other';
}

/** Most specific brand first: Edge, Opera and Samsung Internet also list "Chromium". */
const BRAND_ORDER: ReadonlyArray<[RegExp, Browser]> = [
  [/^Microsoft Edge$/i, 'edge'],
  [/^Opera/i, 'opera'],
  [/^Samsung Internet$/i, 'samsung'],
  [/^Google Chrome$/i, 'chrome'],
  [/^Chromium$/i, 'chrome'],
];

function browserFromBrands(
  brands: UserAgentDataLike['brands'],
): { browser: Browser; browserVersion: string | null } | null {
  if (!Array.isArray(brands)) return null;
  for (const [pattern, browser] of BRAND_ORDER) {
    const hit = brands.find((b) => typeof b.brand === 'string' && pattern.test(b.brand));
    if (hit) return { browser, browserVersion: majorVersion(hit.version) };
  }
  return null;
}

/** Order matters: every Chromium browser says "Chrome", and Chrome says "Safari". */
const UA_ORDER: ReadonlyArray<[RegExp, Browser]> = [
  [/\bEdg(?:e|A|iOS)?\/(\d+)/, 'edge'],
  [/\b(?:OPR|OPT|Opera)\/(\d+)/, 'opera'],
  [/\bSamsungBrowser\/(\d+)/, 'samsung'],
  [/\b(?:Firefox|FxiOS)\/(\d+)/, 'firefox'],
  [/\b(?:CriOS|Chrome|Chromium)\/(\d+)/, 'chrome'],
  [/\bVersion\/(\d+)(?:[.\d]*)? (?:Mobile\/\S+ )?Safari\//, 'safari'],
];

function browserFromUserAgent(ua: string): { browser: Browser; browserVersion: string | null } {
  for (const [pattern, browser] of UA_ORDER) {
    const match = pattern.exec(ua);
    if (match) return { browser, browserVersion: majorVersion(match[1]) };
  }
  if (/Safari\//.test(ua) && /AppleWebKit\//.test(ua)) return { browser: 'safari', browserVersion: null };
  return { browser: 'other', browserVersion: null };
}

function majorVersion(version: string | undefined): string | null {
  const major = /^\d{1,8}/.exec(version ?? '');
  return major ? major[0] : null;
}

// ---------------------------------------------------------------------------------------------
// helpers

/** A finite number clamped to [min, max] (rounded to 3 decimals), or null. */
function num(x: unknown, min: number, max: number): number | null {
  if (typeof x !== 'number' || !Number.isFinite(x)) return null;
  return Math.round(Math.min(max, Math.max(min, x)) * 1000) / 1000;
}

/** A finite number rounded and clamped to [min, max], or null. */
function int(x: unknown, min: number, max: number): number | null {
  if (typeof x !== 'number' || !Number.isFinite(x)) return null;
  return Math.min(max, Math.max(min, Math.round(x)));
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): T | null {
  return allowed.find((a) => a === value) ?? null;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function nonce(): string {
  return `${Date.now().toString(36)}${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** `promise`, or a rejection after `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('Timed out.')), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The measurement was aborted.', 'AbortError');
}

/** `promise`, or a rejection with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
