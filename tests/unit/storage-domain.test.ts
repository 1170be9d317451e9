import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  answerWindowMs, challengeProblem, challengeSchedule, challengesNeeded, chooseRepair, MAX_SHARD_BYTES, mbHours, MIB, periodAt, placeShards, provenShare, shardProblem,
  type Candidate, type ShardSpec,
} from '@/server/storage/domain';

const hash = (n: number) => n.toString(16).padStart(64, '0');
const shard = (index: number, sizeBytes = 4 * MIB): ShardSpec => ({ index, sizeBytes, sha256: hash(index + 1) });
const seller = (n: number, over: Partial<Candidate> = {}): Candidate => ({ orderId: `o${n}`, deviceId: `d${n}`, memberId: `m${n}`, price: 10, remaining: 1_000, online: true, ...over });
const HOUR = 3_600_000;

describe('sizes and quantities', () => {
  it('buys whole MiB times whole hours, at least one of each', () => {
    expect(mbHours(1, 1)).toBe(1);
    expect(mbHours(4 * MIB, HOUR)).toBe(4);
    expect(mbHours(4 * MIB + 1, HOUR + 1)).toBe(10);
    expect(mbHours(20 * MIB, 3 * 60_000)).toBe(20);
  });

  it('gives half a period to answer, at most a minute', () => {
    expect(answerWindowMs(10_000)).toBe(5_000);
    expect(answerWindowMs(HOUR)).toBe(60_000);
  });

  it('asks for one challenge per period per copy plus spares for repairs', () => {
    expect(challengesNeeded(8, 2)).toBe(32);
  });
});

describe('challengeSchedule', () => {
  it('puts one challenge in every period, leaving the answer window before the period closes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 10_000, max: 7 * 24 * HOUR }), fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (periodMs, from, count, r) => {
        const plan = { startMs: 1_700_000_000_000, periodMs };
        const slots = challengeSchedule(plan, from, from + count, () => r);
        expect(slots.map((s) => s.period)).toEqual(Array.from({ length: count }, (_, i) => from + i));
        for (const s of slots) {
          const opens = plan.startMs + s.period * periodMs;
          expect(s.dueAt).toBeGreaterThanOrEqual(opens);
          expect(s.closesAt).toBe(opens + periodMs);
          expect(s.dueAt + answerWindowMs(periodMs)).toBeLessThanOrEqual(s.closesAt);
          expect(periodAt(plan, s.dueAt)).toBe(s.period);
        }
      }),
    );
  });

  it('draws the moment from the random source, so a seller cannot know when it comes', () => {
    const plan = { startMs: 0, periodMs: 20_000 };
    const early = challengeSchedule(plan, 0, 1, () => 0)[0]!.dueAt;
    const late = challengeSchedule(plan, 0, 1, () => 0.99)[0]!.dueAt;
    expect(early).toBe(0);
    expect(late).toBeGreaterThan(9_000);
  });
});

describe('placeShards', () => {
  const terms = { buyerId: 'buyer', windowMs: HOUR, maxPrice: 20 };

  it('puts every shard on as many distinct members as copies asked, never the buyer', () => {
    const result = placeShards([shard(0), shard(1), shard(2)], 2, [seller(1), seller(2), seller(3), seller(4, { memberId: 'buyer' })], terms);
    if (!result.ok) throw new Error(result.reason);
    for (const index of [0, 1, 2]) {
      const members = result.placements.filter((p) => p.shardIndex === index).map((p) => p.candidate.memberId);
      expect(members).toHaveLength(2);
      expect(new Set(members).size).toBe(2);
      expect(members).not.toContain('buyer');
    }
    // spread: with three sellers and six copies each gets two
    expect([...result.bySeller.values()].map((s) => s.shardIndexes.length).sort()).toEqual([2, 2, 2]);
    const quantities = [...result.bySeller.values()].map((s) => s.quantity);
    expect(quantities).toEqual([8, 8, 8]);
  });

  it('prefers online devices, then the cheapest', () => {
    const result = placeShards([shard(0)], 1, [seller(1, { online: false, price: 1 }), seller(2, { price: 15 }), seller(3, { price: 12 })], terms);
    expect(result.ok && result.placements[0]!.candidate.orderId).toBe('o3');
  });

  it('refuses, saying why, when too few members lend at the price or the room is short', () => {
    const few = placeShards([shard(0)], 2, [seller(1), seller(2, { price: 50 })], terms);
    expect(few).toMatchObject({ ok: false, reason: expect.stringMatching(/needs 2 members.*only 1 is/) });
    const small = placeShards([shard(0, 10 * MIB)], 2, [seller(1, { remaining: 5 }), seller(2, { remaining: 5 })], terms);
    expect(small).toMatchObject({ ok: false, reason: expect.stringMatching(/not have enough of it left/) });
  });

  it('never gives an ask more MB-hours than it has open, nor two copies of a shard to one member', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8 * MIB }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.record({ remaining: fc.integer({ min: 0, max: 60 }), member: fc.integer({ min: 0, max: 4 }), price: fc.integer({ min: 1, max: 30 }) }), { maxLength: 8 }),
        (sizes, replicas, asks) => {
          const candidates = asks.map((a, i) => seller(i, { remaining: a.remaining, memberId: `m${a.member}`, price: a.price }));
          const result = placeShards(sizes.map((s, i) => shard(i, s)), replicas, candidates, terms);
          if (!result.ok) return;
          for (const [orderId, given] of result.bySeller) {
            const ask = candidates.find((c) => c.orderId === orderId)!;
            expect(given.quantity).toBeLessThanOrEqual(ask.remaining);
            expect(ask.price).toBeLessThanOrEqual(terms.maxPrice);
          }
          for (let i = 0; i < sizes.length; i++) {
            const members = result.placements.filter((p) => p.shardIndex === i).map((p) => p.candidate.memberId);
            expect(members).toHaveLength(replicas);
            expect(new Set(members).size).toBe(replicas);
          }
        },
      ),
    );
  });
});

describe('chooseRepair', () => {
  const terms = { buyerId: 'buyer', windowMs: HOUR, maxPrice: 20, holders: ['m1'], excluded: ['m2'] };
  it('picks a member who holds no copy, is not the one who lost it and has the room', () => {
    expect(chooseRepair(shard(0), [seller(1), seller(2), seller(3, { remaining: 1 }), seller(4), seller(5, { memberId: 'buyer' })], terms)?.orderId).toBe('o4');
  });
  it('answers null when nobody can take it', () => {
    expect(chooseRepair(shard(0), [seller(1), seller(2)], terms)).toBeNull();
  });
});

describe('provenShare', () => {
  it('counts every period bought in the whole and the passed ones in the part', () => {
    expect(provenShare([{ periods: 8, passed: 3 }, { periods: 8, passed: 8 }])).toEqual({ part: 11, whole: 16 });
    expect(provenShare([{ periods: 4, passed: 9 }])).toEqual({ part: 4, whole: 4 });
  });
});

describe('input checks', () => {
  it('refuses oversized, missing, unhashed and too many shards', () => {
    expect(shardProblem([shard(0), shard(1)])).toBeNull();
    expect(shardProblem([shard(0, MAX_SHARD_BYTES + 1)])).toMatch(/at most 16 MiB/);
    expect(shardProblem([shard(0), shard(2)])).toMatch(/none missing/);
    expect(shardProblem([{ index: 0, sizeBytes: 10, sha256: 'abc' }])).toMatch(/SHA-256/);
    expect(shardProblem(Array.from({ length: 65 }, (_, i) => shard(i, 1)))).toMatch(/at most 64 shards/);
    expect(shardProblem([])).toMatch(/at least one/);
  });

  it('refuses challenges outside their shard and too few of them', () => {
    const shards = [shard(0, 1000)];
    const ok = { shardIndex: 0, offset: 0, length: 100, nonce: 'n', expected: hash(9) };
    expect(challengeProblem([ok, ok], shards, 2)).toBeNull();
    expect(challengeProblem([ok], shards, 2)).toMatch(/needs 2 prepared/);
    expect(challengeProblem([ok, { ...ok, offset: 950 }], shards, 2)).toMatch(/outside/);
    expect(challengeProblem([ok, { ...ok, shardIndex: 3 }], shards, 1)).toMatch(/shard 3/);
  });
});
