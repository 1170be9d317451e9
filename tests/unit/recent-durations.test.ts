import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecentDurations } from '@/server/system/recent-durations';

describe('RecentDurations', () => {
  it('summarises the window: count, median, 99th percentile, longest and the slow ones', () => {
    const d = new RecentDurations(60_000);
    for (let i = 1; i <= 100; i++) d.record(i, 1_000 + i);
    const summary = d.summary(2_000, 90);
    expect(summary).toMatchObject({ count: 100, p50Ms: 51, p99Ms: 100, maxMs: 100, slow: 10, slowMs: 90 });
    // the slow ones with when they ended, oldest first
    expect(summary?.slowest).toEqual(Array.from({ length: 10 }, (_, i) => ({ endedAt: 1_091 + i, ms: 91 + i })));
  });

  it('forgets what is older than the window, and says null when nothing is left', () => {
    const d = new RecentDurations(1_000);
    d.record(80, 0);
    d.record(5, 900);
    expect(d.summary(1_500)).toMatchObject({ count: 1, maxMs: 5, slow: 0 });
    expect(d.summary(2_000)).toBeNull();
  });

  it('names at most the 20 slowest, in the order they ended', () => {
    const d = new RecentDurations(60_000);
    for (let i = 0; i < 30; i++) d.record(100 + ((i * 7) % 30), i);
    const slowest = d.summary(30)!.slowest;
    expect(slowest).toHaveLength(20);
    expect(Math.min(...slowest.map((s) => s.ms))).toBe(110);
    expect(slowest.map((s) => s.endedAt)).toEqual([...slowest.map((s) => s.endedAt)].sort((a, b) => a - b));
  });

  it('keeps at most `cap` durations, the newest', () => {
    const d = new RecentDurations(60_000, 3);
    for (const ms of [100, 1, 2, 3]) d.record(ms, 10);
    expect(d.summary(10)).toMatchObject({ count: 3, maxMs: 3 });
  });

  it('agrees with sorting the window by hand, however the durations and times come', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 0, max: 10_000 })), { minLength: 1, maxLength: 3_000 }), (entries) => {
        const d = new RecentDurations(2_000);
        const sorted = [...entries].sort((a, b) => a[1] - b[1]);
        let now = 0;
        for (const [ms, at] of sorted) d.record(ms, (now = at));
        const kept = sorted.filter(([, at]) => at >= now - 2_000).map(([ms]) => ms).sort((a, b) => a - b);
        const summary = d.summary(now);
        expect(summary?.count).toBe(kept.length);
        expect(summary?.maxMs).toBe(kept.at(-1));
        expect(summary?.p50Ms).toBe(kept[Math.floor(kept.length / 2)]);
        expect(summary?.slow).toBe(kept.filter((ms) => ms > 50).length);
      }),
    );
  });
});
