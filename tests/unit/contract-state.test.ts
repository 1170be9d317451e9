import { describe, expect, it } from 'vitest';
import {
  CONTRACT_ACTIONS,
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
  REFUND: { actors: ['SYSTEM'], from: ['DISPUTED', 'FAILED'], to: 'REFUNDED' },
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
    expect(allowedActions('MATCHED', 'SYSTEM')).toEqual(['START', 'FAIL']);
    expect(allowedActions('DELIVERED', 'BUYER')).toEqual(['SIGN_OFF', 'DISPUTE']);
    expect(allowedActions('FAILED', 'SYSTEM')).toEqual(['REFUND']);
  });

  it('moves money only on sign-off and refund', () => {
    expect(CONTRACT_ACTIONS.map((a) => [a, moneyEffect(a)])).toEqual([
      ['START', 'NONE'],
      ['REPORT_DELIVERED', 'NONE'],
      ['SIGN_OFF', 'PAY_SELLER'],
      ['DISPUTE', 'NONE'],
      ['FAIL', 'NONE'],
      ['REFUND', 'REFUND_BUYER'],
    ]);
  });
});
