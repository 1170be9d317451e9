import { describe, expect, it } from 'vitest';
import {
  CONTRACT_ACTIONS,
  reviewEndsAt,
  splitAmounts,
  proRataAmounts,
  CONTRACT_ACTORS,
  CONTRACT_STATES,
  allowedActions,
  isFinal,
  moneyEffect,
  transition,
  type ContractAction,
  type ContractActor,
  type ContractState,
} from '@/server/market/contract-state';

/** The whole table from the brief: action → who may do it, from where, to where. */
const ALLOWED: Record<ContractAction, { actors: ContractActor[]; from: ContractState[]; to: ContractState }> = {
  START: { actors: ['SELLER', 'SYSTEM'], from: ['MATCHED'], to: 'ACTIVE' },
  REPORT_DELIVERED: { actors: ['SELLER'], from: ['MATCHED', 'ACTIVE'], to: 'DELIVERED' },
  SIGN_OFF: { actors: ['BUYER'], from: ['DELIVERED'], to: 'SETTLED' },
  DISPUTE: { actors: ['BUYER'], from: ['MATCHED', 'ACTIVE', 'DELIVERED'], to: 'DISPUTED' },
  FAIL: { actors: ['SYSTEM'], from: ['MATCHED', 'ACTIVE'], to: 'FAILED' },
  REFUND: { actors: ['SYSTEM'], from: ['FAILED'], to: 'REFUNDED' },
  AUTO_SETTLE: { actors: ['SYSTEM'], from: ['DELIVERED'], to: 'SETTLED' },
  RESPOND: { actors: ['SELLER'], from: ['DISPUTED'], to: 'DISPUTED' },
  RESOLVE_PAY: { actors: ['COORDINATOR'], from: ['DISPUTED'], to: 'SETTLED' },
  RESOLVE_REFUND: { actors: ['COORDINATOR'], from: ['DISPUTED'], to: 'REFUNDED' },
  RESOLVE_SPLIT: { actors: ['COORDINATOR'], from: ['DISPUTED'], to: 'SETTLED' },
  SETTLE_PROVEN: { actors: ['SYSTEM'], from: ['MATCHED', 'ACTIVE'], to: 'SETTLED' },
};

describe('contract state machine', () => {
  for (const state of CONTRACT_STATES) {
    for (const action of CONTRACT_ACTIONS) {
      for (const actor of CONTRACT_ACTORS) {
        const rule = ALLOWED[action];
        const allowed = rule.actors.includes(actor) && rule.from.includes(state);
        it(`${actor} ${action} on ${state} is ${allowed ? `allowed → ${rule.to}` : 'refused'}`, () => {
          const result = transition(state, action, actor);
          if (allowed) {
            expect(result).toEqual({ ok: true, next: rule.to });
          } else {
            expect(result.ok).toBe(false);
            if (!result.ok) expect(result.reason).toMatch(/^[A-Z].*\.$/);
          }
        });
      }
    }
  }

  it('explains refusals in words a person understands', () => {
    expect(transition('DELIVERED', 'SIGN_OFF', 'SELLER')).toEqual({ ok: false, reason: 'Only the buyer can sign off.' });
    expect(transition('SETTLED', 'SIGN_OFF', 'BUYER')).toEqual({ ok: false, reason: 'This contract was already settled.' });
    expect(transition('SETTLED', 'DISPUTE', 'BUYER')).toEqual({ ok: false, reason: 'This contract was already settled.' });
    expect(transition('REFUNDED', 'REFUND', 'SYSTEM')).toEqual({ ok: false, reason: 'This contract was already refunded.' });
    expect(transition('ACTIVE', 'SIGN_OFF', 'BUYER')).toEqual({
      ok: false,
      reason: 'Only a delivered contract can be signed off. This one is active.',
    });
    expect(transition('MATCHED', 'REPORT_DELIVERED', 'BUYER')).toEqual({ ok: false, reason: 'Only the seller can report delivery.' });
    expect(transition('DISPUTED', 'REFUND', 'BUYER')).toEqual({ ok: false, reason: 'Only the system can refund the contract.' });
    expect(transition('DISPUTED', 'REFUND', 'SYSTEM')).toMatchObject({ ok: false, reason: expect.stringMatching(/decided by the community's coordinator/) });
    expect(transition('DISPUTED', 'RESOLVE_PAY', 'BUYER')).toEqual({ ok: false, reason: "Only the community's coordinator can decide a dispute." });
    expect(transition('DELIVERED', 'RESOLVE_REFUND', 'COORDINATOR')).toEqual({ ok: false, reason: 'Only a disputed contract can be decided. This one is delivered.' });
  });

  it('refuses unknown actions and states from untyped callers', () => {
    expect(transition('MATCHED', 'EXPLODE' as ContractAction, 'SYSTEM').ok).toBe(false);
    expect(transition('LIMBO' as ContractState, 'START', 'SYSTEM').ok).toBe(false);
    expect(transition('MATCHED', 'toString' as ContractAction, 'SYSTEM').ok).toBe(false);
  });

  it('has exactly two final states, and nothing leaves them', () => {
    expect(CONTRACT_STATES.filter(isFinal)).toEqual(['SETTLED', 'REFUNDED']);
    for (const state of CONTRACT_STATES.filter(isFinal)) {
      for (const actor of CONTRACT_ACTORS) expect(allowedActions(state, actor)).toEqual([]);
    }
  });

  it('every non-final state can still reach a final state', () => {
    for (const start of CONTRACT_STATES) {
      const seen = new Set<ContractState>([start]);
      const queue: ContractState[] = [start];
      while (queue.length > 0) {
        const state = queue.shift()!;
        for (const actor of CONTRACT_ACTORS) {
          for (const action of allowedActions(state, actor)) {
            const r = transition(state, action, actor);
            if (r.ok && !seen.has(r.next)) {
              seen.add(r.next);
              queue.push(r.next);
            }
          }
        }
      }
      expect([...seen].some(isFinal)).toBe(true);
    }
  });

  it('lists what each party may do', () => {
    expect(allowedActions('MATCHED', 'SELLER')).toEqual(['START', 'REPORT_DELIVERED']);
    expect(allowedActions('MATCHED', 'SYSTEM')).toEqual(['START', 'FAIL', 'SETTLE_PROVEN']);
    expect(allowedActions('DELIVERED', 'BUYER')).toEqual(['SIGN_OFF', 'DISPUTE']);
    expect(allowedActions('DELIVERED', 'SYSTEM')).toEqual(['AUTO_SETTLE']);
    expect(allowedActions('FAILED', 'SYSTEM')).toEqual(['REFUND']);
    expect(allowedActions('DISPUTED', 'SELLER')).toEqual(['RESPOND']);
    expect(allowedActions('DISPUTED', 'BUYER')).toEqual([]);
    expect(allowedActions('DISPUTED', 'SYSTEM')).toEqual([]);
    expect(allowedActions('DISPUTED', 'COORDINATOR')).toEqual(['RESOLVE_PAY', 'RESOLVE_REFUND', 'RESOLVE_SPLIT']);
  });

  it('a delivered contract settles by itself when the review period ends', () => {
    expect(reviewEndsAt(new Date('2026-12-01T00:00:00Z'), 72).toISOString()).toBe('2026-12-04T00:00:00.000Z');
    expect(reviewEndsAt(new Date('2026-12-01T00:00:00Z'), 1).toISOString()).toBe('2026-12-01T01:00:00.000Z');
  });

  it('a split pays the seller their share less commission pro rata and refunds the rest, to the micro-credit', () => {
    // escrow 1,010,000 µ (value 1,000,000 + buyer's share 10,000), commission 20,000
    expect(splitAmounts(1_010_000, 20_000, 10_000)).toEqual({ paid: 1_010_000, commission: 20_000, sellerGets: 990_000, refund: 0 });
    expect(splitAmounts(1_010_000, 20_000, 0)).toEqual({ paid: 0, commission: 0, sellerGets: 0, refund: 1_010_000 });
    expect(splitAmounts(1_010_000, 20_000, 5_000)).toEqual({ paid: 505_000, commission: 10_000, sellerGets: 495_000, refund: 505_000 });
    for (const [escrowed, commission] of [[7, 3], [1_000_003, 20_001], [999, 0], [1, 1]] as const) {
      for (let bps = 0; bps <= 10_000; bps += 137) {
        const s = splitAmounts(escrowed, commission, bps);
        expect(s.sellerGets + s.commission + s.refund).toBe(escrowed);
        expect(Math.min(s.sellerGets, s.commission, s.refund)).toBeGreaterThanOrEqual(0);
      }
    }
    expect(() => splitAmounts(100, 10, 10_001)).toThrow(RangeError);
    expect(() => splitAmounts(100, 101, 5_000)).toThrow(RangeError);
  });

  it('proof of delivery pays the proven fraction of the escrow, commission pro rata, and refunds the rest', () => {
    expect(proRataAmounts(1_010_000, 20_000, 2, 2)).toEqual(splitAmounts(1_010_000, 20_000, 10_000));
    expect(proRataAmounts(1_010_000, 20_000, 0, 2)).toEqual(splitAmounts(1_010_000, 20_000, 0));
    expect(proRataAmounts(1_010_000, 20_000, 1, 2)).toEqual(splitAmounts(1_010_000, 20_000, 5_000));
    // 60 s streamed of a rental of 1 device·hour: a fraction of a unit, in seconds
    expect(proRataAmounts(3_600_000, 0, 60, 3600).paid).toBe(60_000);
    for (const [escrowed, commission, whole] of [[7, 3, 3], [1_000_003, 20_001, 7], [999, 0, 1], [1, 1, 3600]] as const) {
      for (let part = 0; part <= whole; part += Math.max(1, Math.floor(whole / 13))) {
        const s = proRataAmounts(escrowed, commission, part, whole);
        expect(s.sellerGets + s.commission + s.refund).toBe(escrowed);
        expect(Math.min(s.sellerGets, s.commission, s.refund)).toBeGreaterThanOrEqual(0);
      }
    }
    expect(() => proRataAmounts(100, 10, 3, 2)).toThrow(RangeError);
    expect(() => proRataAmounts(100, 10, -1, 2)).toThrow(RangeError);
    expect(() => proRataAmounts(100, 10, 0.5, 2)).toThrow(RangeError);
  });

  it('moves money only on settlement, refund and a decided dispute', () => {
    expect(CONTRACT_ACTIONS.map((a) => [a, moneyEffect(a)])).toEqual([
      ['START', 'NONE'],
      ['REPORT_DELIVERED', 'NONE'],
      ['SIGN_OFF', 'PAY_SELLER'],
      ['DISPUTE', 'NONE'],
      ['FAIL', 'NONE'],
      ['REFUND', 'REFUND_BUYER'],
      ['AUTO_SETTLE', 'PAY_SELLER'],
      ['RESPOND', 'NONE'],
      ['RESOLVE_PAY', 'PAY_SELLER'],
      ['RESOLVE_REFUND', 'REFUND_BUYER'],
      ['RESOLVE_SPLIT', 'SPLIT'],
      ['SETTLE_PROVEN', 'PRO_RATA'],
    ]);
  });
});
