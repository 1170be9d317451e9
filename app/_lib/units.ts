import { CATEGORIES, UNITS_BY_CATEGORY, type Category } from '@/server/valuation/categories';

export { CATEGORIES, UNITS_BY_CATEGORY, type Category };

export const CATEGORY_LABELS: Record<Category, string> = {
  COMPUTE: 'Compute',
  MEMORY: 'Memory',
  STORAGE: 'Storage',
  PERIPHERAL: 'Peripherals',
  FILE: 'Files',
  NETWORK: 'Network',
  MONEY: 'Money',
};

/** What a category is called inside a sentence ("10 GFLOP of compute"). */
export const categoryWord = (category: string) => (CATEGORY_LABELS[category as Category] ?? category.toLowerCase()).toLowerCase();

/** Each unit's name for one and for many. */
const UNIT_NAMES: Record<string, [one: string, many: string]> = {
  GFLOP: ['GFLOP', 'GFLOP'],
  WORK_UNIT: ['work unit', 'work units'],
  CPU_SECOND: ['CPU second', 'CPU seconds'],
  MB_HOUR: ['MB·hour', 'MB·hours'],
  DEVICE_HOUR: ['device hour', 'device hours'],
  ITEM: ['item', 'items'],
  MB: ['MB', 'MB'],
  PAGE_VIEW: ['page view', 'page views'],
  CREDIT: ['credit', 'credits'],
};

/** A unit's name for a count of it ("1 item", "2 items"); never the raw key. */
export function unitName(unit: string, count = 2): string {
  const names = UNIT_NAMES[unit];
  if (!names) return unit.toLowerCase().replaceAll('_', ' ');
  return count === 1 ? names[0] : names[1];
}

/** The plural name, as a label ("work units"). */
export const unitLabel = (unit: string) => unitName(unit, 2);

/** A count with its unit: "1 work unit", "1,024 MB". */
export const quantityText = (count: number, unit: string) => `${count.toLocaleString()} ${unitName(unit, count)}`;

/** Categories that trade on the market (money is what the market pays with). */
export const MARKET_CATEGORIES = CATEGORIES.filter((c) => c !== 'MONEY');
