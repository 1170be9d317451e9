'use client';

import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Field } from '../../_components/form';
import { LoadMore, rowsOf } from '../../_components/load-more';
import { describeError } from '../../_lib/errors';
import { money, whenShort } from '../../_lib/format';
import { parseCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';

type Direction = 'DEPOSIT' | 'WITHDRAWAL';
type Draft = { memberId: string; handle: string; available: number; amount: number; reference: string; direction: Direction };
type Outcome = { ok: boolean; text: string } | null;

/**
 * The coordinator's cash desk: every member with their balances, a deposit or withdrawal recorded only
 * after a confirm step that shows the member's balance, and the cash journal. One outcome line for the
 * last action, so an earlier error never stands in for a later one.
 */
export function CoordinatorCash({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const members = useInfiniteQuery(trpc.admin.memberBalances.infiniteQueryOptions({ communityId, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }));
  const journal = useInfiniteQuery(trpc.admin.cashJournal.infiniteQueryOptions({ communityId, limit: 10 }, { getNextPageParam: (page) => page.nextCursor }));
  const memberRows = rowsOf(members.data);
  const journalRows = rowsOf(journal.data);

  const [memberId, setMemberId] = useState('');
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [draft, setDraft] = useState<Draft | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);

  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.admin.memberBalances.infiniteQueryKey({ communityId, limit: 20 }) });
    void queryClient.invalidateQueries({ queryKey: trpc.admin.cashJournal.infiniteQueryKey({ communityId, limit: 10 }) });
  };
  const deposit = useMutation(trpc.admin.cashDeposit.mutationOptions());
  const withdraw = useMutation(trpc.admin.cashWithdrawal.mutationOptions());
  const record = useMutation({
    mutationFn: (d: Draft) =>
      (d.direction === 'DEPOSIT' ? deposit : withdraw).mutateAsync({ communityId, memberId: d.memberId, amount: d.amount, externalReference: d.reference }),
    onSuccess: (_data, d) => {
      setOutcome({ ok: true, text: `Recorded: ${d.direction === 'DEPOSIT' ? 'deposit of' : 'withdrawal of'} ${money(d.amount)} credits ${d.direction === 'DEPOSIT' ? 'for' : 'from'} @${d.handle} (${d.reference}).` });
      setDraft(null);
      setAmount('');
      setReference('');
      refresh();
    },
    onError: (error) => {
      setOutcome({ ok: false, text: describeError(error).message });
      setDraft(null);
    },
  });

  const review = (direction: Direction) => {
    const micro = parseCredits(amount);
    const target = memberRows.find((m) => m.id === memberId) ?? memberRows[0];
    if (!target) return setOutcome({ ok: false, text: 'No member to choose yet.' });
    if (micro === null || micro <= 0) return setOutcome({ ok: false, text: 'The amount must be a number of credits above zero.' });
    if (!reference.trim()) return setOutcome({ ok: false, text: 'Give the external reference: the receipt or transfer number.' });
    setOutcome(null);
    setDraft({ memberId: target.id, handle: target.handle, available: target.available, amount: micro, reference: reference.trim(), direction });
  };

  return (
    <>
      <div className="card stack" data-testid="cash-desk">
        <h2>Cash</h2>
        <p className="muted small">Record cash a member paid in or took out, outside Swapmesh, with its receipt or transfer number.</p>
        {outcome ? (
          <div className={`alert ${outcome.ok ? 'info' : 'error'}`} role={outcome.ok ? 'status' : 'alert'} data-testid="cash-outcome">
            {outcome.text}
          </div>
        ) : null}
        {draft ? (
          <div className="card confirm stack" data-testid="cash-confirm">
            <h3 style={{ margin: 0 }}>{draft.direction === 'DEPOSIT' ? 'Record this deposit?' : 'Record this withdrawal?'}</h3>
            <dl>
              <dt>Member</dt>
              <dd>@{draft.handle}</dd>
              <dt>Available now</dt>
              <dd>{money(draft.available)}</dd>
              <dt>{draft.direction === 'DEPOSIT' ? 'Paid in' : 'Taken out'}</dt>
              <dd>{money(draft.amount)}</dd>
              <dt className="total">Available after</dt>
              <dd className="total">{money(draft.available + (draft.direction === 'DEPOSIT' ? draft.amount : -draft.amount))}</dd>
              <dt>Reference</dt>
              <dd>{draft.reference}</dd>
            </dl>
            {draft.direction === 'WITHDRAWAL' && draft.amount > draft.available ? (
              <div className="alert error" role="alert">
                This is more than @{draft.handle} has available: it will be refused unless the community&apos;s credit limit covers it.
              </div>
            ) : null}
            <div className="grid2">
              <button className="button secondary" type="button" onClick={() => setDraft(null)} disabled={record.isPending}>
                Back
              </button>
              <button className="button" type="button" onClick={() => record.mutate(draft)} disabled={record.isPending}>
                {record.isPending ? 'Recording…' : 'Confirm'}
              </button>
            </div>
          </div>
        ) : (
          <>
            <label>
              Member
              <select value={memberId} onChange={(e) => setMemberId(e.target.value)} data-testid="cash-member">
                {memberRows.map((m) => (
                  <option key={m.id} value={m.id}>
                    @{m.handle} · {money(m.available)} available
                  </option>
                ))}
              </select>
            </label>
            <div className="grid2">
              <Field label="Credits" name="cashAmount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
              <Field label="External reference" name="cashReference" value={reference} onChange={(e) => setReference(e.target.value)} />
            </div>
            <div className="grid2">
              <button className="button" type="button" onClick={() => review('DEPOSIT')}>
                Deposit…
              </button>
              <button className="button secondary" type="button" onClick={() => review('WITHDRAWAL')}>
                Withdrawal…
              </button>
            </div>
          </>
        )}
      </div>

      <div className="card">
        <h2>Members and balances</h2>
        <table className="values" data-testid="member-balances">
          <thead>
            <tr>
              <th>Member</th>
              <th className="num">Available</th>
              <th className="num">In escrow</th>
            </tr>
          </thead>
          <tbody>
            {memberRows.map((m) => (
              <tr key={m.id}>
                <td>
                  @{m.handle}
                  {m.role === 'COORDINATOR' ? <span className="muted small"> · coordinator</span> : null}
                </td>
                <td className="num wrap">{money(m.available)}</td>
                <td className="num wrap">{money(m.escrow)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <LoadMore query={members} label="More members" />
      </div>

      <div className="card">
        <h2>Cash journal</h2>
        {journalRows.length === 0 && !journal.isPending ? <p className="muted small">No cash recorded yet.</p> : null}
        <ul className="list" data-testid="cash-journal">
          {journalRows.map((line) => (
            <li key={line.id} className="statement-line">
              <div className="statement-what">
                <div className="statement-title">
                  {line.direction === 'DEPOSIT' ? 'Deposit' : 'Withdrawal'}
                  {line.member ? ` · @${line.member.handle}` : ''}
                </div>
                <div className="muted small">
                  {line.externalReference} · {whenShort(line.createdAt)}
                </div>
              </div>
              <div className="statement-amount">{line.direction === 'DEPOSIT' ? '+' : '−'}{money(line.amount)}</div>
            </li>
          ))}
        </ul>
        <LoadMore query={journal} label="Earlier cash" />
      </div>
    </>
  );
}
