import { deviceProfileSchema, type DeviceProfile } from '@/server/device/profile';

/** A mid-range phone as the browser would measure it. */
export const phoneProfile: DeviceProfile = deviceProfileSchema.parse({
  version: 1,
  measuredAt: '2026-11-22T10:00:00.000Z',
  compute: { cores: 8, mips: 1_500, mflops: 800, durationMs: 420 },
  memory: { deviceMemoryGb: 4, readNs: 3.2, writeNs: 4.1, testedMb: 32 },
  storage: { quotaMb: 20_000, usageMb: 120, persisted: false, readMs: 2.5, writeMs: 6.0, testedBytes: 1_048_576, method: 'sync-access-handle' },
  peripherals: { screenWidth: 412, screenHeight: 915, pixelRatio: 2.625, colorDepth: 24, refreshHz: 60, cameras: 2, microphones: 1, speakers: 1, maxTouchPoints: 5 },
  network: { effectiveType: '4g', downlinkMbps: 10, rttMs: 50, type: 'wifi', saveData: false, measuredRttMs: 35, measuredThroughputMbps: 80, measuredBytes: 1_048_576 },
  platform: { os: 'android', browser: 'chrome', browserVersion: '156', mobile: true, battery: { level: 0.8, charging: true } },
});
