'use client';

import { CATEGORY_LABELS, MARKET_CATEGORIES, type Category } from '@/app/_lib/units';

export function CategoryPicker({ value, onChange }: { value: Category; onChange: (c: Category) => void }) {
  return (
    <div className="chips" role="group" aria-label="Category">
      {MARKET_CATEGORIES.map((c) => (
        <button key={c} type="button" aria-pressed={c === value} onClick={() => onChange(c)}>
          {CATEGORY_LABELS[c]}
        </button>
      ))}
    </div>
  );
}
