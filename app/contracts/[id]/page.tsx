'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { use } from 'react';
import { ErrorAlert } from '../../_components/form';
import { Pending } from '../../_components/loading';
import { RequireMember } from '../../_components/require-member';
import { formatCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';
import { CATEGORY_LABELS, unitLabel, type Category } from '../../_lib/units';

const ACTION_LABELS: Record<string, string> = {
  MATCH: 'Matched',
  START: 'Started',
  REPORT_DELIVERED: 'Delivery reported',
  SIGN_OFF: 'Signed off: seller paid',
  DISPUTE: 'Disputed',
  FAIL: 'Failed',
  REFUND: 'Refunded to the buyer',
};

function ContractView({ contractId, memberId }: { contractId: string; memberId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const contract = useQuery(trpc.contract.get.queryOptions({ contractId }));
  const refresh = () => {
    void queryClient.invalidateQueries(trpc.contract.pathFilter());
    void queryClient.invalidateQueries(trpc.ledger.pathFilter());
  };
  const deliver = useMutation({ ...trpc.contract.reportDelivered.mutationOptions(), onSuccess: refresh });
  const signOff = useMutation({ ...trpc.contract.signOff.mutationOptions(), onSuccess: refresh });
  const dispute = useMutation({ ...trpc.contract.dispute.mutationOptions(), onSuccess: refresh });
  if (contract.isPending) return <Pending query={contract} />;
  if (contract.isError) return <ErrorAlert error={contract.error} />;
  const c = contract.data;
  const isBuyer = c.buyer.id === memberId;
  const busy = deliver.isPending || signOff.isPending || dispute.isPending;
  const live = ['MATCHED', 'ACTIVE', 'DELIVERED'].includes(c.state);
  return (
    <>
      <div className="card">
        <div className="row spread">
          <h1 style={{ margin: 0 }}>
            {CATEGORY_LABELS[c.category as Category] ?? c.category} contract
          </h1>
          <span className={`state ${c.state}`} data-testid="contract-state">{c.state.toLowerCase()}</span>
        </div>
        <table className="values" style={{ marginTop: '0.75rem' }}>
          <tbody>
            <tr><td>Quantity</td><td className="num">{c.quantity} {unitLabel(c.unit)}</td></tr>
            <tr><td>Price</td><td className="num">{formatCredits(c.price)} each</td></tr>
            <tr><td>Value</td><td className="num">{formatCredits(c.value)}</td></tr>
            <tr><td>Commission ({(c.commissionBps / 100).toFixed(2)}%)</td><td className="num">{formatCredits(c.buyerCommission + c.sellerCommission)}</td></tr>
            <tr><td>Buyer</td><td className="num">@{c.buyer.handle}{isBuyer ? ' (you)' : ''}</td></tr>
            <tr><td>Seller</td><td className="num">@{c.seller.handle}{!isBuyer ? ' (you)' : ''}</td></tr>
            <tr><td>Window</td><td className="num small">{new Date(c.windowStart).toLocaleString()} → {new Date(c.windowEnd).toLocaleString()}</td></tr>
            <tr><td>In escrow</td><td className="num">{formatCredits(c.escrowed)}</td></tr>
          </tbody>
        </table>
      </div>
      {live ? (
        <div className="card stack">
          <ErrorAlert error={deliver.error ?? signOff.error ?? dispute.error} />
          {!isBuyer && c.state !== 'DELIVERED' ? (
            <button className="button block" disabled={busy} onClick={() => deliver.mutate({ contractId })}>I have delivered</button>
          ) : null}
          {!isBuyer && c.state === 'DELIVERED' ? <p className="muted center">Waiting for @{c.buyer.handle} to sign off.</p> : null}
          {isBuyer && c.state === 'DELIVERED' ? (
            <button className="button block" disabled={busy} onClick={() => signOff.mutate({ contractId })}>
              Sign off and pay {formatCredits(c.value - c.sellerCommission)} to @{c.seller.handle}
            </button>
          ) : null}
          {isBuyer && c.state !== 'DELIVERED' ? <p className="muted center">Waiting for @{c.seller.handle} to deliver.</p> : null}
          {isBuyer ? (
            <button
              className="button danger block"
              disabled={busy}
              onClick={() => {
                if (window.confirm('Dispute this contract? Your escrow is refunded and the seller is not paid.')) dispute.mutate({ contractId });
              }}
            >
              Dispute and get a refund
            </button>
          ) : null}
        </div>
      ) : null}
      <div className="card">
        <h2>Timeline</h2>
        <ol className="timeline" data-testid="timeline">
          {c.events.map((e) => (
            <li key={e.id}>
              <strong>{ACTION_LABELS[e.action] ?? e.action}</strong>
              <div className="muted small">{new Date(e.createdAt).toLocaleString()}{e.note ? ` · ${e.note}` : ''}</div>
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
