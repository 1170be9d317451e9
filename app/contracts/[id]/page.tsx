'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { use, useState } from 'react';
import { ErrorAlert, Field } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { LastKnownMark } from '../../_components/last-known-mark';
import { useLastKnown } from '../../_lib/last-known';
import { contractSettlesFromProof, deliveryScreen, isFileLeg } from '../../_lib/delivery';
import { humanNote, money, unitPrice, when } from '../../_lib/format';
import { useTRPC } from '../../_lib/trpc';
import { FileLeg } from './file-leg';
import { CATEGORY_LABELS, quantityText, unitName, type Category } from '../../_lib/units';

const ACTION_LABELS: Record<string, string> = {
  MATCH: 'Matched',
  START: 'Started',
  REPORT_DELIVERED: 'Delivery reported',
  SIGN_OFF: 'Signed off: seller paid',
  AUTO_SETTLE: 'Review period ended: seller paid',
  DISPUTE: 'Disputed by the buyer',
  RESPOND: 'Seller responded',
  RESOLVE_PAY: 'Coordinator decided: seller paid',
  RESOLVE_REFUND: 'Coordinator decided: buyer refunded',
  RESOLVE_SPLIT: 'Coordinator decided: split',
  SETTLE_PROVEN: 'Settled from proofs of delivery',
  FAIL: 'Failed',
  REFUND: 'Refunded to the buyer',
};

/** A statement box and its button, for a dispute, a response or a decision's reason. */
function Statement({ id, label, hint, value, onChange }: { id: string; label: string; hint: string; value: string; onChange: (text: string) => void }) {
  return (
    <label htmlFor={id}>
      {label}
      <span className="hint">{hint}</span>
      <textarea id={id} rows={3} maxLength={2000} value={value} onChange={(e) => onChange(e.target.value)} />
    </label>
  );
}

function ContractView({ contractId, memberId }: { contractId: string; memberId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const contractQuery = useQuery(trpc.contract.get.queryOptions({ contractId }));
  // offline, the contract as last seen on this device (app/_lib/last-known.ts)
  const contract = useLastKnown(`contract.${contractId}`, contractQuery);
  const [statement, setStatement] = useState('');
  const [decision, setDecision] = useState<'PAY_SELLER' | 'REFUND_BUYER' | 'SPLIT'>('SPLIT');
  const [sharePercent, setSharePercent] = useState('50');
  const [confirmSignOff, setConfirmSignOff] = useState(false);
  const refresh = () => {
    setStatement('');
    setConfirmSignOff(false);
    void queryClient.invalidateQueries(trpc.contract.pathFilter());
    void queryClient.invalidateQueries(trpc.ledger.pathFilter());
  };
  const deliver = useMutation({ ...trpc.contract.reportDelivered.mutationOptions(), onSuccess: refresh });
  const signOff = useMutation({ ...trpc.contract.signOff.mutationOptions(), onSuccess: refresh });
  const dispute = useMutation({ ...trpc.contract.dispute.mutationOptions(), onSuccess: refresh });
  const respond = useMutation({ ...trpc.contract.respond.mutationOptions(), onSuccess: refresh });
  const resolve = useMutation({ ...trpc.contract.resolveDispute.mutationOptions(), onSuccess: refresh });
  if (!contract.data) return contractQuery.isError ? <ErrorAlert error={contractQuery.error} /> : <Pending query={contractQuery} />;
  const c = contract.data;
  const isBuyer = c.buyer.id === memberId;
  const isSeller = c.seller.id === memberId;
  const proven = contractSettlesFromProof(c) && c.state !== 'DELIVERED';
  const screen = deliveryScreen(c, isBuyer ? 'BUYER' : 'SELLER');
  const busy = deliver.isPending || signOff.isPending || dispute.isPending || respond.isPending || resolve.isPending;
  const live = ['MATCHED', 'ACTIVE', 'DELIVERED'].includes(c.state);
  const commission = c.buyerCommission + c.sellerCommission;
  const sellerGets = Math.max(0, c.escrowed - commission);
  const shareBps = Math.round(Number(sharePercent) * 100);
  const shareValid = sharePercent.trim() !== '' && Number.isFinite(shareBps) && shareBps >= 0 && shareBps <= 10_000;
  return (
    <>
      <LastKnownMark asOf={contract.asOf} />
      <div className="card">
        <div className="row spread">
          <h1 style={{ margin: 0 }}>
            {CATEGORY_LABELS[c.category as Category] ?? c.category} contract
          </h1>
          <span className={`state ${c.state}`} data-testid="contract-state">{c.state.toLowerCase()}</span>
        </div>
        <table className="values contract-terms" style={{ marginTop: '0.75rem' }}>
          <tbody>
            <tr><td>Quantity</td><td className="num wrap">{quantityText(c.quantity, c.unit)}</td></tr>
            <tr><td>Price</td><td className="num wrap">{unitPrice(c.price)} credits per {unitName(c.unit, 1)}</td></tr>
            <tr><td>Value</td><td className="num">{money(c.value)} credits</td></tr>
            <tr><td>Commission ({(c.commissionBps / 100).toFixed(2)}%)</td><td className="num">{money(commission)}</td></tr>
            <tr><td>Buyer</td><td className="num wrap">@{c.buyer.handle}{isBuyer ? ' (you)' : ''}</td></tr>
            <tr><td>Seller</td><td className="num wrap">@{c.seller.handle}{isSeller ? ' (you)' : ''}</td></tr>
            <tr><td>Window</td><td className="num wrap small">{when(c.windowStart)} to {when(c.windowEnd)}</td></tr>
            <tr><td>In escrow</td><td className="num">{money(c.escrowed)}</td></tr>
            {c.reviewEndsAt && c.state === 'DELIVERED' ? (
              <tr><td>Settles by itself</td><td className="num wrap small" data-testid="review-ends">{when(c.reviewEndsAt)}</td></tr>
            ) : null}
          </tbody>
        </table>
      </div>
      {live && (isBuyer || isSeller) ? (
        <div className="card stack">
          <ErrorAlert error={deliver.error ?? signOff.error ?? dispute.error} />
          {proven && screen ? (
            <div className="stack" data-testid="delivered-by-app">
              <p className="muted" style={{ margin: 0 }}>{screen?.how}</p>
              {screen?.href ? (
                <Link className="button block" href={screen.href}>
                  {screen.label}
                </Link>
              ) : null}
            </div>
          ) : null}
          {isFileLeg(c) && ['MATCHED', 'ACTIVE'].includes(c.state) ? (
            <FileLeg contract={c} side={isBuyer ? 'BUYER' : 'SELLER'} />
          ) : null}
          {isSeller && !proven && c.state !== 'DELIVERED' ? (
            <button className="button block" disabled={busy} onClick={() => deliver.mutate({ contractId })}>I have delivered</button>
          ) : null}
          {isSeller && c.state === 'DELIVERED' ? (
            <p className="muted center">
              Waiting for @{c.buyer.handle} to sign off{c.reviewEndsAt ? `; without a dispute you are paid on ${when(c.reviewEndsAt)}` : ''}.
            </p>
          ) : null}
          {isBuyer && c.state === 'DELIVERED' && !confirmSignOff ? (
            <button className="button block" disabled={busy} onClick={() => setConfirmSignOff(true)}>
              Sign off and pay {money(sellerGets)} to @{c.seller.handle}
            </button>
          ) : null}
          {isBuyer && c.state === 'DELIVERED' && confirmSignOff ? (
            <div className="stack confirm card" role="group" aria-label="Confirm sign-off" data-testid="confirm-sign-off" style={{ margin: 0 }}>
              <p style={{ margin: 0 }}>
                <strong>Pay @{c.seller.handle} {money(sellerGets)} credits?</strong> Signing off says you received {quantityText(c.quantity, c.unit)}. It
                releases your escrow and cannot be undone: if something is wrong, dispute instead.
              </p>
              <button className="button block" disabled={busy} onClick={() => signOff.mutate({ contractId })}>
                Yes, pay {money(sellerGets)}
              </button>
              <button className="button secondary block" disabled={busy} onClick={() => setConfirmSignOff(false)}>
                Not yet
              </button>
            </div>
          ) : null}
          {isBuyer && !proven && c.state !== 'DELIVERED' ? <p className="muted center">Waiting for @{c.seller.handle} to deliver.</p> : null}
          {isBuyer ? (
            <form
              className="stack"
              onSubmit={(e) => {
                e.preventDefault();
                dispute.mutate({ contractId, note: statement });
              }}
            >
              <Statement
                id="dispute-statement"
                label="Something wrong?"
                hint="Say what went wrong. Your escrow stays held while the community's coordinator reads both sides and decides."
                value={statement}
                onChange={setStatement}
              />
              <button className="button danger block" disabled={busy || !statement.trim()} type="submit">Dispute</button>
            </form>
          ) : null}
        </div>
      ) : null}
      {c.state === 'DISPUTED' ? (
        <div className="card stack" data-testid="dispute">
          <h2 style={{ margin: 0 }}>Dispute</h2>
          <div>
            <strong>@{c.buyer.handle} (buyer)</strong>
            {c.statements.buyer.map((text, i) => <p key={i} className="small" style={{ margin: '0.25rem 0', whiteSpace: 'pre-wrap' }}>{text}</p>)}
          </div>
          <div>
            <strong>@{c.seller.handle} (seller)</strong>
            {c.statements.seller.length === 0 ? <p className="muted small" style={{ margin: '0.25rem 0' }}>No response yet.</p> : null}
            {c.statements.seller.map((text, i) => <p key={i} className="small" style={{ margin: '0.25rem 0', whiteSpace: 'pre-wrap' }}>{text}</p>)}
          </div>
          {isSeller ? (
            <form
              className="stack"
              onSubmit={(e) => {
                e.preventDefault();
                respond.mutate({ contractId, note: statement });
              }}
            >
              <ErrorAlert error={respond.error} />
              <Statement id="respond-statement" label="Your side" hint="What happened from your side? The coordinator reads it before deciding." value={statement} onChange={setStatement} />
              <button className="button block" disabled={busy || !statement.trim()} type="submit">Send response</button>
            </form>
          ) : null}
          {isBuyer && !c.viewer.coordinator ? <p className="muted center">The community&apos;s coordinator will decide. Your {money(c.escrowed)} credits stay in escrow until then.</p> : null}
          {c.viewer.coordinator ? (
            <form
              className="stack"
              data-testid="decide"
              onSubmit={(e) => {
                e.preventDefault();
                resolve.mutate({ contractId, decision, reason: statement, ...(decision === 'SPLIT' ? { sellerShareBps: shareBps } : {}) });
              }}
            >
              <ErrorAlert error={resolve.error} />
              <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }}>
                <legend>Your decision</legend>
                {([
                  ['PAY_SELLER', `Pay the seller ${money(sellerGets)}`],
                  ['REFUND_BUYER', `Refund the buyer ${money(c.escrowed)}`],
                  ['SPLIT', 'Split'],
                ] as const).map(([value, text]) => (
                  <label key={value} className="check">
                    <input type="radio" name="decision" value={value} checked={decision === value} onChange={() => setDecision(value)} />
                    {text}
                  </label>
                ))}
              </fieldset>
              {decision === 'SPLIT' ? (
                <Field
                  label="Seller's share (%)"
                  hint={shareValid ? `About ${money(Math.floor((sellerGets * shareBps) / 10_000))} to the seller, ${money(c.escrowed - Math.floor((c.escrowed * shareBps) / 10_000))} back to the buyer.` : 'From 0 to 100.'}
                  name="share"
                  inputMode="decimal"
                  value={sharePercent}
                  onChange={(e) => setSharePercent(e.target.value)}
                />
              ) : null}
              <Statement id="decision-reason" label="Reason" hint="Both sides see it in the timeline." value={statement} onChange={setStatement} />
              <button className="button block" disabled={busy || !statement.trim() || (decision === 'SPLIT' && !shareValid)} type="submit">Decide</button>
            </form>
          ) : null}
        </div>
      ) : null}
      <div className="card">
        <h2>Timeline</h2>
        <ol className="timeline" data-testid="timeline">
          {c.events.map((e) => (
            <li key={e.id}>
              <strong>{ACTION_LABELS[e.action] ?? e.action}</strong>
              <div className="muted small" style={{ overflowWrap: 'anywhere' }}>{when(e.createdAt)}{e.note ? ` · ${humanNote(e.note)}` : ''}</div>
            </li>
          ))}
        </ol>
      </div>
    </>
  );
}

export default function ContractPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = use(params);
  return <RequireMember what="see this contract">{(member) => <ContractView contractId={id} memberId={member.id} />}</RequireMember>;
}
