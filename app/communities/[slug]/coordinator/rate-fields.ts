/**
 * The money rates of a community's valuation table as a coordinator reads them: credits per hour for an
 * amount people know (1,000 MIPS, a GB, a camera), rather than micro-credits per MIPS-hour. Pure.
 */
import { MICRO_PER_CREDIT } from '@/server/money';
import type { Category } from '@/server/valuation/categories';
import type { ValuationRates } from '@/server/valuation/rates';

type MoneySection = 'compute' | 'memory' | 'storage' | 'peripheral' | 'network' | 'file';

export type RateField = {
  id: string;
  category: Category;
  section: MoneySection;
  key: string;
  /** what the figure is for: "per 1,000 MIPS of one core, per hour" */
  label: string;
  /** how many of the rate's own units the figure is for (1,024 MB for "per GB") */
  per: number;
};

export const RATE_FIELDS: RateField[] = [
  { id: 'compute.perMipsHour', category: 'COMPUTE', section: 'compute', key: 'perMipsHour', label: 'per 1,000 MIPS of one core, per hour', per: 1000 },
  { id: 'compute.perMflopsHour', category: 'COMPUTE', section: 'compute', key: 'perMflopsHour', label: 'per 1,000 MFLOPS of one core, per hour', per: 1000 },
  { id: 'memory.perMbHour', category: 'MEMORY', section: 'memory', key: 'perMbHour', label: 'per GB offered, per hour', per: 1024 },
  { id: 'storage.perMbHour', category: 'STORAGE', section: 'storage', key: 'perMbHour', label: 'per GB offered, per hour', per: 1024 },
  { id: 'peripheral.perMegapixelHour', category: 'PERIPHERAL', section: 'peripheral', key: 'perMegapixelHour', label: 'per megapixel of screen, per hour', per: 1 },
  { id: 'peripheral.perCameraHour', category: 'PERIPHERAL', section: 'peripheral', key: 'perCameraHour', label: 'per camera, per hour', per: 1 },
  { id: 'peripheral.perMicrophoneHour', category: 'PERIPHERAL', section: 'peripheral', key: 'perMicrophoneHour', label: 'per microphone, per hour', per: 1 },
  { id: 'peripheral.touchHour', category: 'PERIPHERAL', section: 'peripheral', key: 'touchHour', label: 'for a touch screen, per hour', per: 1 },
  { id: 'network.perMbpsHour', category: 'NETWORK', section: 'network', key: 'perMbpsHour', label: 'per Mbit/s of throughput, per hour', per: 1 },
  { id: 'file.perMbServedHour', category: 'FILE', section: 'file', key: 'perMbServedHour', label: 'per GB of files served, per hour', per: 1024 },
  { id: 'file.perItem', category: 'FILE', section: 'file', key: 'perItem', label: 'for each file, once', per: 1 },
  { id: 'file.perMb', category: 'FILE', section: 'file', key: 'perMb', label: 'per MB of a file, once', per: 1 },
];

/** The figure shown for a rate: micro-credits for `per` units, as a whole number of micro-credits. */
export const rateMicro = (rates: ValuationRates, field: RateField): number =>
  Math.round(((rates[field.section] as Record<string, number>)[field.key] ?? 0) * field.per);

/**
 * The rate table with some figures changed (micro-credits for `per` units each), and the version bumped so
 * every valuation says which table it used. Figures not given keep their rate exactly.
 */
export function withFigures(rates: ValuationRates, figures: Record<string, number>): ValuationRates {
  const next = structuredClone(rates);
  for (const field of RATE_FIELDS) {
    const micro = figures[field.id];
    if (micro === undefined || micro === rateMicro(rates, field)) continue;
    (next[field.section] as Record<string, number>)[field.key] = micro / field.per;
  }
  next.version = rates.version + 1;
  return next;
}
