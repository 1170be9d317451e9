import { getDb } from '../db/client';
import { sweepCompute } from '../compute/sweep';
import { sweepTransfers } from '../content/transfers';
import { sweepMarket } from '../market/lifecycle';

const INTERVAL_MS = 5_000;

/** Runs the coordinator's time-driven changes (leases, job deadlines, order and contract expiry) every few seconds. */
export function startSweeper(): void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      // jobs first: a job past its deadline settles its contracts before the market fails them
      await sweepCompute(getDb());
      await sweepTransfers(getDb());
      await sweepMarket(getDb());
    } catch (error) {
      console.error('sweep failed:', error);
    } finally {
      running = false;
    }
  }, INTERVAL_MS);
  timer.unref();
}
