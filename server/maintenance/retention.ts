import type { Db } from '../db/client';
import { runEvery } from './every';

/**
 * What the coordinator keeps, and for how long. Everything else in these tables is deleted by `sweepRetention`,
 * which instrumentation.ts runs every minute (every process may run it: each delete is idempotent).
 */
export const RETENTION = {
  /** signaling messages are read within seconds; a device that reconnects later starts a new handshake */
  signalMs: 10 * 60_000,
  /** live events: what a subscriber resuming after a day offline still gets; older state is re-read from the tables */
  liveEventMs: 24 * 3_600_000,
  /** unused pairing codes, after they expired (used ones are the pairing itself and stay) */
  pairingMs: 0,
  /** throttle counters whose window ended this long ago and that block nothing */
  throttleMs: 60 * 60_000,
} as const;

export type RetentionReport = { signalEvents: number; liveEvents: number; sessions: number; pairings: number; throttles: number };

export async function sweepRetention(db: Db, now = new Date(), policy: typeof RETENTION = RETENTION): Promise<RetentionReport> {
  const before = (ms: number) => new Date(now.getTime() - ms);
  const signalEvents = await db.signalEvent.deleteMany({ where: { createdAt: { lt: before(policy.signalMs) } } });
  const liveEvents = await db.liveEvent.deleteMany({ where: { createdAt: { lt: before(policy.liveEventMs) } } });
  const sessions = await db.session.deleteMany({ where: { expiresAt: { lte: now } } });
  const pairings = await db.devicePairing.deleteMany({ where: { pairedId: null, expiresAt: { lte: before(policy.pairingMs) } } });
  const throttles = await db.throttle.deleteMany({
    where: { windowStart: { lt: before(policy.throttleMs) }, OR: [{ blockedUntil: null }, { blockedUntil: { lte: now } }] },
  });
  return { signalEvents: signalEvents.count, liveEvents: liveEvents.count, sessions: sessions.count, pairings: pairings.count, throttles: throttles.count };
}

const INTERVAL_MS = 60_000;

/** Runs the sweep every minute, in the background (never two at once in one process). */
export function startRetention(getDb: () => Db): void {
  runEvery('retention sweep', INTERVAL_MS, () => sweepRetention(getDb()));
}
