'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { use, useState } from 'react';
import { ErrorAlert } from '../../../../_components/form';
import { unitPrice } from '../../../../_lib/format';
import { MICRO_PER_CREDIT, parseCredits } from '../../../../_lib/money';
import { useTRPC } from '../../../../_lib/trpc';
import { CATEGORIES, CATEGORY_LABELS } from '../../../../_lib/units';
import { CoordinatorGate, type CoordinatedCommunity } from '../gate';
import { RATE_FIELDS, rateMicro, withFigures } from '../rate-fields';

const asText = (micro: number) => String(micro / MICRO_PER_CREDIT);

const textsFor = (rates: CoordinatedCommunity['valuationRates']): Record<string, string> => ({
  ...Object.fromEntries(RATE_FIELDS.map((f) => [f.id, asText(rateMicro(rates, f))])),
  cash: String(rates.money.cashCentsPerCredit),
});

type Change = { id: string; what: string; before: string; after: string };

function RatesEditor({ community }: { community: CoordinatedCommunity }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const rates = community.valuationRates;
  const [texts, setTexts] = useState<Record<string, string>>(() => textsFor(rates));
  const [draft, setDraft] = useState<{ changes: Change[]; next: typeof rates | null } | null>(null);
  const [localError, setLocalError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const update = useMutation({
    ...trpc.community.update.mutationOptions(),
    onSuccess: async (result) => {
      setTexts(textsFor(result.valuationRates));
      setSaved(`Rates saved: table version ${result.valuationRates.version}. Devices are valued with them from now on.`);
      setDraft(null);
      await queryClient.invalidateQueries(trpc.community.pathFilter());
    },
    onError: () => setDraft(null),
  });

  const review = () => {
    setSaved(null);
    update.reset();
    const figures: Record<string, number> = {};
    const changes: Change[] = [];
    for (const field of RATE_FIELDS) {
      const micro = parseCredits(texts[field.id] ?? '');
      if (micro === null) return setLocalError(`${CATEGORY_LABELS[field.category]} ${field.label}: enter credits as a number, e.g. 0.25.`);
      figures[field.id] = micro;
      const before = rateMicro(rates, field);
      if (micro !== before) changes.push({ id: field.id, what: `${CATEGORY_LABELS[field.category]}, ${field.label}`, before: unitPrice(before), after: unitPrice(micro) });
    }
    const cash = Number(texts.cash);
    if (!Number.isInteger(cash) || cash < 0) return setLocalError('The cash value of a credit is a whole number of cents (0 if credits are not redeemable).');
    if (cash !== rates.money.cashCentsPerCredit) changes.push({ id: 'cash', what: 'Cash value of one credit, cents', before: String(rates.money.cashCentsPerCredit), after: String(cash) });
    if (changes.length === 0) return setLocalError('Nothing changed: edit a rate first.');
    setLocalError(null);
    const next = withFigures(rates, figures);
    next.money = { ...next.money, cashCentsPerCredit: cash };
    setDraft({ changes, next });
  };

  const reviewReset = () => {
    setSaved(null);
    update.reset();
    setLocalError(null);
    setDraft({ changes: [{ id: 'reset', what: 'Every rate', before: 'this community’s', after: 'the defaults' }], next: null });
  };

  return (
    <div className="card stack" data-testid="rates-editor">
      <p className="muted small" style={{ margin: 0 }}>
        What members&rsquo; devices are worth here, and what barter legs are valued at. Prices in credits. Table version {rates.version}.
      </p>
      {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={update.error} />}
      {saved ? <div className="alert info" role="status" data-testid="rates-saved">{saved}</div> : null}
      {draft ? (
        <div className="card confirm stack" data-testid="rates-confirm">
          <h2 style={{ margin: 0 }}>Change these prices?</h2>
          <p className="muted small" style={{ margin: 0 }}>Every device and barter offer in this community is valued with the new rates from now on; trades already made keep their prices.</p>
          <ul className="list">
            {draft.changes.map((c) => (
              <li key={c.id}>
                <div>{c.what}</div>
                <div className="small"><span className="muted">{c.before}</span> → <strong>{c.after}</strong></div>
              </li>
            ))}
          </ul>
          <div className="grid2">
            <button className="button secondary" type="button" onClick={() => setDraft(null)} disabled={update.isPending}>Back</button>
            <button className="button" type="button" disabled={update.isPending} onClick={() => update.mutate({ communityId: community.id, valuationRates: draft.next })}>
              {update.isPending ? 'Saving…' : 'Confirm'}
            </button>
          </div>
        </div>
      ) : (
        <form
          className="stack"
          onSubmit={(event) => {
            event.preventDefault();
            review();
          }}
        >
          {CATEGORIES.map((category) => {
            const fields = RATE_FIELDS.filter((f) => f.category === category);
            if (category !== 'MONEY' && fields.length === 0) return null;
            return (
              <fieldset key={category} className="stack" style={{ border: 0, borderTop: '1px solid var(--line)', padding: '0.5rem 0 0', margin: 0 }}>
                <legend style={{ fontWeight: 700 }}>{CATEGORY_LABELS[category]}</legend>
                {fields.map((f) => (
                  <label key={f.id}>
                    <span>Credits {f.label}</span>
                    <input name={f.id} inputMode="decimal" value={texts[f.id]} onChange={(e) => setTexts({ ...texts, [f.id]: e.target.value })} />
                  </label>
                ))}
                {category === 'MONEY' ? (
                  <label>
                    <span>Cash value of one credit, in cents</span>
                    <span className="hint">0 when credits cannot be redeemed for cash.</span>
                    <input name="cash" inputMode="numeric" value={texts.cash} onChange={(e) => setTexts({ ...texts, cash: e.target.value })} />
                  </label>
                ) : null}
              </fieldset>
            );
          })}
          <button className="button block" type="submit">Review changes…</button>
          <button className="button secondary block" type="button" onClick={reviewReset}>Back to the default rates…</button>
        </form>
      )}
    </div>
  );
}

export default function RatesPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = use(params);
  return <CoordinatorGate slug={slug} title="Valuation rates">{(c) => <RatesEditor community={c} />}</CoordinatorGate>;
}
