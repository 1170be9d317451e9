'use client';

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorAlert, Field } from '../_components/form';
import { LoadMore, rowsOf } from '../_components/load-more';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { formatCredits, parseCredits } from '../_lib/money';
import { useTRPC } from '../_lib/trpc';
import { CATEGORY_LABELS, unitLabel, type Category } from '../_lib/units';
import { unitValue } from '@/server/barter/unit-values';
import { LegEditor, newLeg, type LegDraft } from './leg-editor';

type Leg = { category: Category; unit: string; quantity: number };
const describe = (legs: Leg[]) => legs.map((l) => `${l.quantity.toLocaleString()} ${unitLabel(l.unit)} ${l.category === 'MONEY' ? '' : `of ${CATEGORY_LABELS[l.category].toLowerCase()}`}`.trim()).join(' + ');

function BarterBoard({ memberId }: { memberId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  const [communityId, setCommunityId] = useState('');
  const chosen = communityId || mine.data?.items[0]?.id || '';
  const slug = mine.data?.items.find((c) => c.id === chosen)?.slug;
  const community = useQuery({ ...trpc.community.get.queryOptions({ slug: slug ?? 'none' }), enabled: Boolean(slug) });
  const offers = useInfiniteQuery({ ...trpc.barter.listPage.infiniteQueryOptions({ communityId: chosen, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }), enabled: Boolean(chosen) });
  const offerRows = rowsOf(offers.data);
  const [give, setGive] = useState<LegDraft[]>([newLeg('FILE')]);
  const [want, setWant] = useState<LegDraft[]>([newLeg('COMPUTE')]);
  const [tolerance, setTolerance] = useState('10');
  const [topUp, setTopUp] = useState(false);
  const [topUpMax, setTopUpMax] = useState('1');
  const [auto, setAuto] = useState(true);
  const [localError, setLocalError] = useState<string | null>(null);
  const refresh = () => {
    void queryClient.invalidateQueries(trpc.barter.pathFilter());
    void queryClient.invalidateQueries(trpc.ledger.pathFilter());
    void queryClient.invalidateQueries(trpc.contract.pathFilter());
  };
  const place = useMutation({ ...trpc.barter.offer.mutationOptions(), onSuccess: refresh });
  const accept = useMutation({ ...trpc.barter.accept.mutationOptions(), onSuccess: refresh });
  const cancel = useMutation({ ...trpc.barter.cancel.mutationOptions(), onSuccess: refresh });

  if (mine.isPending) return <Pending query={mine} />;
  if (!mine.data?.items.length) return <div className="card empty">Join a community to barter with its members.</div>;

  const rates = community.data?.valuationRates;
  const parse = (legs: LegDraft[]): Leg[] | null => {
    const parsed = legs.map((l) => ({ category: l.category, unit: l.unit, quantity: Number(l.quantity) }));
    return parsed.every((l) => Number.isInteger(l.quantity) && l.quantity > 0) ? parsed : null;
  };
  const value = (legs: LegDraft[]) => {
    const parsed = parse(legs);
    if (!parsed || !rates) return null;
    return parsed.reduce((sum, l) => sum + l.quantity * unitValue(l.category, l.unit, rates), 0);
  };
  const giveValue = value(give);
  const wantValue = value(want);
  const result = place.data;

  return (
    <>
      <h1>Barter</h1>
      {mine.data.items.length > 1 ? (
        <label style={{ marginBottom: '1rem' }}>
          Community
          <select value={chosen} onChange={(e) => setCommunityId(e.target.value)}>
            {mine.data.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </label>
      ) : null}
      <form
        className="card stack"
        onSubmit={(event) => {
          event.preventDefault();
          const g = parse(give);
          const w = parse(want);
          const tol = Number(tolerance);
          const max = parseCredits(topUpMax);
          if (!g || !w) return setLocalError('Every quantity must be a whole number above zero.');
          if (!Number.isFinite(tol) || tol < 0 || tol > 100) return setLocalError('Tolerance is a percentage from 0 to 100.');
          if (topUp && max === null) return setLocalError('The most you would add in credits must be a number.');
          setLocalError(null);
          place.mutate({ communityId: chosen, give: g, want: w, toleranceBps: Math.round(tol * 100), topUp: { allowed: topUp, max: topUp ? max! : 0 }, auto, fromPool: false });
        }}
      >
        <h2>Offer a swap</h2>
        {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={place.error} />}
        <LegEditor title="I give" legs={give} onChange={setGive} idPrefix="give" />
        <LegEditor title="I want" legs={want} onChange={setWant} idPrefix="want" />
        {giveValue !== null && wantValue !== null ? (
          <p className="muted small" data-testid="barter-values">
            You give about {formatCredits(giveValue)} credits of value and ask for about {formatCredits(wantValue)}.
          </p>
        ) : null}
        <div className="grid2">
          <Field label="Tolerance (%)" name="tolerance" inputMode="decimal" hint="How far the values may differ" value={tolerance} onChange={(e) => setTolerance(e.target.value)} />
          {topUp ? <Field label="Most I’d add (credits)" name="topUpMax" inputMode="decimal" value={topUpMax} onChange={(e) => setTopUpMax(e.target.value)} /> : <span />}
        </div>
        <label className="check"><input type="checkbox" checked={topUp} onChange={(e) => setTopUp(e.target.checked)} /> Credits may even out a bigger difference</label>
        <label className="check"><input type="checkbox" checked={auto} onChange={(e) => setAuto(e.target.checked)} /> Close automatically when matched</label>
        {result && !place.isPending ? (
          <div className="alert info" role="status" data-testid="barter-result">
            {result.deals.some((d) => d.status === 'CLOSED' && result.offer.dealId === d.dealId)
              ? 'Matched and closed: the legs are now contracts in Trades.'
              : result.offer.status === 'PROPOSED'
                ? 'Matched: the swap waits for everyone to accept.'
                : 'Your offer waits for a match.'}
          </div>
        ) : null}
        <button className="button block" type="submit" disabled={place.isPending || !chosen}>Post offer</button>
      </form>

      <div className="card">
        <h2>Offers</h2>
        <ErrorAlert error={accept.error ?? cancel.error} />
        {offers.data && offerRows.length === 0 ? <p className="empty">No open offers yet.</p> : null}
        <ul className="list" data-testid="barter-offers">
          {offerRows.map((o) => (
            <li key={o.id}>
              <div className="row spread">
                <strong>@{o.handle}{o.fromPool ? ' (community pool)' : ''}</strong>
                <span className={`state ${o.status === 'PROPOSED' ? 'DELIVERED' : 'OPEN'}`}>{o.status.toLowerCase()}</span>
              </div>
              <div className="small">Gives {describe(o.give)}</div>
              <div className="small">Wants {describe(o.want)}</div>
              <div className="muted small">worth {formatCredits(o.giveValue)} for {formatCredits(o.wantValue)} · ±{o.toleranceBps / 100}%</div>
              {o.memberId === memberId ? (
                <div className="row" style={{ marginTop: '0.4rem' }}>
                  {o.status === 'PROPOSED' && o.dealId ? <button className="button" onClick={() => accept.mutate({ dealId: o.dealId! })} disabled={accept.isPending}>Accept the swap</button> : null}
                  <button className="button secondary" onClick={() => cancel.mutate({ offerId: o.id })} disabled={cancel.isPending}>{o.status === 'PROPOSED' ? 'Decline' : 'Withdraw'}</button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
        <LoadMore query={offers} />
      </div>
    </>
  );
}

export default function BarterPage() {
  return <RequireMember what="barter">{(member) => <BarterBoard memberId={member.id} />}</RequireMember>;
}
