import { formatCredits } from '../_lib/money';
import type { CategoryValuation } from '@/server/valuation';
import { CATEGORIES, CATEGORY_LABELS } from '../_lib/units';


const formatQuantity = (value: number) =>
  Number.isInteger(value) ? value.toLocaleString('en-US') : value.toLocaleString('en-US', { maximumFractionDigits: 1 });

/** Per-hour figures to a thousandth of a credit: enough to compare, without six decimals of noise. */
export const roundForDisplay = (micro: number) => Math.round(micro / 1000) * 1000;

export function ValuationTable({ valuation }: { valuation: Record<string, CategoryValuation> }) {
  return (
    <table className="values">
      <thead>
        <tr>
          <th>Category</th>
          <th className="num">Credits / hour</th>
        </tr>
      </thead>
      <tbody>
        {CATEGORIES.map((category) => {
          const entry = valuation[category];
          if (!entry) return null;
          const quantities = Object.entries(entry.quantities)
            .map(([key, value]) => `${key} ${formatQuantity(value)}`)
            .join(' · ');
          return (
            <tr key={category} data-category={category}>
              <td>
                <strong>{CATEGORY_LABELS[category]}</strong>
                <div className="muted small">{entry.basis}</div>
                {quantities ? (
                  <details className="muted small">
                    <summary>Figures</summary>
                    {quantities}
                  </details>
                ) : null}
              </td>
              <td className="num">{formatCredits(roundForDisplay(entry.creditsPerHour))}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
