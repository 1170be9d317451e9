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

const UNIT_LABELS: Record<string, string> = {
  GFLOP: 'GFLOP',
  WORK_UNIT: 'work units',
  CPU_SECOND: 'CPU seconds',
  MB_HOUR: 'MB·hours',
  DEVICE_HOUR: 'device hours',
  ITEM: 'items',
  MB: 'MB',
  PAGE_VIEW: 'page views',
  CREDIT: 'credits',
};

export const unitLabel = (unit: string) => UNIT_LABELS[unit] ?? unit;

/** Categories that trade on the market (money is what the market pays with). */
export const MARKET_CATEGORIES = CATEGORIES.filter((c) => c !== 'MONEY');
