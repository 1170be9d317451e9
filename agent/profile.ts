/** The agent's device profile, measured in Node: the browser's benchmarks (workers/benchmark.ts), RTT and throughput against /api/ping, free disk. */
import { statfsSync } from 'node:fs';
import { availableParallelism, platform, totalmem } from 'node:os';
import { deviceProfileSchema, PROFILE_VERSION, type DeviceProfile } from '../server/device/profile';
import { measureCompute, measureMemory } from '../workers/benchmark';

const clamp = (x: number | null | undefined, lo: number, hi: number) => (typeof x === 'number' && Number.isFinite(x) ? Math.round(Math.min(hi, Math.max(lo, x)) * 1000) / 1000 : null);

async function measureNetwork(origin: string) {
  const ping = async (query: string) => {
    const t0 = performance.now();
    const res = await fetch(new URL(`/api/ping?${query}`, origin), { cache: 'no-store', signal: AbortSignal.timeout(10_000) });
    const bytes = (await res.arrayBuffer()).byteLength;
    if (!res.ok) throw new Error(`ping ${res.status}`);
    return { ms: performance.now() - t0, bytes };
  };
  try {
    await ping('warm=1');
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) samples.push((await ping(`n=${i}${Date.now()}`)).ms);
    samples.sort((a, b) => a - b);
    const rtt = samples[2]!;
    const download = await ping(`bytes=${1024 * 1024}&n=${Date.now()}`);
    const transferMs = Math.max(download.ms - rtt, download.ms / 2, 0.1);
    return { rtt, mbps: (download.bytes * 8) / (transferMs * 1000), bytes: download.bytes };
  } catch {
    return { rtt: null, mbps: null, bytes: null };
  }
}

/** `diskDir`: where free space is read (the storage folder when the agent lends storage). */
export async function measureProfile(origin: string, diskDir: string): Promise<DeviceProfile> {
  const compute = measureCompute();
  const memory = measureMemory({ bufferMb: 32 });
  const net = await measureNetwork(origin);
  let freeMb: number | null = null;
  try {
    const s = statfsSync(diskDir);
    freeMb = (s.bavail * s.bsize) / 2 ** 20;
  } catch {
    // statfs is not everywhere
  }
  const os = ({ linux: 'linux', darwin: 'macos', win32: 'windows', android: 'android' } as Record<string, string>)[platform()] ?? 'other';
  return deviceProfileSchema.parse({
    version: PROFILE_VERSION,
    measuredAt: new Date().toISOString(),
    compute: { cores: Math.min(1024, availableParallelism()), mips: clamp(compute.mips, 0, 1e6), mflops: clamp(compute.mflops, 0, 1e6), durationMs: clamp(compute.durationMs, 0, 60_000) },
    memory: { deviceMemoryGb: clamp(totalmem() / 2 ** 30, 0, 4096), readNs: clamp(memory.readNs, 0, 1e6), writeNs: clamp(memory.writeNs, 0, 1e6), testedMb: clamp(memory.testedMb, 0, 65_536) },
    storage: { quotaMb: clamp(freeMb, 0, 1e9), usageMb: null, persisted: true, readMs: null, writeMs: null, testedBytes: null, method: null },
    peripherals: { screenWidth: null, screenHeight: null, pixelRatio: null, colorDepth: null, refreshHz: null, cameras: null, microphones: null, speakers: null, maxTouchPoints: 0 },
    network: {
      effectiveType: null,
      downlinkMbps: null,
      rttMs: null,
      type: null,
      saveData: null,
      measuredRttMs: clamp(net.rtt, 0, 60_000),
      measuredThroughputMbps: clamp(net.mbps, 0, 100_000),
      measuredBytes: net.bytes === null ? null : Math.min(net.bytes, 4 * 1024 * 1024),
    },
    platform: { os, browser: 'other', browserVersion: null, mobile: false, battery: null },
  });
}
