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
  accountBounds,
  COMMUNITY_BALANCE_BOUND,
  federationAccount,
  guardFor,
  mayPost,
  MEMBER_BALANCE_MAX,
  type AccountRef,
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

  it('members may go down to the credit limit, escrow and pools never below zero, clearing within the link cap', () => {
    expect(accountBounds(memberAccount('a'), { creditLimit: 100 })).toEqual({ floor: -100, ceiling: MEMBER_BALANCE_MAX });
    expect(mayPost(0, -100, accountBounds(memberAccount('a'), { creditLimit: 100 }))).toBe(true);
    expect(mayPost(0, -101, accountBounds(memberAccount('a'), { creditLimit: 100 }))).toBe(false);
    expect(mayPost(0, -1, accountBounds(escrowAccount('a'), { creditLimit: 1_000 }))).toBe(false);
    expect(mayPost(5, -5, accountBounds(communityAccount('SWEEPSTAKES'), { creditLimit: 1_000 }))).toBe(true);
    expect(mayPost(5, -6, accountBounds(communityAccount('SWEEPSTAKES'), { creditLimit: 1_000 }))).toBe(false);
    expect(mayPost(0, -1, accountBounds(communityAccount('COMMISSION'), { creditLimit: 1_000 }))).toBe(false);
    expect(mayPost(-1e12, -1e12, accountBounds(communityAccount('ISSUER'), { creditLimit: 0 }))).toBe(true);
    expect(mayPost(-COMMUNITY_BALANCE_BOUND, -1, accountBounds(communityAccount('ISSUER'), { creditLimit: 0 }))).toBe(false);
    const clearing = accountBounds(federationAccount('peer'), { creditLimit: 0, linkCap: 50 });
    expect(clearing).toEqual({ floor: -50, ceiling: 50 });
    expect(mayPost(40, 10, clearing)).toBe(true);
    expect(mayPost(40, 11, clearing)).toBe(false);
    expect(mayPost(-40, -11, clearing)).toBe(false);
    expect(mayPost(0, 1, accountBounds(federationAccount('peer'), { creditLimit: 0 }))).toBe(false); // no link, no cap
  });

  it('a movement back toward the range is allowed even when the balance is already past a lowered bound', () => {
    const clearing = accountBounds(federationAccount('peer'), { creditLimit: 0, linkCap: 10 });
    expect(mayPost(-30, 25, clearing)).toBe(true);
    expect(mayPost(-30, -1, clearing)).toBe(false);
    expect(mayPost(-30, 41, clearing)).toBe(false); // overshoots the other side
    expect(guardFor(-7, clearing)).toEqual({ gte: -3n });
    expect(guardFor(7, clearing)).toEqual({ lte: 3n });
  });

  it('no account can be taken past a bound, and every sum of two bounded balances stays a safe integer', () => {
    const kinds: AccountRef[] = [
      memberAccount('a'), escrowAccount('a'), communityAccount('ISSUER'), communityAccount('CASH_CLEARING'),
      communityAccount('COMMISSION'), communityAccount('SWEEPSTAKES'), federationAccount('peer'),
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...kinds),
        fc.integer({ min: 0, max: MEMBER_BALANCE_MAX }),
        fc.integer({ min: 0, max: 10 * COMMUNITY_BALANCE_BOUND }),
        fc.array(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }).filter((n) => n !== 0), { maxLength: 40 }),
        (account, creditLimit, linkCap, amounts) => {
          const bounds = accountBounds(account, { creditLimit, linkCap });
          expect(bounds.floor).toBeLessThanOrEqual(0);
          expect(bounds.ceiling).toBeGreaterThanOrEqual(0);
          expect(bounds.ceiling - bounds.floor).toBeLessThanOrEqual(2 * COMMUNITY_BALANCE_BOUND);
          let balance = 0;
          for (const amount of amounts) {
            if (!mayPost(balance, amount, bounds)) continue;
            balance += amount;
            expect(balance).toBeGreaterThanOrEqual(bounds.floor);
            expect(balance).toBeLessThanOrEqual(bounds.ceiling);
          }
          expect(Number.isSafeInteger(COMMUNITY_BALANCE_BOUND + Math.abs(balance))).toBe(true);
        },
      ),
    );
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
