import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GET as ping } from '@/app/api/ping/route';
import { classifyPlatform } from '@/app/device/measure-profile';
import { MAX_PING_BYTES, deviceProfileSchema, type DeviceProfile } from '@/server/device/profile';
import {
  benchmarkSink,
  floatKernel,
  integerKernel,
  measureCompute,
  measureMemory,
  measureStorage,
  randomishBytes,
  type BenchDirectory,
  type BenchFileHandle,
  type BenchSyncAccessHandle,
} from '@/workers/benchmark';

const positiveFinite = (x: number | null) => {
  expect(typeof x).toBe('number');
  expect(Number.isFinite(x)).toBe(true);
  expect(x).toBeGreaterThan(0);
};

describe('compute benchmark', () => {
  it('measures positive, finite MIPS and MFLOPS', () => {
    const r = measureCompute({ iterations: 200_000, rounds: 3 });
    positiveFinite(r.mips);
    positiveFinite(r.mflops);
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(r.checksum)).toBe(true);
  });

  it('runs with the default (short) budget', () => {
    const t0 = performance.now();
    const r = measureCompute();
    const elapsed = performance.now() - t0;
    positiveFinite(r.mips);
    positiveFinite(r.mflops);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('kernels do deterministic work that depends on the loop count', () => {
    expect(integerKernel(100_000, 7)).toBe(integerKernel(100_000, 7));
    expect(integerKernel(100_000, 7)).not.toBe(integerKernel(100_001, 7));
    expect(floatKernel(100_000, 7)).toBe(floatKernel(100_000, 7));
    expect(floatKernel(100_000, 7)).not.toBe(floatKernel(100_001, 7));
    // the float chains converge without overflow or denormals
    const f = floatKernel(10_000_000, 3);
    expect(Number.isFinite(f)).toBe(true);
    expect(f).toBeGreaterThan(0.9);
    expect(f).toBeLessThan(4.1);
    expect(Number.isFinite(benchmarkSink())).toBe(true);
  });
});

describe('memory benchmark', () => {
  it('measures positive, finite read and write times per access', () => {
    const r = measureMemory({ bufferMb: 8, accesses: 300_000 });
    positiveFinite(r.readNs);
    positiveFinite(r.writeNs);
    expect(r.testedMb).toBe(8);
    expect(r.readNs).toBeLessThan(1e6);
  });

  it('rounds the buffer down to a power of two', () => {
    expect(measureMemory({ bufferMb: 3, accesses: 1000 }).testedMb).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------
// storage, against an in-memory Origin Private File System

function memoryDirectory(opts: { sync: boolean; corrupt?: boolean; files?: string[] }) {
  const files = new Map<string, Uint8Array<ArrayBuffer>>((opts.files ?? []).map((n) => [n, new Uint8Array(4)]));
  let openHandles = 0;
  const dir: BenchDirectory = {
    async getFileHandle(name, { create }) {
      if (!files.has(name)) {
        if (!create) throw new Error('NotFoundError');
        files.set(name, new Uint8Array(0));
      }
      const handle: BenchFileHandle = {
        async getFile() {
          const data = files.get(name) ?? new Uint8Array(0);
          return { arrayBuffer: async () => data.slice().buffer };
        },
        createWritable: async () => {
          const chunks: Uint8Array[] = [];
          return {
            async write(data) {
              chunks.push(data.slice());
            },
            async close() {
              const total = chunks.reduce((n, c) => n + c.length, 0);
              const out = new Uint8Array(total);
              let at = 0;
              for (const c of chunks) {
                out.set(c, at);
                at += c.length;
              }
              files.set(name, out);
            },
          };
        },
      };
      if (opts.sync) {
        handle.createSyncAccessHandle = async (): Promise<BenchSyncAccessHandle> => {
          openHandles++;
          return {
            write(buffer, { at }) {
              const current = files.get(name) ?? new Uint8Array(0);
              const next = new Uint8Array(Math.max(current.length, at + buffer.length));
              next.set(current);
              next.set(buffer, at);
              files.set(name, next);
              return buffer.length;
            },
            read(buffer, { at }) {
              const current = files.get(name) ?? new Uint8Array(0);
              const part = current.subarray(at, at + buffer.length);
              buffer.set(part);
              if (opts.corrupt) buffer[0] = (buffer[0] ?? 0) ^ 0xff;
              return part.length;
            },
            flush() {},
            close() {
              openHandles--;
            },
          };
        };
      }
      return handle;
    },
    async removeEntry(name) {
      if (!files.delete(name)) throw new Error('NotFoundError');
    },
    async *keys() {
      yield* [...files.keys()];
    },
  };
  return { dir, files, openHandles: () => openHandles };
}

describe('storage benchmark', () => {
  it('gives null fields where there is no Origin Private File System (Node)', async () => {
    const r = await measureStorage();
    expect(r).toMatchObject({ readMs: null, writeMs: null, testedBytes: null, method: null });
    expect(r.error).toMatch(/not available/);
  });

  it('times a 1 MiB write and read through a sync access handle, then removes the file', async () => {
    const fs = memoryDirectory({ sync: true });
    const r = await measureStorage({}, async () => fs.dir);
    expect(r.method).toBe('sync-access-handle');
    expect(r.testedBytes).toBe(1024 * 1024);
    expect(r.readMs).toBeGreaterThanOrEqual(0);
    expect(r.writeMs).toBeGreaterThanOrEqual(0);
    expect(r.error).toBeNull();
    expect(fs.files.size).toBe(0);
    expect(fs.openHandles()).toBe(0);
  });

  it('falls back to a writable stream', async () => {
    const fs = memoryDirectory({ sync: false });
    const r = await measureStorage({ bytes: 64 * 1024 }, async () => fs.dir);
    expect(r.method).toBe('writable');
    expect(r.testedBytes).toBe(64 * 1024);
    expect(Number.isFinite(r.readMs)).toBe(true);
    expect(fs.files.size).toBe(0);
  });

  it('reports a failure, and still cleans up, when the bytes read back differ', async () => {
    const fs = memoryDirectory({ sync: true, corrupt: true });
    const r = await measureStorage({ bytes: 4096 }, async () => fs.dir);
    expect(r.readMs).toBeNull();
    expect(r.error).toMatch(/differs/);
    expect(fs.files.size).toBe(0);
    expect(fs.openHandles()).toBe(0);
  });

  it('removes stale test files left by an interrupted run, and nothing else', async () => {
    const stale = `swapmesh-benchmark-${Date.now() - 3_600_000}-1.bin`;
    const fresh = `swapmesh-benchmark-${Date.now()}-2.bin`;
    const fs = memoryDirectory({ sync: true, files: [stale, fresh, 'user-data.bin'] });
    await measureStorage({ bytes: 1024 }, async () => fs.dir);
    expect([...fs.files.keys()].sort()).toEqual([fresh, 'user-data.bin'].sort());
  });

  it('reports a directory that cannot be opened', async () => {
    const r = await measureStorage({}, () => Promise.reject(new Error('SecurityError')));
    expect(r.method).toBeNull();
    expect(r.error).toMatch(/SecurityError/);
  });

  it('writes incompressible bytes', () => {
    const bytes = randomishBytes(256 * 1024 + 3, 42);
    expect(bytes.length).toBe(256 * 1024 + 3);
    expect(deflateSync(bytes).length).toBeGreaterThan(bytes.length * 0.99);
  });
});

// ---------------------------------------------------------------------------------------------

describe('GET /api/ping', () => {
  it('answers a tiny uncached JSON without parameters', async () => {
    const res = ping(new Request('http://localhost/api/ping'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const body = (await res.json()) as { ok: boolean; t: number };
    expect(body.ok).toBe(true);
    expect(Math.abs(body.t - Date.now())).toBeLessThan(60_000);
  });

  it('answers exactly N incompressible bytes, uncached', async () => {
    const res = ping(new Request('http://localhost/api/ping?bytes=300000'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(300_000);
    expect(deflateSync(bytes).length).toBeGreaterThan(bytes.length * 0.99);
    expect((await ping(new Request('http://localhost/api/ping?bytes=0')).arrayBuffer()).byteLength).toBe(0);
    const max = await ping(new Request(`http://localhost/api/ping?bytes=${MAX_PING_BYTES}`)).arrayBuffer();
    expect(max.byteLength).toBe(MAX_PING_BYTES);
  });

  it('refuses sizes beyond 4 MiB and non-integers', () => {
    for (const q of [String(MAX_PING_BYTES + 1), '-1', '1.5', 'abc', '1e6', '', '99999999999']) {
      expect(ping(new Request(`http://localhost/api/ping?bytes=${encodeURIComponent(q)}`)).status).toBe(400);
    }
  });
});

// ---------------------------------------------------------------------------------------------

function realisticProfile(): DeviceProfile {
  return {
    version: 1,
    measuredAt: new Date('2025-03-04T05:06:07.089Z').toISOString(),
    compute: { cores: 8, mips: 2873.415, mflops: 1402.77, durationMs: 412.5 },
    memory: { deviceMemoryGb: 8, readNs: 12.94, writeNs: 3.1, testedMb: 32 },
    storage: {
      quotaMb: 61_440.5,
      usageMb: 12.25,
      persisted: false,
      readMs: 0.9,
      writeMs: 3.4,
      testedBytes: 1_048_576,
      method: 'sync-access-handle',
    },
    peripherals: {
      screenWidth: 412,
      screenHeight: 915,
      pixelRatio: 2.625,
      colorDepth: 24,
      refreshHz: 119.8,
      cameras: 1,
      microphones: 1,
      speakers: 1,
      maxTouchPoints: 5,
    },
    network: {
      effectiveType: '4g',
      downlinkMbps: 10,
      rttMs: 50,
      type: 'wifi',
      saveData: false,
      measuredRttMs: 38.5,
      measuredThroughputMbps: 87.3,
      measuredBytes: 1_048_576,
    },
    platform: { os: 'android', browser: 'chrome', browserVersion: '126', mobile: true, battery: { level: 0.64, charging: true } },
  };
}

describe('deviceProfileSchema', () => {
  it('accepts a realistic phone profile', () => {
    const p = realisticProfile();
    expect(deviceProfileSchema.parse(p)).toEqual(p);
  });

  it('accepts a profile where every optional API was missing', () => {
    const p = realisticProfile();
    const nulls = <T extends object>(o: T) => Object.fromEntries(Object.keys(o).map((k) => [k, null])) as { [K in keyof T]: null };
    const bare = {
      ...p,
      compute: nulls(p.compute),
      memory: nulls(p.memory),
      storage: nulls(p.storage),
      peripherals: nulls(p.peripherals),
      network: nulls(p.network),
      platform: { os: 'other', browser: 'other', browserVersion: null, mobile: null, battery: null },
    };
    expect(deviceProfileSchema.safeParse(bare).success).toBe(true);
  });

  it.each([
    ['zero cores', (p: DeviceProfile) => (p.compute.cores = 0)],
    ['fractional cores', (p: DeviceProfile) => (p.compute.cores = 2.5)],
    ['negative MIPS', (p: DeviceProfile) => (p.compute.mips = -1)],
    ['infinite MFLOPS', (p: DeviceProfile) => (p.compute.mflops = Number.POSITIVE_INFINITY)],
    ['NaN read time', (p: DeviceProfile) => (p.memory.readNs = Number.NaN)],
    ['absurd device memory', (p: DeviceProfile) => (p.memory.deviceMemoryGb = 1e9)],
    ['absurd quota', (p: DeviceProfile) => (p.storage.quotaMb = 1e12)],
    ['pixel ratio 100', (p: DeviceProfile) => (p.peripherals.pixelRatio = 100)],
    ['negative cameras', (p: DeviceProfile) => (p.peripherals.cameras = -1)],
    ['battery above 100 %', (p: DeviceProfile) => (p.platform.battery = { level: 1.5, charging: false })],
    ['measured bytes above 4 MiB', (p: DeviceProfile) => (p.network.measuredBytes = MAX_PING_BYTES + 1)],
    ['RTT of a day', (p: DeviceProfile) => (p.network.measuredRttMs = 86_400_000)],
  ])('rejects %s', (_, spoil) => {
    const p = realisticProfile();
    spoil(p);
    expect(deviceProfileSchema.safeParse(p).success).toBe(false);
  });

  it.each([
    ['an unknown effective type', { network: { ...realisticProfile().network, effectiveType: '5g' } }],
    ['an unknown OS', { platform: { ...realisticProfile().platform, os: 'beos' } }],
    ['an over-long browser version', { platform: { ...realisticProfile().platform, browserVersion: '1'.repeat(33) } }],
    ['a date that is not ISO 8601', { measuredAt: 'yesterday' }],
    ['another profile version', { version: 2 }],
    ['a missing section', { compute: undefined }],
  ])('rejects %s', (_, patch) => {
    expect(deviceProfileSchema.safeParse({ ...realisticProfile(), ...patch }).success).toBe(false);
  });
});

describe('classifyPlatform', () => {
  it.each([
    [
      'Android Chrome',
      'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
      0,
      { os: 'android', browser: 'chrome', browserVersion: '126', mobile: true },
    ],
    [
      'iPhone Safari',
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      5,
      { os: 'ios', browser: 'safari', browserVersion: '17', mobile: true },
    ],
    [
      'iPad asking for desktop sites',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      5,
      { os: 'ios', browser: 'safari', mobile: true },
    ],
    [
      'Mac Safari',
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      0,
      { os: 'macos', browser: 'safari', mobile: false },
    ],
    [
      'Windows Edge',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
      0,
      { os: 'windows', browser: 'edge', browserVersion: '126', mobile: false },
    ],
    [
      'Linux Firefox',
      'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
      0,
      { os: 'linux', browser: 'firefox', browserVersion: '128' },
    ],
    [
      'Samsung Internet',
      'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36',
      5,
      { os: 'android', browser: 'samsung', browserVersion: '25' },
    ],
    ['ChromeOS', 'Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36', 0, { os: 'chromeos', browser: 'chrome' }],
    ['something else', 'curl/8.0', 0, { os: 'other', browser: 'other', browserVersion: null }],
  ])('reads %s from the user agent', (_, ua, touch, expected) => {
    expect(classifyPlatform(ua, undefined, touch)).toMatchObject(expected);
  });

  it('prefers client hints, most specific brand first', () => {
    expect(
      classifyPlatform('Mozilla/5.0 (X11; Linux x86_64)', {
        platform: 'Windows',
        mobile: false,
        brands: [
          { brand: 'Not/A)Brand', version: '8' },
          { brand: 'Chromium', version: '126' },
          { brand: 'Microsoft Edge', version: '126' },
        ],
      }),
    ).toEqual({ os: 'windows', browser: 'edge', browserVersion: '126', mobile: false });
    // "Unknown" platform and no known brand: fall back to the user agent
    expect(
      classifyPlatform('Mozilla/5.0 (Linux; Android 10; K) Chrome/120.0.0.0 Mobile Safari/537.36', {
        platform: 'Unknown',
        brands: [{ brand: 'Not A;Brand', version: '99' }],
      }),
    ).toMatchObject({ os: 'android', browser: 'chrome', browserVersion: '120' });
  });

  it('the platform facts fit the schema', () => {
    const facts = classifyPlatform('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 Mobile/15E148 Safari/604.1');
    const p = realisticProfile();
    expect(deviceProfileSchema.safeParse({ ...p, platform: { ...facts, battery: null } }).success).toBe(true);
  });
});
