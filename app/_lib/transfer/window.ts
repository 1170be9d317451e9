/**
 * The sender's window on a data channel: how many bytes may wait in the channel's send buffer
 * (`bufferedAmount`) at once, and when to refill it.
 *
 * A data channel only moves as fast as the bytes kept in flight allow: at a 5 ms Wi-Fi round trip,
 * 64 KiB in flight (simple-peer's stream `write()`, its MAX_BUFFERED_AMOUNT) caps a transfer at
 * 64 KiB / 5 ms ≈ 13 MB/s. So the sender queues up to `highWater` bytes with `send()` and, once
 * full, waits for the channel's `bufferedamountlow` event, which fires when the buffer falls to
 * `lowWater` (the channel's `bufferedAmountLowThreshold`) — early enough that the buffer never
 * runs dry while the sender refills it. Chromium closes a channel whose buffer passes 16 MiB, so
 * the window stays well below that.
 *
 * The rules are pure functions of the buffered amount; `ChannelWindow` applies them to a channel.
 */

/** Chromium fails `send()` ("send queue is full") past this many buffered bytes. */
export const CHANNEL_BUFFER_LIMIT = 16 * 1024 * 1024;
/** The smallest and largest windows the app uses (1–4 MiB; below the limit with room for a frame). */
export const MIN_HIGH_WATER = 1024 * 1024;
export const MAX_HIGH_WATER = 4 * 1024 * 1024;

export type WindowConfig = {
  /** stop queueing once this many bytes are buffered */
  highWater: number;
  /** `bufferedamountlow` fires (and the sender refills) when the buffer falls to this */
  lowWater: number;
};

/** A window of `highWater` bytes (clamped to 1–4 MiB) refilled at a quarter of it. */
export function windowConfig(highWater: number = MAX_HIGH_WATER, lowFraction = 0.25): WindowConfig {
  const high = Math.round(Math.min(MAX_HIGH_WATER, Math.max(MIN_HIGH_WATER, Number.isFinite(highWater) ? highWater : MAX_HIGH_WATER)));
  const fraction = Number.isFinite(lowFraction) ? Math.min(0.75, Math.max(0, lowFraction)) : 0.25;
  return { highWater: high, lowWater: Math.floor(high * fraction) };
}

/** The app's window: 4 MiB in flight, refilled at 1 MiB. */
export const DEFAULT_WINDOW: WindowConfig = windowConfig();

/** Bytes that may still be queued now without passing the high-water mark. */
export function sendBudget(buffered: number, window: WindowConfig = DEFAULT_WINDOW): number {
  return Math.max(0, window.highWater - Math.max(0, buffered));
}

/**
 * Whether a message of `size` bytes may be sent now: it fits under the high-water mark, or the
 * buffer is empty (a message larger than the whole window still goes, alone).
 */
export function canSend(buffered: number, size: number, window: WindowConfig = DEFAULT_WINDOW): boolean {
  return buffered <= 0 || buffered + size <= window.highWater;
}

/** Whether a waiting sender should refill: the buffer fell to the low-water mark (or the channel closed). */
export function refillDue(buffered: number, window: WindowConfig = DEFAULT_WINDOW, open = true): boolean {
  return !open || buffered <= window.lowWater;
}

/**
 * How many of the next messages (their sizes, in order) may be sent now; the rest wait for the
 * next refill. Backpressure: 0 while the window is full.
 */
export function fitting(buffered: number, sizes: readonly number[], window: WindowConfig = DEFAULT_WINDOW): number {
  let queued = buffered;
  let n = 0;
  for (const size of sizes) {
    if (!canSend(queued, size, window)) break;
    queued += size;
    n++;
  }
  return n;
}

/** The part of a data channel the window needs (an RTCDataChannel, or a test's fake). */
export interface WindowedChannel {
  readonly bufferedAmount: number;
  bufferedAmountLowThreshold: number;
  readonly readyState: string;
  addEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void;
  removeEventListener(type: 'bufferedamountlow' | 'close', listener: () => void): void;
}

/** How often a waiting sender looks at `bufferedAmount` in case `bufferedamountlow` never fires. */
export const POLL_MS = 50;

/**
 * A window applied to one channel: sets its `bufferedAmountLowThreshold`, says whether a message
 * may go now, and gives a promise that resolves when it is time to refill (the event, a poll as a
 * fallback for channels that never fire it, or the channel closing).
 */
export class ChannelWindow {
  private waiters: (() => void)[] = [];
  private poll: ReturnType<typeof setInterval> | null = null;
  private readonly onLow = () => this.check(true);

  constructor(
    private readonly channel: WindowedChannel,
    readonly config: WindowConfig = DEFAULT_WINDOW,
  ) {
    channel.bufferedAmountLowThreshold = config.lowWater;
    channel.addEventListener('bufferedamountlow', this.onLow);
    channel.addEventListener('close', this.onLow);
  }

  get open() {
    return this.channel.readyState === 'open';
  }
  get bufferedAmount() {
    return this.channel.bufferedAmount;
  }
  canSend(size: number) {
    return canSend(this.channel.bufferedAmount, size, this.config);
  }
  /** Resolves at once when the buffer is at or below the low-water mark, else on the next refill. */
  drained(): Promise<void> {
    if (refillDue(this.channel.bufferedAmount, this.config, this.open)) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.poll ??= setInterval(() => this.check(false), POLL_MS);
    });
  }
  /** Releases every waiter (the channel is being abandoned) and stops listening. */
  dispose() {
    this.channel.removeEventListener('bufferedamountlow', this.onLow);
    this.channel.removeEventListener('close', this.onLow);
    this.release();
  }

  private check(fromEvent: boolean) {
    // the event fires when the buffer crossed the threshold; by now the sender may have refilled
    if (fromEvent || refillDue(this.channel.bufferedAmount, this.config, this.open)) this.release();
  }
  private release() {
    const waiters = this.waiters;
    this.waiters = [];
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
    for (const resolve of waiters) resolve();
  }
}
