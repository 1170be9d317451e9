import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertBalanced,
  communityAccount,
  escrowAccount,
  grant,
  memberAccount,
  netByAccount,
  transfer,
  UnbalancedEntryError,
  withinCreditLimit,
  type JournalEntry,
} from '@/server/ledger/postings';

describe('journal entries', () => {
  it('a grant debits the community issuer and credits the member', () => {
    const entry = grant('m1', 5_000_000, 'welcome');
    expect(entry.lines).toEqual([
      { account: { kind: 'ISSUER', memberId: null }, amount: -5_000_000 },
      { account: { kind: 'MEMBER', memberId: 'm1' }, amount: 5_000_000 },
    ]);
    expect(() => assertBalanced(entry)).not.toThrow();
  });

  it('refuses unbalanced, empty, fractional and zero postings', () => {
    const a = memberAccount('a');
    const b = memberAccount('b');
    const bad: JournalEntry[] = [
      { kind: 'X', memo: '', lines: [{ account: a, amount: -5 }, { account: b, amount: 4 }] },
      { kind: 'X', memo: '', lines: [{ account: a, amount: 0 }, { account: b, amount: 0 }] },
      { kind: 'X', memo: '', lines: [{ account: a, amount: -1.5 }, { account: b, amount: 1.5 }] },
      { kind: 'X', memo: '', lines: [{ account: a, amount: 3 }] },
    ];
    for (const entry of bad) expect(() => assertBalanced(entry)).toThrow(UnbalancedEntryError);
  });

  it('refuses non-positive and unsafe transfer amounts', () => {
    for (const amount of [0, -1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      expect(() => transfer(memberAccount('a'), memberAccount('b'), amount, 'T', '')).toThrow(UnbalancedEntryError);
    }
  });

  it('nets repeated accounts', () => {
    const entry: JournalEntry = {
      kind: 'X',
      memo: '',
      lines: [
        { account: memberAccount('a'), amount: -10 },
        { account: escrowAccount('a'), amount: 7 },
        { account: memberAccount('a'), amount: -2 },
        { account: communityAccount('COMMISSION'), amount: 5 },
      ],
    };
    expect(netByAccount(entry)).toEqual([
      { account: memberAccount('a'), amount: -12 },
      { account: escrowAccount('a'), amount: 7 },
      { account: communityAccount('COMMISSION'), amount: 5 },
    ]);
  });

  it('members may go down to the credit limit, escrow never below zero, community accounts anywhere', () => {
    expect(withinCreditLimit(memberAccount('a'), -100, 100)).toBe(true);
    expect(withinCreditLimit(memberAccount('a'), -101, 100)).toBe(false);
    expect(withinCreditLimit(escrowAccount('a'), -1, 1_000)).toBe(false);
    expect(withinCreditLimit(communityAccount('ISSUER'), -1e12, 0)).toBe(true);
  });

  it('any sequence of grants and transfers keeps every entry balanced and the ledger summing to zero', () => {
    const members = ['a', 'b', 'c', 'd'];
    const op = fc.oneof(
      fc.record({ type: fc.constant('grant' as const), to: fc.constantFrom(...members), amount: fc.integer({ min: 1, max: 1e12 }) }),
      fc.record({
        type: fc.constant('transfer' as const),
        from: fc.constantFrom(...members),
        to: fc.constantFrom(...members),
        amount: fc.integer({ min: 1, max: 1e12 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const balances = new Map<string, number>();
        for (const o of ops) {
          const entry =
            o.type === 'grant'
              ? grant(o.to, o.amount, '')
              : transfer(memberAccount(o.from), memberAccount(o.to), o.amount, 'TRANSFER', '');
          assertBalanced(entry);
          for (const line of entry.lines) {
            const key = `${line.account.kind}:${line.account.memberId}`;
            balances.set(key, (balances.get(key) ?? 0) + line.amount);
          }
        }
        const total = [...balances.values()].reduce((sum, value) => sum + value, 0);
        expect(total).toBe(0);
      }),
    );
  });
});
