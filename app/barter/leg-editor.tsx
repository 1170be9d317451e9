'use client';

import { CATEGORY_LABELS, CATEGORIES, unitLabel, UNITS_BY_CATEGORY, type Category } from '../_lib/units';

export type LegDraft = { category: Category; unit: string; quantity: string };

export const newLeg = (category: Category = 'COMPUTE'): LegDraft => ({ category, unit: UNITS_BY_CATEGORY[category][0], quantity: '1' });

/** Up to four legs, each a category, a unit and a quantity. */
export function LegEditor({ title, legs, onChange, idPrefix }: { title: string; legs: LegDraft[]; onChange: (legs: LegDraft[]) => void; idPrefix: string }) {
  const update = (i: number, patch: Partial<LegDraft>) => onChange(legs.map((leg, j) => (j === i ? { ...leg, ...patch } : leg)));
  return (
    <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }}>
      <legend style={{ fontWeight: 700, marginBottom: '0.4rem' }}>{title}</legend>
      {legs.map((leg, i) => (
        <div key={i} className="leg">
          <label>
            <span className="hint">What</span>
            <select
              aria-label={`${title} ${i + 1}: category`}
              value={leg.category}
              onChange={(e) => {
                const category = e.target.value as Category;
                update(i, { category, unit: UNITS_BY_CATEGORY[category][0] });
              }}
            >
              {CATEGORIES.map((c) => <option key={c} value={c}>{CATEGORY_LABELS[c]}</option>)}
            </select>
          </label>
          <label>
            <span className="hint">Unit</span>
            <select aria-label={`${title} ${i + 1}: unit`} value={leg.unit} onChange={(e) => update(i, { unit: e.target.value })}>
              {UNITS_BY_CATEGORY[leg.category].map((u) => <option key={u} value={u}>{unitLabel(u)}</option>)}
            </select>
          </label>
          <label>
            <span className="hint">How many</span>
            <input id={`${idPrefix}-q-${i}`} aria-label={`${title} ${i + 1}: quantity`} inputMode="numeric" value={leg.quantity} onChange={(e) => update(i, { quantity: e.target.value })} />
          </label>
          {legs.length > 1 ? (
            <button type="button" className="button secondary" aria-label={`Remove ${title.toLowerCase()} ${i + 1}`} onClick={() => onChange(legs.filter((_, j) => j !== i))}>
              Remove
            </button>
          ) : <span />}
        </div>
      ))}
      {legs.length < 4 ? (
        <button type="button" className="button secondary" onClick={() => onChange([...legs, newLeg()])}>Add another</button>
      ) : null}
    </fieldset>
  );
}
