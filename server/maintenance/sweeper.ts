import { sweepBroadcasts } from '../broadcast/broadcasts';
import { getDb } from '../db/client';
import { sweepCompute } from '../compute/sweep';
import { deliverDueResults } from '../compute/results';
import { sweepTransfers } from '../content/transfers';
import { sweepFileLegs } from '../content/file-legs';
import { sweepMarket } from '../market/lifecycle';
import { sweepPageViews } from '../pageviews/views';
import { sweepRentals } from '../peripheral/rentals';
import { sweepRelays } from '../relay/sessions';
import { sweepStorage } from '../storage/proofs';
import { runEvery } from './every';

const INTERVAL_MS = 5_000;

/** Runs the coordinator's time-driven changes (leases, job deadlines, order and contract expiry) every few seconds. */
export function startSweeper(): void {
  runEvery('sweep', INTERVAL_MS, async () => {
    // jobs first: a job past its deadline settles its contracts before the market fails them
    await sweepCompute(getDb());
    await sweepTransfers(getDb());
    // rentals whose window closed settle from their receipts before the market fails undelivered contracts
    await sweepRentals(getDb());
    // relay sessions whose window closed settle from both ends' receipts, likewise
    await sweepRelays(getDb());
    // broadcasts: viewers whose page went silent leave the tree, a silent broadcaster's broadcast ends
    await sweepBroadcasts(getDb());
    // storage contracts settle from their proofs at their window's end, before the market would fail them
    await sweepStorage(getDb());
    // page views not reported in time settle (refunded) before the market would fail their contracts
    await sweepPageViews(getDb());
    await sweepFileLegs(getDb());
    await sweepMarket(getDb());
  });
  // results POSTed to jobs' results URLs: apart, so that a slow receiver holds up no sweep
  runEvery('results delivery', 2_000, () => deliverDueResults(getDb()));
}
