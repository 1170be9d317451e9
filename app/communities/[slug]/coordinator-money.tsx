'use client';

import { useMutation, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { formatCredits, parseCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';

const hex = (bytes: ArrayBuffer) => [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

/** Cash in and out, and the sweepstakes draw: the coordinator's money tools. */
export function CoordinatorMoney({ communityId }: { communityId: string }) {
  const trpc = useTRPC();
  const members = useQuery(trpc.community.members.queryOptions({ communityId }));
  const [memberId, setMemberId] = useState('');
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [localError, setLocalError] = useState<string | null>(null);
  const deposit = useMutation(trpc.admin.cashDeposit.mutationOptions());
  const withdraw = useMutation(trpc.admin.cashWithdrawal.mutationOptions());
  const commit = useMutation(trpc.admin.commitDraw.mutationOptions());
  const reveal = useMutation(trpc.admin.revealDraw.mutationOptions());
  const [days, setDays] = useState('7');
  const storageKey = `swapmesh.draw.${communityId}`;

  const cash = (direction: 'in' | 'out') => {
    const micro = parseCredits(amount);
    const target = memberId || members.data?.[0]?.id;
    if (micro === null || micro <= 0) return setLocalError('The amount must be a number of credits above zero.');
    if (!target || !reference.trim()) return setLocalError('Choose the member and give the external reference.');
    setLocalError(null);
    (direction === 'in' ? deposit : withdraw).mutate({ communityId, memberId: target, amount: micro, externalReference: reference.trim() });
  };

  /** The secret is made and kept on this device until the reveal; only its SHA-256 goes to the coordinator. */
  const startDraw = async () => {
    const secret = hex(crypto.getRandomValues(new Uint8Array(32)).buffer);
    const commitment = hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)));
    const periodStart = new Date(Date.now() + 60_000);
    const periodEnd = new Date(periodStart.getTime() + Number(days) * 86_400_000);
    const draw = await commit.mutateAsync({ communityId, commitment, periodStart: periodStart.toISOString(), periodEnd: periodEnd.toISOString() });
    localStorage.setItem(storageKey, JSON.stringify({ drawId: draw.id, secret, periodEnd: periodEnd.toISOString() }));
  };
  const [saved, setSaved] = useState<{ drawId: string; secret: string; periodEnd: string } | null>(null);
  useEffect(() => setSaved(JSON.parse(localStorage.getItem(storageKey) ?? 'null')), [storageKey, commit.data, reveal.data]);

  return (
    <>
      <div className="card stack">
        <h2>Cash</h2>
        <p className="muted small">Record cash a member paid in or took out, outside Swapmesh, with its receipt or transfer number.</p>
        {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={deposit.error ?? withdraw.error} />}
        {deposit.isSuccess || withdraw.isSuccess ? <div className="alert info" role="status">Recorded.</div> : null}
        <label>
          Member
          <select value={memberId} onChange={(e) => setMemberId(e.target.value)}>
            {members.data?.map((m) => <option key={m.id} value={m.id}>@{m.handle}</option>)}
          </select>
        </label>
        <div className="grid2">
          <Field label="Credits" name="cashAmount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
          <Field label="External reference" name="cashReference" value={reference} onChange={(e) => setReference(e.target.value)} />
        </div>
        <div className="grid2">
          <button className="button" type="button" onClick={() => cash('in')} disabled={deposit.isPending}>Deposit</button>
          <button className="button secondary" type="button" onClick={() => cash('out')} disabled={withdraw.isPending}>Withdrawal</button>
        </div>
      </div>
      <div className="card stack">
        <h2>Sweepstakes</h2>
        <p className="muted small">
          Contributions earn tickets. Start a draw: this device keeps a secret and publishes only its fingerprint; after the
          period, reveal it and anyone can check the winner.
        </p>
        <ErrorAlert error={commit.error ?? reveal.error} />
        {saved ? (
          <>
            <p className="small">A draw ends {new Date(saved.periodEnd).toLocaleString()}.</p>
            <button className="button block" type="button" disabled={reveal.isPending} onClick={() => reveal.mutate({ communityId, drawId: saved.drawId, secret: saved.secret }, { onSuccess: () => localStorage.removeItem(storageKey) })}>
              Reveal and draw the winner
            </button>
          </>
        ) : (
          <div className="row">
            <Field label="Period (days)" name="drawDays" inputMode="numeric" value={days} onChange={(e) => setDays(e.target.value)} />
            <button className="button" type="button" style={{ alignSelf: 'flex-end' }} disabled={commit.isPending} onClick={() => void startDraw()}>Start a draw</button>
          </div>
        )}
        {reveal.data ? (
          <div className="alert info" role="status">
            {reveal.data.winnerId ? `Winner drawn from ${reveal.data.tickets.length} tickets: ${formatCredits(reveal.data.prize)} credits paid.` : 'No tickets in that period: no winner.'}
          </div>
        ) : null}
      </div>
    </>
  );
}
