import { getDb } from '../db/client';
import { sweepMarket } from './lifecycle';

const INTERVAL_MS = 5_000;

/** Runs the market's time-driven changes (expiry, contract start and failure) every few seconds. */
export function startSweeper(): void {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      await sweepMarket(getDb());
    } catch (error) {
      console.error('market sweep failed:', error);
    } finally {
      running = false;
    }
  }, INTERVAL_MS);
  timer.unref();
}
