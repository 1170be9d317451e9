import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickFrom, type MemUnit } from '@/server/compute/feeder';
import { pickUnits, type ReplicaView } from '@/server/compute/scheduler';

const NOW = 1_000_000;
const people = ['a', 'b', 'c', 'd'];

const replicaArb = fc.record({
  deviceId: fc.constantFrom(...people),
  memberId: fc.constantFrom(...people),
  status: fc.constantFrom<ReplicaView['status']>('LEASED', 'SUBMITTED', 'VALID', 'INVALID'),
  expired: fc.boolean(),
});
const unitsArb = fc.array(
  fc.record({ status: fc.constantFrom<MemUnit['status']>('PENDING', 'PENDING', 'PENDING', 'VALIDATED', 'FAILED'), requiredReplicas: fc.integer({ min: 2, max: 5 }), replicas: fc.array(replicaArb, { maxLength: 5 }) }),
  { maxLength: 30 },
);

describe('pickFrom (the scheduler memory picking leases)', () => {
  it('picks exactly what pickUnits picks, in the same order', () => {
    fc.assert(
      fc.property(unitsArb, fc.constantFrom(...people), fc.constantFrom(...people), fc.integer({ min: 0, max: 20 }), (raw, deviceId, memberId, max) => {
        const units: MemUnit[] = raw.map((u, index) => ({
          id: `u${index}`, jobId: 'j', index, input: null, status: u.status, requiredReplicas: u.requiredReplicas,
          replicas: u.replicas.map((r, i) => ({ id: `r${index}-${i}`, deviceId: r.deviceId, memberId: r.memberId, status: r.status, outputHash: r.status === 'LEASED' ? null : 'h', expiresAt: r.expired ? NOW - 1 : NOW + 1 })),
        }));
        const donor = { deviceId, memberId };
        const expected = pickUnits(units, donor, max, NOW).map((u) => u.id);
        expect(pickFrom(units, (u) => u, donor, max, NOW).map((u) => u.id)).toEqual(expected);
      }),
    );
  });

  it('sees what the batch already took through viewOf', () => {
    const unit: MemUnit = { id: 'u0', jobId: 'j', index: 0, input: null, status: 'PENDING', requiredReplicas: 2, replicas: [] };
    const taken = { requiredReplicas: 2, replicas: ['x', 'y'].map((p) => ({ id: p, deviceId: p, memberId: p, status: 'LEASED' as const, outputHash: null, expiresAt: NOW + 1 })) };
    expect(pickFrom([unit], () => taken, { deviceId: 'z', memberId: 'z' }, 4, NOW)).toEqual([]);
    expect(pickFrom([unit], (u) => u, { deviceId: 'z', memberId: 'z' }, 4, NOW)).toEqual([unit]);
  });
});
