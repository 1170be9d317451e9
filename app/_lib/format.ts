import { MICRO_PER_CREDIT } from '@/server/money';
import { quantityText } from './units';

/**
 * Formatters are made on first use, not when the module loads: building an Intl formatter loads the locale's
 * data, which took a quarter of a second of a phone's main thread on the first load of every page (this module
 * is in the app shell), even on pages that format nothing.
 */
function lazy<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => (made ??= make());
}

const twoDecimals = lazy(() => new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 }));

/**
 * Credits as people read money: two decimals, grouped in the device's locale ("1,234.50"). An amount that is
 * not zero but rounds to 0.00 says so ("< 0.01") rather than show nothing moved.
 */
export function money(micro: number): string {
  // rounded to the cent in integers (half away from zero), so that 4.455 shows as 4.46 whatever the float
  const cents = Math.sign(micro) * Math.round(Math.abs(micro) / (MICRO_PER_CREDIT / 100));
  if (micro !== 0 && cents === 0) return micro < 0 ? '−< 0.01' : '< 0.01';
  return twoDecimals().format(cents / 100).replace('-', '−');
}

/** A signed amount for a statement: "+12.00", "−3.40". */
export const signedMoney = (micro: number) => (micro > 0 ? `+${money(micro)}` : money(micro));

/**
 * A price per unit: two decimals, more only when the price needs them (0.0125 per work unit), so that a small
 * price never shows as 0.00.
 */
export function unitPrice(micro: number): string {
  const credits = micro / MICRO_PER_CREDIT;
  const digits = Math.abs(credits) >= 0.01 || micro === 0 ? 2 : Math.min(6, 2 - Math.floor(Math.log10(Math.abs(credits))));
  return new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: Math.max(2, digits) }).format(credits);
}

const dateTime = lazy(() => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
const timeOnly = lazy(() => new Intl.DateTimeFormat(undefined, { timeStyle: 'short' }));

/** A moment in the device's locale and time zone. */
export const when = (iso: string | Date) => dateTime().format(new Date(iso));
/** Today's moments as a time only, others with their date. */
export function whenShort(iso: string | Date): string {
  const at = new Date(iso);
  return at.toDateString() === new Date().toDateString() ? timeOnly().format(at) : dateTime().format(at);
}

const RAW_UNIT = /\b(\d+) (GFLOP|WORK_UNIT|CPU_SECOND|MB_HOUR|DEVICE_HOUR|ITEM|MB|PAGE_VIEW|CREDIT)\b/g;
const PRICING: Record<string, string> = { cross: 'the bid met the ask', 'auto negotiated': 'agreed by automatic negotiation', negotiated: 'agreed by negotiation' };

/**
 * A contract event's note as a person reads it: the coordinator writes some notes with its own words for
 * amounts and units ("10 WORK_UNIT at 1500 µcredits (cross)"); they become "10 work units at 0.0015 credits
 * each (the bid met the ask)".
 */
export function humanNote(note: string): string {
  return note
    .replace(/\b(\d+) µcredits\b/g, (_, micro: string) => `${unitPrice(Number(micro))} credits each`)
    .replace(/\(([a-z ]+)\)/g, (whole, pricing: string) => (PRICING[pricing] ? `(${PRICING[pricing]})` : whole))
    .replace(RAW_UNIT, (_, count: string, unit: string) => quantityText(Number(count), unit));
}
