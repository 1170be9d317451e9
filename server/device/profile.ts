/**
 * The device Profile: what a device measured about itself (worker benchmarks plus `navigator`
 * facts), as sent to `device.register`. The coordinator classifies and values it with
 * `server/valuation`.
 *
 * Shared by browser and server code, so this file imports zod only.
 *
 * Every number is bounded and every string length-limited. A field is `null` when the API that
 * would supply it is missing on the device (Safari has no `navigator.deviceMemory`, a headless
 * agent has no screen, an insecure context has no storage API...) or when its measurement failed.
 */
import { z } from 'zod';

/** Upper bound of `GET /api/ping?bytes=N` and of any measured transfer, in bytes (4 MiB). */
export const MAX_PING_BYTES = 4 * 1024 * 1024;

export const PROFILE_VERSION = 1;

/** A bounded, finite number that may be missing. */
const measure = (min: number, max: number) => z.number().min(min).max(max).nullable();
/** A bounded integer that may be missing. */
const count = (min: number, max: number) => z.number().int().min(min).max(max).nullable();

export const OPERATING_SYSTEMS = ['android', 'ios', 'windows', 'macos', 'linux', 'chromeos', 'other'] as const;
export const BROWSERS = ['chrome', 'edge', 'firefox', 'safari', 'samsung', 'opera', 'other'] as const;
/** `navigator.connection.effectiveType` values (Network Information API). */
export const EFFECTIVE_CONNECTION_TYPES = ['slow-2g', '2g', '3g', '4g'] as const;
/** `navigator.connection.type` values (Network Information API). */
export const CONNECTION_TYPES = [
  'bluetooth',
  'cellular',
  'ethernet',
  'mixed',
  'none',
  'other',
  'unknown',
  'wifi',
  'wimax',
] as const;
/** How the storage benchmark reached the Origin Private File System. */
export const STORAGE_METHODS = ['sync-access-handle', 'writable'] as const;

export type OperatingSystem = (typeof OPERATING_SYSTEMS)[number];
export type Browser = (typeof BROWSERS)[number];
export type EffectiveConnectionType = (typeof EFFECTIVE_CONNECTION_TYPES)[number];
export type ConnectionType = (typeof CONNECTION_TYPES)[number];
export type StorageMethod = (typeof STORAGE_METHODS)[number];

export const computeProfileSchema = z.object({
  /** logical processors, `navigator.hardwareConcurrency` */
  cores: count(1, 1024),
  /** millions of JS integer operations per second, one worker thread */
  mips: measure(0, 1_000_000),
  /** millions of floating-point operations per second, one worker thread */
  mflops: measure(0, 1_000_000),
  /** wall time the compute benchmark took */
  durationMs: measure(0, 60_000),
});

export const memoryProfileSchema = z.object({
  /** `navigator.deviceMemory` (GB, coarse: 0.25 … 8 in Chromium), null where absent */
  deviceMemoryGb: measure(0, 4096),
  /** average time of one random-ish typed-array read over the tested buffer */
  readNs: measure(0, 1_000_000),
  /** average time of one random-ish typed-array write over the tested buffer */
  writeNs: measure(0, 1_000_000),
  /** size of the buffer the benchmark allocated and exercised */
  testedMb: measure(0, 65_536),
});

export const storageProfileSchema = z.object({
  /** `navigator.storage.estimate()` quota, MB (1 MB = 2^20 bytes) */
  quotaMb: measure(0, 1e9),
  /** `navigator.storage.estimate()` usage, MB */
  usageMb: measure(0, 1e9),
  /** `navigator.storage.persisted()` */
  persisted: z.boolean().nullable(),
  /** time to read the test blob back from the Origin Private File System */
  readMs: measure(0, 600_000),
  /** time to write (and flush) the test blob to the Origin Private File System */
  writeMs: measure(0, 600_000),
  /** size of the test blob */
  testedBytes: count(0, 64 * 1024 * 1024),
  method: z.enum(STORAGE_METHODS).nullable(),
});

export const peripheralProfileSchema = z.object({
  /** `screen.width`, CSS pixels */
  screenWidth: count(0, 65_536),
  /** `screen.height`, CSS pixels */
  screenHeight: count(0, 65_536),
  /** `devicePixelRatio` (physical pixels per CSS pixel) */
  pixelRatio: measure(0, 16),
  /** `screen.colorDepth`, bits per pixel */
  colorDepth: count(0, 64),
  /** display refresh rate estimated from animation frames */
  refreshHz: measure(0, 1000),
  /** `enumerateDevices()` kinds, counted without asking permission; null where unavailable */
  cameras: count(0, 64),
  microphones: count(0, 64),
  speakers: count(0, 64),
  /** `navigator.maxTouchPoints` */
  maxTouchPoints: count(0, 256),
});

export const networkProfileSchema = z.object({
  /** `navigator.connection.effectiveType` */
  effectiveType: z.enum(EFFECTIVE_CONNECTION_TYPES).nullable(),
  /** `navigator.connection.downlink`, Mbit/s as reported by the browser */
  downlinkMbps: measure(0, 100_000),
  /** `navigator.connection.rtt`, ms as reported by the browser */
  rttMs: measure(0, 60_000),
  /** `navigator.connection.type` */
  type: z.enum(CONNECTION_TYPES).nullable(),
  /** `navigator.connection.saveData` */
  saveData: z.boolean().nullable(),
  /** median round trip of small requests to the coordinator's `/api/ping` */
  measuredRttMs: measure(0, 60_000),
  /** throughput of one download from the coordinator's `/api/ping?bytes=N`, Mbit/s */
  measuredThroughputMbps: measure(0, 100_000),
  /** bytes of that download */
  measuredBytes: count(0, MAX_PING_BYTES),
});

export const batterySchema = z.object({
  /** 0 (empty) … 1 (full) */
  level: z.number().min(0).max(1),
  charging: z.boolean(),
});

export const platformProfileSchema = z.object({
  os: z.enum(OPERATING_SYSTEMS),
  browser: z.enum(BROWSERS),
  /** major version, e.g. "126" */
  browserVersion: z.string().trim().max(32).nullable(),
  /** `navigator.userAgentData.mobile`, or guessed from the user agent */
  mobile: z.boolean().nullable(),
  /** `navigator.getBattery()`, null where absent */
  battery: batterySchema.nullable(),
});

export const deviceProfileSchema = z.object({
  version: z.literal(PROFILE_VERSION),
  /** when the measurement finished, ISO 8601 */
  measuredAt: z.iso.datetime({ offset: true }),
  compute: computeProfileSchema,
  memory: memoryProfileSchema,
  storage: storageProfileSchema,
  peripherals: peripheralProfileSchema,
  network: networkProfileSchema,
  platform: platformProfileSchema,
});

export type DeviceProfile = z.infer<typeof deviceProfileSchema>;
export type ComputeProfile = z.infer<typeof computeProfileSchema>;
export type MemoryProfile = z.infer<typeof memoryProfileSchema>;
export type StorageProfile = z.infer<typeof storageProfileSchema>;
export type PeripheralProfile = z.infer<typeof peripheralProfileSchema>;
export type NetworkProfile = z.infer<typeof networkProfileSchema>;
export type PlatformProfile = z.infer<typeof platformProfileSchema>;
