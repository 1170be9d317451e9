import { installAddressHook } from '../auth/client-address';
import { getDb } from '../db/client';
import { startRetention } from './retention';
import { startSweeper } from './sweeper';

/**
 * What a coordinator process starts once, in the thread that accepts its connections: the hook that records
 * every request's address (first, before any request), the sweeper and the retention sweep.
 */
export function startCoordinatorWork(): void {
  installAddressHook();
  startSweeper();
  startRetention(getDb);
}
