/**
 * The device's worth per hour, steadied over its recent measurements. One benchmark run moves with whatever
 * else the device was doing (4.67 → 2.69 → 3.39 credits/h a minute apart), so the screen shows, per category,
 * the MEDIAN of the last MEASUREMENTS_KEPT measurements (one slow or fast run cannot move it) and says how many
 * it rests on. Pure functions over plain data; the history itself is kept per device in localStorage.
 */
import type { Category } from '@/server/valuation/categories';
import { CATEGORIES } from '@/server/valuation/categories';

export const MEASUREMENTS_KEPT = 5;

export type CategoryFigures = { creditsPerHour: number; quantities: Record<string, number> };
/** One measurement as the coordinator valued it: when, and per category micro-credits per hour with its quantities. */
export type Measurement = { at: string; categories: Partial<Record<Category, CategoryFigures>> };

export type AveragedValuation = {
  /** per category: the median micro-credits per hour (whole) and the median of each quantity */
  categories: Partial<Record<Category, CategoryFigures>>;
  /** the sum of the categories' medians */
  totalPerHour: number;
  /** how many measurements the medians rest on */
  count: number;
  /** the lowest and highest total of those measurements, to show how far single runs wandered */
  range: { low: number; high: number } | null;
  /** the newest measurement's time */
  latestAt: string | null;
};

/** The median of numbers (the mean of the middle two for an even count), rounded down to a whole number. */
export function median(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return 0;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Math.floor(value);
}

/**
 * The history with `next` added: one entry per measurement time (measuring again replaces nothing older),
 * newest last, at most `keep` entries.
 */
export function addMeasurement(history: readonly Measurement[], next: Measurement, keep = MEASUREMENTS_KEPT): Measurement[] {
  const others = history.filter((m) => m.at !== next.at);
  return [...others, next].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).slice(-keep);
}

const totalOf = (m: Measurement) => CATEGORIES.reduce((sum, c) => sum + (m.categories[c]?.creditsPerHour ?? 0), 0);

/** The medians over the newest `keep` measurements of the history. */
export function averageValuation(history: readonly Measurement[], keep = MEASUREMENTS_KEPT): AveragedValuation {
  const recent = [...history].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)).slice(-keep);
  const categories: Partial<Record<Category, CategoryFigures>> = {};
  for (const category of CATEGORIES) {
    const entries = recent.flatMap((m) => (m.categories[category] ? [m.categories[category]!] : []));
    if (entries.length === 0) continue;
    const keys = [...new Set(entries.flatMap((e) => Object.keys(e.quantities)))];
    categories[category] = {
      creditsPerHour: median(entries.map((e) => e.creditsPerHour)),
      quantities: Object.fromEntries(keys.map((k) => [k, median(entries.flatMap((e) => (k in e.quantities ? [e.quantities[k]!] : [])))])),
    };
  }
  const totals = recent.map(totalOf);
  return {
    categories,
    totalPerHour: CATEGORIES.reduce((sum, c) => sum + (categories[c]?.creditsPerHour ?? 0), 0),
    count: recent.length,
    range: totals.length > 0 ? { low: Math.min(...totals), high: Math.max(...totals) } : null,
    latestAt: recent.at(-1)?.at ?? null,
  };
}

/** Reads a stored history, keeping only well-formed entries (localStorage may hold anything). */
export function parseHistory(raw: string | null): Measurement[] {
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) return [];
    return parsed.filter(
      (m): m is Measurement =>
        typeof m === 'object' && m !== null && typeof (m as Measurement).at === 'string' && !Number.isNaN(Date.parse((m as Measurement).at)) &&
        typeof (m as Measurement).categories === 'object' && (m as Measurement).categories !== null,
    );
  } catch {
    return [];
  }
}
