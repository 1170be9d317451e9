'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { use, useState } from 'react';
import { LegEditor, type LegDraft } from '../../../../barter/leg-editor';
import { ErrorAlert, Field } from '../../../../_components/form';
import { describeError } from '../../../../_lib/errors';
import { money, whenShort } from '../../../../_lib/format';
import { parseCredits } from '../../../../_lib/money';
import { useTRPC } from '../../../../_lib/trpc';
import { CATEGORY_LABELS, quantityText, type Category } from '../../../../_lib/units';
import { CoordinatorGate, type CoordinatedCommunity } from '../gate';
import { legsValue, POOL_PRESETS, presetLegs, type PresetLeg } from '../pool-offers';

type Outcome = { ok: boolean; text: string } | null;

const legText = (l: PresetLeg) => (l.category === 'MONEY' ? quantityText(l.quantity, l.unit) : `${quantityText(l.quantity, l.unit)} of ${CATEGORY_LABELS[l.category].toLowerCase()}`);
const legsText = (legs: PresetLeg[]) => legs.map(legText).join(' + ');
const toDrafts = (legs: PresetLeg[]): LegDraft[] => legs.map((l) => ({ category: l.category, unit: l.unit, quantity: String(l.quantity) }));
const parseLegs = (legs: LegDraft[]): PresetLeg[] | null => {
  const parsed = legs.map((l) => ({ category: l.category as Category, unit: l.unit, quantity: Number(l.quantity) }));
  return parsed.every((l) => Number.isInteger(l.quantity) && l.quantity > 0) ? parsed : null;
};

function OutcomeLine({ outcome, testId }: { outcome: Outcome; testId: string }) {
  if (!outcome) return null;
  return (
    <div className={`alert ${outcome.ok ? 'info' : 'error'}`} role={outcome.ok ? 'status' : 'alert'} data-testid={testId}>
      {outcome.text}
    </div>
  );
}

function ConfirmBox({ title, children, pending, onBack, onConfirm, testId }: { title: string; children: React.ReactNode; pending: boolean; onBack: () => void; onConfirm: () => void; testId: string }) {
  return (
    <div className="card confirm stack" data-testid={testId}>
      <h3 style={{ margin: 0 }}>{title}</h3>
      {children}
      <div className="grid2">
        <button className="button secondary" type="button" onClick={onBack} disabled={pending}>Back</button>
        <button className="button" type="button" onClick={onConfirm} disabled={pending}>{pending ? 'Working…' : 'Confirm'}</button>
      </div>
    </div>
  );
}

/** The pool's balance and funding it with newly issued credits, after a confirm step. */
function PoolFunding({ community }: { community: CoordinatedCommunity }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const pool = useQuery(trpc.admin.pool.queryOptions({ communityId: community.id }));
  const [amount, setAmount] = useState('');
  const [draft, setDraft] = useState<number | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const fund = useMutation({
    ...trpc.admin.fundPool.mutationOptions(),
    onSuccess: async (_r, input) => {
      setOutcome({ ok: true, text: `${money(input.amount)} credits issued into the pool.` });
      setAmount('');
      await queryClient.invalidateQueries(trpc.admin.pool.pathFilter());
    },
    onError: (error) => setOutcome({ ok: false, text: describeError(error).message }),
    onSettled: () => setDraft(null),
  });
  const held = pool.data?.pool ?? 0;
  return (
    <div className="card stack" data-testid="pool-funding">
      <div className="row spread">
        <h2 style={{ margin: 0 }}>Community pool</h2>
        <strong data-testid="pool-balance">{pool.data ? `${money(held)} credits` : '…'}</strong>
      </div>
      <p className="muted small" style={{ margin: 0 }}>
        Commissions collect here, and the community&rsquo;s own barter offers pay from it. Sweepstakes pool: {pool.data ? money(pool.data.sweepstakes) : '…'} credits.
      </p>
      <OutcomeLine outcome={outcome} testId="pool-outcome" />
      {draft !== null ? (
        <ConfirmBox title="Issue these credits into the pool?" testId="pool-confirm" pending={fund.isPending} onBack={() => setDraft(null)} onConfirm={() => fund.mutate({ communityId: community.id, amount: draft })}>
          <dl>
            <dt>Pool now</dt>
            <dd>{money(held)}</dd>
            <dt>Issued</dt>
            <dd>{money(draft)}</dd>
            <dt className="total">Pool after</dt>
            <dd className="total">{money(held + draft)}</dd>
          </dl>
          <p className="muted small" style={{ margin: 0 }}>New credits from the community&rsquo;s issuing account: every credit in circulation here is worth a little less.</p>
        </ConfirmBox>
      ) : (
        <form
          className="row"
          style={{ alignItems: 'flex-end' }}
          onSubmit={(event) => {
            event.preventDefault();
            const micro = parseCredits(amount);
            if (micro === null || micro <= 0) return setOutcome({ ok: false, text: 'Enter the credits to issue, a number above zero, e.g. 25.' });
            setOutcome(null);
            setDraft(micro);
          }}
        >
          <div style={{ flex: 1, minWidth: 0 }}>
            <Field label="Credits to issue" name="poolAmount" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
          </div>
          <button className="button" type="submit" style={{ flex: 'none' }}>Fund…</button>
        </form>
      )}
    </div>
  );
}

/** The share of each commission that goes to the sweepstakes pool, changed after a confirm step. */
function SweepstakesShare({ community }: { community: CoordinatedCommunity }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [percent, setPercent] = useState(String(community.sweepstakesShareBps / 100));
  const [draft, setDraft] = useState<number | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const update = useMutation({
    ...trpc.community.update.mutationOptions(),
    onSuccess: async (result) => {
      setOutcome({ ok: true, text: `From now on ${result.sweepstakesShareBps / 100}% of each commission goes to the sweepstakes pool.` });
      await queryClient.invalidateQueries(trpc.community.pathFilter());
    },
    onError: (error) => setOutcome({ ok: false, text: describeError(error).message }),
    onSettled: () => setDraft(null),
  });
  const sample = 10_000 * community.commissionBps; // the commission on a 100-credit trade, micro-credits: 10^8 × bps / 10^4
  return (
    <div className="card stack" data-testid="sweepstakes-share">
      <h2 style={{ margin: 0 }}>Sweepstakes share</h2>
      <p className="muted small" style={{ margin: 0 }}>
        The part of every commission that goes to the sweepstakes pool instead of the community pool. Now {community.sweepstakesShareBps / 100}%.
      </p>
      <OutcomeLine outcome={outcome} testId="share-outcome" />
      {draft !== null ? (
        <ConfirmBox title="Change where commissions go?" testId="share-confirm" pending={update.isPending} onBack={() => setDraft(null)} onConfirm={() => update.mutate({ communityId: community.id, sweepstakesShareBps: draft })}>
          <dl>
            <dt>Share now</dt>
            <dd>{community.sweepstakesShareBps / 100}%</dd>
            <dt className="total">New share</dt>
            <dd className="total">{draft / 100}%</dd>
          </dl>
          <p className="muted small" style={{ margin: 0 }}>
            On a 100-credit trade the commission is {money(sample)} credits: {money(Math.floor((sample * draft) / 10_000))} would go to the sweepstakes, {money(sample - Math.floor((sample * draft) / 10_000))} to the pool.
          </p>
        </ConfirmBox>
      ) : (
        <form
          className="row"
          style={{ alignItems: 'flex-end' }}
          onSubmit={(event) => {
            event.preventDefault();
            const value = Number(percent);
            if (percent.trim() === '' || !Number.isFinite(value)) return setOutcome({ ok: false, text: 'Enter a percentage of the commission, e.g. 25.' });
            setOutcome(null);
            setDraft(Math.round(value * 100));
          }}
        >
          <div style={{ flex: 1, minWidth: 0 }}>
            <Field label="Share of commission (%)" name="sweepstakesShare" inputMode="decimal" value={percent} onChange={(e) => setPercent(e.target.value)} />
          </div>
          <button className="button" type="submit" style={{ flex: 'none' }}>Change…</button>
        </form>
      )}
    </div>
  );
}

/** The coordinator's barter offers from the community pool: post from a starting point, see them, withdraw them. */
function PoolOffers({ community }: { community: CoordinatedCommunity }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const offers = useQuery(trpc.barter.list.queryOptions({ communityId: community.id, mine: true }));
  const poolOffers = (offers.data ?? []).filter((o) => o.fromPool && o.communityId === community.id);
  const rates = community.valuationRates;
  const first = presetLegs(POOL_PRESETS[0]!, rates);
  const [preset, setPreset] = useState(POOL_PRESETS[0]!.id);
  const [give, setGive] = useState<LegDraft[]>(() => toDrafts(first.give));
  const [want, setWant] = useState<LegDraft[]>(() => toDrafts(first.want));
  const giveLegs = parseLegs(give);
  const wantLegs = parseLegs(want);
  const [tolerance, setTolerance] = useState('10');
  const [draft, setDraft] = useState<{ give: PresetLeg[]; want: PresetLeg[]; toleranceBps: number } | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const refresh = async () => {
    await queryClient.invalidateQueries(trpc.barter.pathFilter());
    await queryClient.invalidateQueries(trpc.admin.pool.pathFilter());
  };
  const post = useMutation({
    ...trpc.barter.offer.mutationOptions(),
    onSuccess: async (result) => {
      setOutcome({
        ok: true,
        text: result.deals.some((d) => d.status === 'CLOSED')
          ? 'Posted, and it matched at once: the barter is closed and its legs are contracts now.'
          : `Posted from the pool: it waits for a member whose offer matches (worth ${money(result.offer.giveValue)} given for ${money(result.offer.wantValue)} asked).`,
      });
      await refresh();
    },
    onError: (error) => setOutcome({ ok: false, text: describeError(error).message }),
    onSettled: () => setDraft(null),
  });
  const withdraw = useMutation({
    ...trpc.barter.cancel.mutationOptions(),
    onSuccess: async () => {
      setOutcome({ ok: true, text: 'Offer withdrawn.' });
      await refresh();
    },
    onError: (error) => setOutcome({ ok: false, text: describeError(error).message }),
  });

  const pick = (id: string) => {
    const legs = presetLegs(POOL_PRESETS.find((p) => p.id === id)!, rates);
    setPreset(id);
    setGive(toDrafts(legs.give));
    setWant(toDrafts(legs.want));
  };

  return (
    <div className="card stack" data-testid="pool-offers">
      <h2 style={{ margin: 0 }}>The community&rsquo;s offers</h2>
      <p className="muted small" style={{ margin: 0 }}>
        Barter offers the pool makes: network access for compute and memory, credits or network for files and peripherals. Credits leave the pool only when a member&rsquo;s offer matches.
      </p>
      <OutcomeLine outcome={outcome} testId="offer-outcome" />
      {draft ? (
        <ConfirmBox title="Post this offer from the pool?" testId="offer-confirm" pending={post.isPending} onBack={() => setDraft(null)} onConfirm={() => post.mutate({ communityId: community.id, give: draft.give, want: draft.want, toleranceBps: draft.toleranceBps, fromPool: true })}>
          <dl>
            <dt>The pool gives</dt>
            <dd>{legsText(draft.give)}</dd>
            <dt>It asks for</dt>
            <dd>{legsText(draft.want)}</dd>
            <dt>Tolerance</dt>
            <dd>±{draft.toleranceBps / 100}%</dd>
          </dl>
        </ConfirmBox>
      ) : (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            const g = parseLegs(give);
            const w = parseLegs(want);
            const t = Number(tolerance);
            if (!g || !w) return setOutcome({ ok: false, text: 'Every quantity must be a whole number above zero.' });
            if (!Number.isFinite(t) || t < 0 || t > 100) return setOutcome({ ok: false, text: 'The tolerance is a percentage from 0 to 100.' });
            setOutcome(null);
            setDraft({ give: g, want: w, toleranceBps: Math.round(t * 100) });
          }}
        >
          <label>
            Start from
            <select value={preset} onChange={(e) => pick(e.target.value)} data-testid="offer-preset">
              {POOL_PRESETS.map((p) => <option key={p.id} value={p.id}>{p.title}</option>)}
            </select>
          </label>
          <LegEditor title="The pool gives" legs={give} onChange={setGive} idPrefix="pool-give" />
          <LegEditor title="It asks for" legs={want} onChange={setWant} idPrefix="pool-want" />
          {giveLegs && wantLegs ? (
            <p className="muted small" style={{ margin: 0 }} data-testid="offer-values">
              At this community&rsquo;s rates the pool gives {money(legsValue(giveLegs, rates))} credits&rsquo; worth and asks for {money(legsValue(wantLegs, rates))}.
            </p>
          ) : null}
          <Field label="Tolerance (± %)" name="poolTolerance" inputMode="decimal" value={tolerance} onChange={(e) => setTolerance(e.target.value)} />
          <button className="button block" type="submit">Post from the pool…</button>
        </form>
      )}
      <h3 style={{ margin: '0.5rem 0 0' }}>Open offers from the pool</h3>
      {offers.data && poolOffers.length === 0 ? <p className="muted small" style={{ margin: 0 }}>None yet.</p> : null}
      <ul className="list" data-testid="pool-offer-list">
        {poolOffers.map((o) => (
          <li key={o.id} className="stack" style={{ gap: '0.35rem' }} data-testid="pool-offer">
            <div>
              <strong>{legsText(o.give)}</strong> for <strong>{legsText(o.want)}</strong>
            </div>
            <div className="row spread">
              <span className="muted small">
                {o.status === 'PROPOSED' ? 'matched, waiting for acceptance' : 'open'} · ±{o.toleranceBps / 100}% · {whenShort(o.createdAt)}
              </span>
              <button className="button secondary" type="button" disabled={withdraw.isPending} onClick={() => withdraw.mutate({ offerId: o.id })} style={{ flex: 'none' }}>
                Withdraw
              </button>
            </div>
          </li>
        ))}
      </ul>
      <ErrorAlert error={offers.error} />
    </div>
  );
}

export default function PoolPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = use(params);
  return (
    <CoordinatorGate slug={slug} title="Pool and offers">
      {(c) => (
        <>
          <PoolFunding community={c} />
          <SweepstakesShare community={c} />
          <PoolOffers community={c} />
        </>
      )}
    </CoordinatorGate>
  );
}
