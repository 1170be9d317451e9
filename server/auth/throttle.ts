import type { Queryable } from '../db/client';
import { rateLimited } from '../errors';
import { isUniqueViolation } from '../db/unique';

/**
 * Attempt counters in the database (table Throttle), so that every coordinator process sees the same counts.
 * An attempt is counted before the work it guards (a password check, a pairing code) and forgiven after it
 * succeeds, so concurrent guesses are counted too: whatever the concurrency, no more than `limit` attempts
 * per window get through. Every write is one conditional statement (no read-then-write), as PostgreSQL
 * without a global lock needs.
 */
export type ThrottleRule = {
  /** attempts allowed per window */
  limit: number;
  windowMs: number;
  /** how long a key stays blocked once it passed its limit */
  blockMs: number;
};

export const minutesText = (seconds: number) => {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
};

export const tooManyAttempts = (seconds: number) =>
  rateLimited(`Too many attempts: try again in ${minutesText(seconds)}.`, Math.max(1, Math.ceil(seconds)));

/** What a caller refused for too many attempts in flight (not a block) is told to wait. */
const CONTENDED_RETRY_SECONDS = 10;


/** Refuses (RATE_LIMITED, with the seconds to wait) when any of the keys is blocked at `now`. */
export async function assertNotBlocked(db: Queryable, keys: string[], now = new Date()): Promise<void> {
  const blocked = await db.throttle.findMany({ where: { key: { in: keys }, blockedUntil: { gt: now } }, select: { blockedUntil: true } });
  const until = Math.max(0, ...blocked.map((row) => row.blockedUntil?.getTime() ?? 0));
  if (until > now.getTime()) throw tooManyAttempts((until - now.getTime()) / 1000);
}

/**
 * Counts one attempt for the key, or refuses it when the key is blocked or when the attempts counted in the
 * window (failures, and attempts still under way) already reach the limit. Returns the number counted so far,
 * this one included. Only failures block a key (`afterFailure`): right answers sent at once are refused for a
 * few seconds, never locked out.
 */
export async function countAttempt(db: Queryable, key: string, rule: ThrottleRule, now = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - rule.windowMs);
  for (let round = 0; round < 5; round++) {
    const counted = await db.throttle.updateMany({
      where: { key, OR: [{ windowStart: { gt: cutoff } }, { blockedUntil: { gt: now } }] },
      data: { failures: { increment: 1 } },
    });
    if (counted.count === 1) {
      const row = await db.throttle.findUnique({ where: { key }, select: { failures: true, blockedUntil: true } });
      if (row?.blockedUntil && row.blockedUntil > now) throw tooManyAttempts((row.blockedUntil.getTime() - now.getTime()) / 1000);
      const attempts = row?.failures ?? 1;
      if (attempts > rule.limit) {
        // more attempts at once than the window has left: this one is not made (nor counted), and
        // nothing is blocked (only failures block, in afterFailure)
        await uncount(db, key);
        throw tooManyAttempts(CONTENDED_RETRY_SECONDS);
      }
      return attempts;
    }
    // the window is over: start a new one (only one of several concurrent callers can)
    const restarted = await db.throttle.updateMany({
      where: { key, windowStart: { lte: cutoff }, OR: [{ blockedUntil: null }, { blockedUntil: { lte: now } }] },
      data: { failures: 1, windowStart: now, blockedUntil: null },
    });
    if (restarted.count === 1) return 1;
    try {
      await db.throttle.create({ data: { key, failures: 1, windowStart: now } });
      return 1;
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  // only reachable when other callers keep changing the row under this one: count it as refused
  throw tooManyAttempts(CONTENDED_RETRY_SECONDS);
}

/** After an attempt that failed: blocks the key at once when its failures used up the window (one conditional write). */
export async function afterFailure(db: Queryable, key: string, rule: ThrottleRule, now = new Date()): Promise<void> {
  const until = new Date(now.getTime() + rule.blockMs);
  await db.throttle.updateMany({
    where: { key, failures: { gte: rule.limit }, OR: [{ blockedUntil: null }, { blockedUntil: { lt: until } }] },
    data: { blockedUntil: until },
  });
}

/** Forgets the key's attempts (a success), unless it is blocked. */
export async function forgive(db: Queryable, key: string, now = new Date()): Promise<void> {
  await db.throttle.deleteMany({ where: { key, OR: [{ blockedUntil: null }, { blockedUntil: { lte: now } }] } });
}

/** Takes back one attempt (a success that should not count, without forgiving the others). */
export async function uncount(db: Queryable, key: string): Promise<void> {
  await db.throttle.updateMany({ where: { key, failures: { gt: 0 } }, data: { failures: { decrement: 1 } } });
}
