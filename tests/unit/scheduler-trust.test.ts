import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addTrustEvent, applyTrust, initialReplicas, isTrusted, judge, judgeByOwner, MIN_SPOT_CHECK_RATE, noTrustChange, ownerMayCheck, quorumFor,
  spotCheckRate, TRUST_STREAK, unitPhase, type ReplicaView, type TrustEvent,
} from '@/server/compute/scheduler';

const NOW = 1_000_000;
let n = 0;
const replica = (device: string, status: ReplicaView['status'], outputHash: string | null = null, expiresAt = NOW + 60_000): ReplicaView => ({
  id: `r${++n}`, deviceId: device, memberId: device, status, outputHash, expiresAt,
});

/** The streak after events one at a time: what a batch's delta must reproduce. */
function streakOneByOne(streak: number, events: TrustEvent[]): number {
  for (const e of events) streak = e === 'mismatch' ? 0 : e === 'confirmed' ? streak + 1 : streak;
  return streak;
}
const arbEvent = fc.constantFrom<TrustEvent>('confirmed', 'accepted', 'mismatch');

describe('trust', () => {
  it('is earned by TRUST_STREAK confirmed results in a row', () => {
    expect(isTrusted(0)).toBe(false);
    expect(isTrusted(TRUST_STREAK - 1)).toBe(false);
    expect(isTrusted(TRUST_STREAK)).toBe(true);
  });

  it('property: a batch delta gives the same streak and counts as the events one by one', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.array(arbEvent, { maxLength: 40 }), (start, events) => {
        const delta = events.reduce(addTrustEvent, noTrustChange());
        expect(applyTrust(start, delta)).toBe(streakOneByOne(start, events));
        expect(delta.valid).toBe(events.filter((e) => e !== 'mismatch').length);
        expect(delta.invalid).toBe(events.filter((e) => e === 'mismatch').length);
      }),
    );
  });

  it('property: a mismatch costs the trust whatever the history; results accepted alone never earn it', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.array(arbEvent, { maxLength: 20 }), fc.nat(30), (start, before, accepted) => {
        const afterMismatch = applyTrust(start, [...before, 'mismatch' as const].reduce(addTrustEvent, noTrustChange()));
        expect(afterMismatch).toBe(0);
        expect(isTrusted(afterMismatch)).toBe(false);
        const onlyAccepted = applyTrust(afterMismatch, Array.from({ length: accepted }, () => 'accepted' as const).reduce(addTrustEvent, noTrustChange()));
        expect(isTrusted(onlyAccepted)).toBe(false);
      }),
    );
  });
});

describe('spot checks', () => {
  it('checks every unit of an untrusted device, then fewer as the streak grows, never under the minimum', () => {
    expect(spotCheckRate(0)).toBe(1);
    expect(spotCheckRate(TRUST_STREAK - 1)).toBe(1);
    expect(spotCheckRate(TRUST_STREAK)).toBe(0.5);
    expect(spotCheckRate(25)).toBe(0.2);
    expect(spotCheckRate(50)).toBe(MIN_SPOT_CHECK_RATE);
    expect(spotCheckRate(1_000_000)).toBe(MIN_SPOT_CHECK_RATE);
    fc.assert(
      fc.property(fc.integer({ min: TRUST_STREAK, max: 10_000 }), fc.integer({ min: TRUST_STREAK, max: 10_000 }), (a, b) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        expect(spotCheckRate(hi)).toBeLessThanOrEqual(spotCheckRate(lo));
        expect(spotCheckRate(hi)).toBeGreaterThanOrEqual(MIN_SPOT_CHECK_RATE);
      }),
    );
  });

  it('replicas at lease: replication + 1 untrusted, the replication for a spot check, one alone', () => {
    expect(initialReplicas(2, 4, 0, 0.99)).toBe(3);
    expect(initialReplicas(4, 4, 3, 0.5)).toBe(4);
    expect(initialReplicas(2, 4, 50, 0.05)).toBe(2);
    expect(initialReplicas(2, 4, 50, 0.1)).toBe(1);
    expect(initialReplicas(3, 5, 50, 0.99)).toBe(1);
  });

  it('property: over evenly spread draws, the share of a trusted device\'s units spot-checked is its rate', () => {
    fc.assert(
      fc.property(fc.integer({ min: TRUST_STREAK, max: 500 }), (streak) => {
        const N = 1_000;
        const checked = Array.from({ length: N }, (_, i) => initialReplicas(2, 4, streak, i / N)).filter((r) => r > 1).length;
        expect(Math.abs(checked / N - spotCheckRate(streak))).toBeLessThanOrEqual(1 / N);
      }),
    );
  });

  it('a single replica is a quorum of one; every other unit keeps the job\'s quorum', () => {
    expect(quorumFor(1, 2)).toBe(1);
    expect(quorumFor(2, 2)).toBe(2);
    expect(quorumFor(3, 2)).toBe(2);
    const alone = [replica('t', 'SUBMITTED', 'h')];
    expect(judge(alone, 1, 2, 4, NOW)).toEqual({ status: 'VALIDATED', canonicalHash: 'h', valid: [alone[0]!.id], invalid: [] });
    // a spot check waits for a second device
    expect(judge(alone, 2, 2, 4, NOW)).toEqual({ status: 'PENDING', requiredReplicas: 2 });
  });
});

describe("the owner's check", () => {
  it('confirms the results equal to the owner\'s and refuses the others', () => {
    const rs = [replica('a', 'SUBMITTED', 'good'), replica('b', 'SUBMITTED', 'bad'), replica('c', 'LEASED')];
    expect(judgeByOwner(rs, 'good')).toEqual({ valid: [rs[0]!.id], invalid: [rs[1]!.id] });
    expect(judgeByOwner(rs, 'other')).toEqual({ valid: [], invalid: [rs[0]!.id, rs[1]!.id] });
  });

  it('is open only on pending units some device returned', () => {
    expect(ownerMayCheck({ status: 'PENDING', replicas: [] })).toBe(false);
    expect(ownerMayCheck({ status: 'PENDING', replicas: [replica('a', 'LEASED')] })).toBe(false);
    expect(ownerMayCheck({ status: 'PENDING', replicas: [replica('a', 'SUBMITTED', 'h')] })).toBe(true);
    expect(ownerMayCheck({ status: 'PENDING', replicas: [replica('a', 'INVALID', 'h')] })).toBe(true);
    expect(ownerMayCheck({ status: 'VALIDATED', replicas: [replica('a', 'VALID', 'h')] })).toBe(false);
  });
});

describe('unit phases', () => {
  it('say where a unit stands', () => {
    expect(unitPhase({ status: 'PENDING', replicas: [] }, NOW)).toBe('waiting');
    expect(unitPhase({ status: 'PENDING', replicas: [replica('a', 'LEASED', null, NOW - 1)] }, NOW)).toBe('waiting');
    expect(unitPhase({ status: 'PENDING', replicas: [replica('a', 'LEASED')] }, NOW)).toBe('computing');
    expect(unitPhase({ status: 'PENDING', replicas: [replica('a', 'SUBMITTED', 'h')] }, NOW)).toBe('awaiting');
    expect(unitPhase({ status: 'PENDING', replicas: [replica('a', 'SUBMITTED', 'h'), replica('b', 'LEASED')] }, NOW)).toBe('confirming');
    expect(unitPhase({ status: 'VALIDATED', replicas: [] }, NOW)).toBe('validated');
    expect(unitPhase({ status: 'FAILED', replicas: [] }, NOW)).toBe('failed');
  });
});
