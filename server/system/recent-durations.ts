/**
 * What a run of durations came to: how many, their median, 99th percentile and longest, how many were slow, and
 * when the slowest of those ended (epoch ms, oldest first; at most SLOWEST_KEPT), to set beside other events.
 */
export type DurationSummary = {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  slow: number;
  slowMs: number;
  slowest: { endedAt: number; ms: number }[];
};

const SLOWEST_KEPT = 20;

/**
 * Durations of something that happens often (a sync of the write-ahead log), kept for a trailing window so that
 * an operator or a bench can ask what they were lately. Old ones are dropped as new ones come; at most `cap` are
 * kept (the oldest go first).
 */
export class RecentDurations {
  private times: number[] = [];
  private durations: number[] = [];
  private head = 0;

  constructor(
    private readonly windowMs: number,
    private readonly cap = 100_000,
  ) {}

  record(ms: number, now = Date.now()): void {
    this.times.push(now);
    this.durations.push(ms);
    this.drop(now);
  }

  /** The durations recorded in the window ending `now`; null when there were none. */
  summary(now = Date.now(), slowMs = 50): DurationSummary | null {
    this.drop(now);
    const window = this.durations.slice(this.head).sort((a, b) => a - b);
    if (window.length === 0) return null;
    const at = (q: number) => round(window[Math.min(window.length - 1, Math.floor(q * window.length))]!);
    const slow: { endedAt: number; ms: number }[] = [];
    for (let i = this.head; i < this.durations.length; i++) if (this.durations[i]! > slowMs) slow.push({ endedAt: this.times[i]!, ms: round(this.durations[i]!) });
    const slowest = slow.sort((a, b) => b.ms - a.ms).slice(0, SLOWEST_KEPT).sort((a, b) => a.endedAt - b.endedAt);
    return { count: window.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: round(window.at(-1)!), slow: slow.length, slowMs, slowest };
  }

  private drop(now: number): void {
    const from = now - this.windowMs;
    while (this.head < this.times.length && (this.times[this.head]! < from || this.times.length - this.head > this.cap)) this.head++;
    // compact once the dropped part is most of the arrays
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.durations = this.durations.slice(this.head);
      this.head = 0;
    }
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
