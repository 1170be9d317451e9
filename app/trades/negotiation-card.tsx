'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorAlert } from '../_components/form';
import { parseCredits } from '../_lib/money';
import { unitPrice, when } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';
import { quantityText, unitName } from '../_lib/units';

type Negotiation = {
  id: string;
  buyerId: string;
  sellerId: string;
  quantity: number;
  unit: string;
  category: string;
  buyerPrice: number;
  sellerPrice: number;
  status: string;
  expiresAt: string;
  contractId: string | null;
  offers: { memberId: string; price: number }[];
};

export function NegotiationCard({ negotiation: n, memberId }: { negotiation: Negotiation; memberId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const isBuyer = n.buyerId === memberId;
  const mine = isBuyer ? n.buyerPrice : n.sellerPrice;
  const theirs = isBuyer ? n.sellerPrice : n.buyerPrice;
  const [price, setPrice] = useState(String((mine + theirs) / 2 / 1e6));
  const [localError, setLocalError] = useState<string | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries(trpc.negotiation.pathFilter());
    void queryClient.invalidateQueries(trpc.market.pathFilter());
    void queryClient.invalidateQueries(trpc.contract.pathFilter());
    void queryClient.invalidateQueries(trpc.ledger.pathFilter());
  };
  const counter = useMutation({ ...trpc.negotiation.counter.mutationOptions(), onSuccess: refresh });
  const accept = useMutation({ ...trpc.negotiation.accept.mutationOptions(), onSuccess: refresh });
  const reject = useMutation({ ...trpc.negotiation.reject.mutationOptions(), onSuccess: refresh });
  const busy = counter.isPending || accept.isPending || reject.isPending;
  const open = n.status === 'OPEN';
  return (
    <li data-negotiation-id={n.id}>
      <div className="row spread">
        <strong>
          {isBuyer ? 'Buying' : 'Selling'} {quantityText(n.quantity, n.unit)}
        </strong>
        <span className={`state ${n.status}`}>{n.status.toLowerCase()}</span>
      </div>
      <div className="small">
        You: <strong>{unitPrice(mine)}</strong> · They: <strong>{unitPrice(theirs)}</strong> credits per {unitName(n.unit, 1)}
      </div>
      {open ? (
        <>
          <div className="muted small">Expires {when(n.expiresAt)}</div>
          <ErrorAlert error={localError ? new Error(localError) : (counter.error ?? accept.error ?? reject.error)} />
          <form
            className="row"
            style={{ marginTop: '0.5rem' }}
            onSubmit={(e) => {
              e.preventDefault();
              const micro = parseCredits(price);
              if (micro === null || micro <= 0) return setLocalError('A counter-offer is a price in credits, more than 0.');
              setLocalError(null);
              counter.mutate({ negotiationId: n.id, price: micro });
            }}
          >
            <input aria-label="Counter-offer (credits per unit)" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} style={{ flex: 1 }} />
            <button className="button secondary" type="submit" disabled={busy}>Counter</button>
          </form>
          <div className="grid2" style={{ marginTop: '0.5rem' }}>
            <button className="button" disabled={busy} onClick={() => accept.mutate({ negotiationId: n.id })}>
              Accept {unitPrice(theirs)}
            </button>
            <button className="button danger" disabled={busy} onClick={() => reject.mutate({ negotiationId: n.id })}>Walk away</button>
          </div>
        </>
      ) : n.contractId ? (
        <a className="small" href={`/contracts/${n.contractId}`}>See the contract</a>
      ) : null}
    </li>
  );
}
