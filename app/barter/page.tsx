'use client';

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorAlert, Field } from '../_components/form';
import { LoadMore, rowsOf } from '../_components/load-more';
import { LastKnownMark } from '../_components/last-known-mark';
import { Pending } from '../_components/loading';
import { RequireMember } from '../_components/require-member';
import { useLastKnown } from '../_lib/last-known';
import { formatCredits, parseCredits } from '../_lib/money';
import { useTRPC } from '../_lib/trpc';
import { CATEGORY_LABELS, unitLabel, type Category } from '../_lib/units';
import { unitValue } from '@/server/barter/unit-values';
import { differenceBps, whyNoMatch, type OfferFacts } from '@/server/barter/no-match';
import { LegEditor, newLeg, type LegDraft } from './leg-editor';

type Leg = { category: Category; unit: string; quantity: number };
const describe = (legs: Leg[]) => legs.map((l) => `${l.quantity.toLocaleString()} ${unitLabel(l.unit)} ${l.category === 'MONEY' ? '' : `of ${CATEGORY_LABELS[l.category].toLowerCase()}`}`.trim()).join(' + ');

const toDraft = (legs: Leg[]): LegDraft[] => legs.map((l) => ({ category: l.category, unit: l.unit, quantity: String(l.quantity) }));

/** How far apart what I give and what I ask for are, against my tolerance: two bars and a sentence. */
function BalanceMeter({ give, want, toleranceBps }: { give: number; want: number; toleranceBps: number }) {
  const larger = Math.max(give, want, 1);
  const apartBps = differenceBps(give, want);
  const within = apartBps <= toleranceBps;
  const bar = (v: number) => `${Math.max(2, Math.round((100 * v) / larger))}%`;
  return (
    <div className="barter-meter" data-testid="barter-meter">
      <div className="meter-row"><span className="small">I give</span><span className="meter"><span style={{ width: bar(give) }} /></span><span className="small num">{formatCredits(give)}</span></div>
      <div className="meter-row"><span className="small">I get</span><span className="meter"><span style={{ width: bar(want) }} /></span><span className="small num">{formatCredits(want)}</span></div>
      <p className={`small ${within ? 'muted' : 'warn'}`} style={{ margin: 0 }} data-testid="barter-balance">
        {apartBps === 0
          ? 'Even: both sides are worth the same.'
          : `${(apartBps / 100).toFixed(1)}% apart (${give > want ? 'you give more' : 'you ask for more'}): ${within ? `within your ±${toleranceBps / 100}%` : `beyond your ±${toleranceBps / 100}%, so only an offer that tolerates it, or credits evening it out, can match`}.`}
      </p>
    </div>
  );
}

function BarterBoard({ memberId }: { memberId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const mineQuery = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  // offline, the communities, their rates and the offers as this device last saw them (app/_lib/last-known.ts)
  const mine = useLastKnown('barter.communities', mineQuery);
  const [communityId, setCommunityId] = useState('');
  const chosen = communityId || mine.data?.items[0]?.id || '';
  const slug = mine.data?.items.find((c) => c.id === chosen)?.slug;
  const communityQuery = useQuery({ ...trpc.community.get.queryOptions({ slug: slug ?? 'none' }), enabled: Boolean(slug) });
  const community = useLastKnown(`barter.community.${chosen}`, communityQuery);
  const offersQuery = useInfiniteQuery({ ...trpc.barter.listPage.infiniteQueryOptions({ communityId: chosen, limit: 20 }, { getNextPageParam: (page) => page.nextCursor }), enabled: Boolean(chosen) });
  const offers = useLastKnown(`barter.offers.${chosen}`, offersQuery);
  const offerRows = rowsOf(offers.data);
  const asOf = offers.asOf ?? mine.asOf;
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

  if (!mine.data) return mineQuery.isError ? <ErrorAlert error={mineQuery.error} /> : <Pending query={mineQuery} />;
  if (!mine.data.items.length) return <div className="card empty">Join a community to barter with its members.</div>;

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
  const tolerancePercent = Number(tolerance);
  const open = offerRows.filter((o) => o.status === 'OPEN');
  const facts = (o: (typeof offerRows)[number]): OfferFacts => ({ memberId: o.memberId, handle: o.handle, give: o.give, want: o.want, toleranceBps: o.toleranceBps, topUp: o.topUp });
  const reasonFor = (o: (typeof offerRows)[number]) => (rates ? whyNoMatch(facts(o), open.map(facts), rates).text : null);
  const takeOffer = (o: (typeof offerRows)[number]) => {
    setGive(toDraft(o.want));
    setWant(toDraft(o.give));
    setLocalError(null);
    place.reset();
    document.getElementById('barter-form')?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  };
  const posted = result ? offerRows.find((o) => o.id === result.offer.id) : undefined;

  return (
    <>
      <LastKnownMark asOf={asOf} />
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
        id="barter-form"
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
          <BalanceMeter give={giveValue} want={wantValue} toleranceBps={Number.isFinite(tolerancePercent) ? Math.round(tolerancePercent * 100) : 0} />
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
                : `Your offer waits for a match. ${posted && posted.status === 'OPEN' ? (reasonFor(posted) ?? '') : ''}`}
          </div>
        ) : null}
        <details className="advanced small">
          <summary>How each leg is delivered</summary>
          <p className="muted" style={{ margin: '0.4rem 0 0' }}>
            When a swap closes, every leg becomes a contract in Trades between the member who gives it and the one who gets it, with
            the credits given for it held in escrow. Each leg is delivered the way the market delivers it and paid from its own
            proofs: files go straight from the giver&apos;s device to the receiver&apos;s and are checked against their fingerprints;
            compute and memory are spent by a job that only the giver&apos;s devices run; storage keeps a file on the giver&apos;s
            device, which answers a challenge each period; network relays a file through the giver&apos;s device, counted by both
            ends; a peripheral is streamed live from the giver&apos;s device; credits move at once. A leg is paid for what was
            proven; the credits for what was not go back to whoever gave them.
          </p>
        </details>
        <button className="button block" type="submit" disabled={place.isPending || !chosen || asOf !== null}>Post offer</button>
      </form>

      <div className="card">
        <h2>Offers</h2>
        <ErrorAlert error={accept.error ?? cancel.error} />
        {!offers.data && chosen ? offersQuery.isError ? <ErrorAlert error={offersQuery.error} /> : <Pending query={offersQuery} /> : null}
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
              {o.memberId === memberId && o.status === 'OPEN' ? (
                <div className="small" data-testid="no-match-reason" style={{ marginTop: '0.25rem' }}>{reasonFor(o)}</div>
              ) : null}
              {o.memberId !== memberId && o.status === 'OPEN' && asOf === null ? (
                <button className="button secondary" style={{ marginTop: '0.4rem' }} onClick={() => takeOffer(o)}>Take this offer</button>
              ) : null}
              {o.memberId === memberId && asOf === null ? (
                <div className="row" style={{ marginTop: '0.4rem' }}>
                  {o.status === 'PROPOSED' && o.dealId ? <button className="button" onClick={() => accept.mutate({ dealId: o.dealId! })} disabled={accept.isPending}>Accept the swap</button> : null}
                  <button className="button secondary" onClick={() => cancel.mutate({ offerId: o.id })} disabled={cancel.isPending}>{o.status === 'PROPOSED' ? 'Decline' : 'Withdraw'}</button>
                </div>
              ) : null}
            </li>
          ))}
        </ul>
        <LoadMore query={offersQuery} />
      </div>
    </>
  );
}

export default function BarterPage() {
  return <RequireMember what="barter">{(member) => <BarterBoard memberId={member.id} />}</RequireMember>;
}
