/**
 * The simulation's clock is real time, but a sweep may run "hours or days ahead" to make windows and
 * deadlines pass. Such a sweep must not overlap operations made at the real time: in production time only
 * moves forward, so a sweep at a later `now` never races an order placed before that `now` (it would treat a
 * live order as past its window and skip it). Operations share the gate; a sweep ahead runs alone.
 */
export class TimeGate {
  private active = 0;
  private alone: Promise<void> | null = null;
  private idle: (() => void) | null = null;

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.alone) await this.alone;
    this.active++;
    try {
      return await fn();
    } finally {
      if (--this.active === 0) this.idle?.();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.alone) await this.alone;
    let release!: () => void;
    this.alone = new Promise((resolve) => (release = resolve));
    try {
      if (this.active > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      this.idle = null;
      return await fn();
    } finally {
      this.alone = null;
      release();
    }
  }
}
