import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judge, pickUnits, reliability, type ReplicaView, type UnitView } from '@/server/compute/scheduler';

const NOW = 1_000_000;
let n = 0;
const replica = (deviceId: string, memberId: string, status: ReplicaView['status'], outputHash: string | null = null, expiresAt = NOW + 60_000): ReplicaView => ({
  id: `r${++n}`, deviceId, memberId, status, outputHash, expiresAt,
});
const unit = (index: number, replicas: ReplicaView[] = [], requiredReplicas = 2, status: UnitView['status'] = 'PENDING'): UnitView => ({
  id: `u${index}`, index, status, requiredReplicas, replicas,
});

describe('pickUnits', () => {
  it('never gives a device or a member two replicas of a unit', () => {
    const units = [unit(0, [replica('d1', 'm1', 'LEASED')]), unit(1, [replica('d2', 'm1', 'SUBMITTED', 'h')]), unit(2)];
    expect(pickUnits(units, { deviceId: 'd1', memberId: 'm1' }, 10, NOW).map((u) => u.index)).toEqual([2]);
    expect(pickUnits(units, { deviceId: 'd9', memberId: 'm9' }, 10, NOW).map((u) => u.index)).toEqual([0, 1, 2]);
  });

  it('skips units with enough live replicas, validated and failed units; an expired lease frees its place', () => {
    const units = [
      unit(0, [replica('a', 'a', 'LEASED'), replica('b', 'b', 'SUBMITTED', 'h')]),
      unit(1, [replica('a', 'a', 'LEASED', null, NOW - 1), replica('b', 'b', 'SUBMITTED', 'h')]),
      unit(2, [], 2, 'VALIDATED'),
      unit(3, [], 2, 'FAILED'),
    ];
    expect(pickUnits(units, { deviceId: 'c', memberId: 'c' }, 10, NOW).map((u) => u.index)).toEqual([1]);
    // the donor whose lease expired may take the unit again
    expect(pickUnits(units, { deviceId: 'a', memberId: 'a' }, 10, NOW).map((u) => u.index)).toEqual([1]);
  });

  it('prefers units closest to completion, then lower index, and respects max', () => {
    const units = [unit(0), unit(1, [replica('x', 'x', 'SUBMITTED', 'h')]), unit(2)];
    expect(pickUnits(units, { deviceId: 'd', memberId: 'm' }, 2, NOW).map((u) => u.index)).toEqual([1, 0]);
    expect(pickUnits(units, { deviceId: 'd', memberId: 'm' }, 0, NOW)).toEqual([]);
  });

  it('property: whatever the units, a pick never repeats a device or member on a unit and never exceeds the required replicas', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const arbReplica = fc.record({
      deviceId: fc.constantFrom(...ids), memberId: fc.constantFrom(...ids),
      status: fc.constantFrom<ReplicaView['status']>('LEASED', 'SUBMITTED', 'VALID', 'INVALID'),
      expired: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(fc.array(arbReplica, { maxLength: 4 }), { maxLength: 8 }), fc.constantFrom(...ids), fc.integer({ min: 0, max: 5 }), (specs, who, max) => {
        const units = specs.map((rs, i) => unit(i, rs.map((r) => replica(r.deviceId, r.memberId, r.status, r.status === 'LEASED' ? null : 'h', r.expired ? NOW - 1 : NOW + 1))));
        const picked = pickUnits(units, { deviceId: who, memberId: who }, max, NOW);
        expect(picked.length).toBeLessThanOrEqual(max);
        for (const u of picked) {
          expect(u.replicas.some((r) => (r.deviceId === who || r.memberId === who) && r.status !== 'LEASED')).toBe(false);
          expect(u.replicas.filter((r) => r.status !== 'INVALID' && !(r.status === 'LEASED' && r.expiresAt <= NOW)).length).toBeLessThan(u.requiredReplicas);
        }
      }),
    );
  });
});

describe('judge', () => {
  it('validates when a quorum agrees and marks the dissenters invalid', () => {
    const rs = [replica('a', 'a', 'SUBMITTED', 'good'), replica('b', 'b', 'SUBMITTED', 'bad'), replica('c', 'c', 'SUBMITTED', 'good')];
    const verdict = judge(rs, 3, 2, 5, NOW);
    expect(verdict).toEqual({ status: 'VALIDATED', canonicalHash: 'good', valid: [rs[0]!.id, rs[2]!.id], invalid: [rs[1]!.id] });
  });

  it('waits while a quorum is still reachable with the replicas planned', () => {
    expect(judge([replica('a', 'a', 'SUBMITTED', 'h')], 2, 2, 4, NOW)).toEqual({ status: 'PENDING', requiredReplicas: 2 });
    expect(judge([replica('a', 'a', 'SUBMITTED', 'h'), replica('b', 'b', 'LEASED')], 2, 2, 4, NOW)).toEqual({ status: 'PENDING', requiredReplicas: 2 });
  });

  it('plans one more replica when two results disagree, and fails past the maximum', () => {
    const two = [replica('a', 'a', 'SUBMITTED', 'x'), replica('b', 'b', 'SUBMITTED', 'y')];
    expect(judge(two, 2, 2, 4, NOW)).toEqual({ status: 'PENDING', requiredReplicas: 3 });
    const three = [...two, replica('c', 'c', 'SUBMITTED', 'z')];
    expect(judge(three, 3, 2, 4, NOW)).toEqual({ status: 'PENDING', requiredReplicas: 4 });
    const four = [...three, replica('d', 'd', 'SUBMITTED', 'w')];
    expect(judge(four, 4, 2, 4, NOW)).toMatchObject({ status: 'FAILED' });
  });

  it('property: a validated verdict always has a quorum behind one hash and splits every submitted replica', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('h1', 'h2', 'h3'), { minLength: 1, maxLength: 6 }), fc.integer({ min: 2, max: 3 }), (hashes, quorum) => {
        const rs = hashes.map((h, i) => replica(`d${i}`, `m${i}`, 'SUBMITTED', h));
        const verdict = judge(rs, Math.max(2, rs.length), quorum, 8, NOW);
        if (verdict.status === 'VALIDATED') {
          expect(verdict.valid.length).toBeGreaterThanOrEqual(quorum);
          expect(verdict.valid.length + verdict.invalid.length).toBe(rs.length);
          expect(new Set(rs.filter((r) => verdict.valid.includes(r.id)).map((r) => r.outputHash))).toEqual(new Set([verdict.canonicalHash]));
        } else {
          const counts = new Map<string, number>();
          for (const h of hashes) counts.set(h, (counts.get(h) ?? 0) + 1);
          expect(Math.max(...counts.values())).toBeLessThan(quorum);
        }
      }),
    );
  });
});

describe('reliability', () => {
  it('rises with agreement and falls with disagreement', () => {
    expect(reliability(0, 0)).toBe(0.5);
    expect(reliability(9, 0)).toBeGreaterThan(reliability(8, 1));
  });
});
