import { unitPrice } from '../_lib/format';
import { CATEGORIES, CATEGORY_LABELS } from '../_lib/units';
import type { AveragedValuation } from './valuation-average';
import { categoryFigure } from './valuation-figures';

const BAR_HEIGHT = 14;

/**
 * The device's worth per hour as seven bars, one per category, each the median over its recent measurements,
 * scaled to the largest; under each bar what was measured, in familiar units. Plain SVG, no chart library.
 */
export function ValuationChart({ averaged }: { averaged: AveragedValuation }) {
  const largest = Math.max(1, ...CATEGORIES.map((c) => averaged.categories[c]?.creditsPerHour ?? 0));
  return (
    <ul className="list" data-testid="valuation-chart" aria-label="Worth per hour by category" style={{ margin: 0 }}>
      {CATEGORIES.map((category) => {
        const entry = averaged.categories[category];
        const value = entry?.creditsPerHour ?? 0;
        const share = value / largest;
        return (
          <li key={category} data-category={category} style={{ padding: '0.45rem 0' }}>
            <div className="row spread" style={{ gap: '0.5rem' }}>
              <strong>{CATEGORY_LABELS[category]}</strong>
              <span style={{ fontVariantNumeric: 'tabular-nums' }} data-testid={`bar-value-${category}`}>
                {unitPrice(value)} <span className="muted small">credits/h</span>
              </span>
            </div>
            <svg width="100%" height={BAR_HEIGHT} role="img" aria-label={`${CATEGORY_LABELS[category]}: ${unitPrice(value)} credits per hour`} style={{ display: 'block', margin: '0.25rem 0' }}>
              <rect x="0" y="0" width="100%" height={BAR_HEIGHT} rx="7" fill="var(--line)" />
              {value > 0 ? <rect data-testid={`bar-${category}`} x="0" y="0" width={`${Math.max(2, share * 100)}%`} height={BAR_HEIGHT} rx="7" fill="var(--accent)" /> : null}
            </svg>
            <div className="muted small">{entry ? categoryFigure(category, entry.quantities) : 'Not measured'}</div>
          </li>
        );
      })}
    </ul>
  );
}
