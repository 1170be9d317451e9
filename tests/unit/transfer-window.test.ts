import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CHANNEL_BUFFER_LIMIT,
  ChannelWindow,
  canSend,
  DEFAULT_WINDOW,
  fitting,
  MAX_HIGH_WATER,
  MIN_HIGH_WATER,
  POLL_MS,
  refillDue,
  sendBudget,
  windowConfig,
  type WindowedChannel,
} from '@/app/_lib/transfer/window';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('the send window: how much to send', () => {
  it('keeps 4 MiB in flight by default and refills at 1 MiB, well below Chromium’s 16 MiB', () => {
    expect(DEFAULT_WINDOW).toEqual({ highWater: 4 * MiB, lowWater: 1 * MiB });
    expect(DEFAULT_WINDOW.highWater + 64 * KiB).toBeLessThan(CHANNEL_BUFFER_LIMIT);
  });

  it('clamps a requested window to 1–4 MiB and keeps the low mark below the high one', () => {
    expect(windowConfig(64 * KiB)).toEqual({ highWater: MIN_HIGH_WATER, lowWater: MIN_HIGH_WATER / 4 });
    expect(windowConfig(64 * MiB).highWater).toBe(MAX_HIGH_WATER);
    expect(windowConfig(2 * MiB, 0.5)).toEqual({ highWater: 2 * MiB, lowWater: MiB });
    expect(windowConfig(Number.NaN)).toEqual(DEFAULT_WINDOW);
    expect(windowConfig(2 * MiB, 5).lowWater).toBe(1.5 * MiB);
  });

  it('gives the bytes left under the high mark, never negative', () => {
    expect(sendBudget(0)).toBe(4 * MiB);
    expect(sendBudget(3 * MiB)).toBe(MiB);
    expect(sendBudget(5 * MiB)).toBe(0);
    expect(sendBudget(-1)).toBe(4 * MiB);
  });

  it('lets a message go while it fits under the high mark, and a message bigger than the window only into an empty buffer', () => {
    const w = windowConfig(MiB);
    expect(canSend(0, 64 * KiB, w)).toBe(true);
    expect(canSend(MiB - 64 * KiB, 64 * KiB, w)).toBe(true);
    expect(canSend(MiB - 64 * KiB + 1, 64 * KiB, w)).toBe(false);
    expect(canSend(0, 2 * MiB, w)).toBe(true);
    expect(canSend(1, 2 * MiB, w)).toBe(false);
  });

  it('counts the messages that fit now: backpressure is 0 while the window is full', () => {
    const w = windowConfig(MiB);
    const frames = Array.from({ length: 40 }, () => 64 * KiB + 16);
    expect(fitting(0, frames, w)).toBe(15); // 15 × (64 KiB + 16) ≤ 1 MiB < 16 ×
    expect(fitting(MiB, frames, w)).toBe(0);
    expect(fitting(MiB - 64 * KiB - 16, frames, w)).toBe(1);
    expect(fitting(0, [], w)).toBe(0);
  });

  it('property: sending what fits never passes the high mark (except one oversized message alone)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 * MiB }),
        fc.array(fc.integer({ min: 1, max: 256 * KiB }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        (buffered, sizes, mib) => {
          const w = windowConfig(mib * MiB);
          const n = fitting(buffered, sizes, w);
          const after = buffered + sizes.slice(0, n).reduce((a, b) => a + b, 0);
          if (n > 0 && !(buffered === 0 && n === 1)) expect(after).toBeLessThanOrEqual(w.highWater);
          // the next message (if any) would not fit
          if (n < sizes.length) expect(canSend(after, sizes[n]!, w)).toBe(false);
          // a sender never stops with room for the next message and nothing to wait for
          if (n === 0 && sizes.length > 0) expect(buffered).toBeGreaterThan(0);
        },
      ),
    );
  });
});

describe('the send window: when to refill', () => {
  it('refills at or below the low mark, or when the channel closed', () => {
    expect(refillDue(MiB)).toBe(true);
    expect(refillDue(MiB + 1)).toBe(false);
    expect(refillDue(4 * MiB, DEFAULT_WINDOW, false)).toBe(true);
  });
});

/** A data channel's buffer: `drain(n)` is the network taking n bytes, firing `bufferedamountlow` on the way down like Chromium. */
class FakeChannel implements WindowedChannel {
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readyState = 'open';
  fires = true;
  private listeners = new Map<string, Set<() => void>>();
  addEventListener(type: string, listener: () => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: () => void) {
    this.listeners.get(type)?.delete(listener);
  }
  send(bytes: number) {
    if (this.bufferedAmount + bytes > CHANNEL_BUFFER_LIMIT) throw new Error('send queue is full');
    this.bufferedAmount += bytes;
  }
  drain(bytes: number) {
    const before = this.bufferedAmount;
    this.bufferedAmount = Math.max(0, before - bytes);
    if (this.fires && before > this.bufferedAmountLowThreshold && this.bufferedAmount <= this.bufferedAmountLowThreshold) this.emit('bufferedamountlow');
  }
  close() {
    this.readyState = 'closed';
    this.emit('close');
  }
  count(type: string) {
    return this.listeners.get(type)?.size ?? 0;
  }
  private emit(type: string) {
    for (const l of [...(this.listeners.get(type) ?? [])]) l();
  }
}

describe('ChannelWindow on a channel', () => {
  afterEach(() => vi.useRealTimers());

  it('sets the channel’s bufferedAmountLowThreshold to the low mark', () => {
    const channel = new FakeChannel();
    new ChannelWindow(channel, windowConfig(2 * MiB));
    expect(channel.bufferedAmountLowThreshold).toBe(512 * KiB);
  });

  it('does not make a sender wait while the buffer is at or below the low mark', async () => {
    const channel = new FakeChannel();
    const w = new ChannelWindow(channel);
    channel.send(MiB);
    await expect(w.drained()).resolves.toBeUndefined();
  });

  it('holds a sender with a full window until bufferedamountlow, then lets it refill', async () => {
    const channel = new FakeChannel();
    const w = new ChannelWindow(channel);
    while (w.canSend(64 * KiB)) channel.send(64 * KiB);
    expect(channel.bufferedAmount).toBe(4 * MiB);
    let released = false;
    const waiting = w.drained().then(() => (released = true));
    channel.drain(2 * MiB);
    await Promise.resolve();
    expect(released).toBe(false); // 2 MiB still buffered: no refill yet
    channel.drain(MiB);
    await waiting;
    expect(released).toBe(true);
    expect(w.canSend(64 * KiB)).toBe(true);
  });

  it('a sender that refills on every release keeps between the low mark and the high mark in flight, never over the limit', async () => {
    const channel = new FakeChannel();
    const w = new ChannelWindow(channel);
    let sent = 0;
    const total = 64 * MiB;
    let minInFlightWhileSending = Infinity;
    const sender = (async () => {
      while (sent < total) {
        while (sent < total && w.canSend(64 * KiB)) {
          channel.send(64 * KiB);
          sent += 64 * KiB;
        }
        if (sent < total) await w.drained();
        if (sent < total) minInFlightWhileSending = Math.min(minInFlightWhileSending, channel.bufferedAmount);
      }
    })();
    // the network takes 192 KiB at a time
    while (sent < total || channel.bufferedAmount > 0) {
      channel.drain(192 * KiB);
      expect(channel.bufferedAmount).toBeLessThanOrEqual(4 * MiB);
      await new Promise((r) => setImmediate(r));
    }
    await sender;
    expect(sent).toBe(total);
    // the refill came before the buffer ran dry
    expect(minInFlightWhileSending).toBeGreaterThan(0);
  });

  it('falls back to polling bufferedAmount on a channel that never fires bufferedamountlow', async () => {
    vi.useFakeTimers();
    const channel = new FakeChannel();
    channel.fires = false;
    const w = new ChannelWindow(channel);
    channel.send(4 * MiB);
    let released = false;
    void w.drained().then(() => (released = true));
    channel.drain(3.5 * MiB);
    await vi.advanceTimersByTimeAsync(POLL_MS);
    expect(released).toBe(true);
  });

  it('releases a waiting sender when the channel closes, and on dispose (which stops listening)', async () => {
    const channel = new FakeChannel();
    const w = new ChannelWindow(channel);
    channel.send(4 * MiB);
    const a = w.drained();
    channel.close();
    await expect(a).resolves.toBeUndefined();
    await expect(w.drained()).resolves.toBeUndefined(); // closed: never waits

    const other = new FakeChannel();
    const v = new ChannelWindow(other);
    other.send(4 * MiB);
    const b = v.drained();
    v.dispose();
    await expect(b).resolves.toBeUndefined();
    expect(other.count('bufferedamountlow')).toBe(0);
    expect(other.count('close')).toBe(0);
  });
});
