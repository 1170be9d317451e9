/**
 * The seven resource Categories of the barter market and the units an Order may be placed in.
 */

export const CATEGORIES = ['COMPUTE', 'MEMORY', 'STORAGE', 'PERIPHERAL', 'FILE', 'NETWORK', 'MONEY'] as const;

export type Category = (typeof CATEGORIES)[number];

/**
 * Units each category trades in. The first unit of each list is the category's primary unit.
 * - COMPUTE: GFLOP (10^9 floating-point operations), WORK_UNIT (one leased unit of a Job),
 *   CPU_SECOND (one logical core for one second)
 * - MEMORY / STORAGE: MB_HOUR (one MB, 2^20 bytes, held for one hour)
 * - PERIPHERAL: DEVICE_HOUR (one peripheral — display, camera, microphone, touch surface — for one hour)
 * - FILE: ITEM (one content item), MB (content served)
 * - NETWORK: MB (transferred), PAGE_VIEW (one load of a page of an owner-verified site, server/pageviews)
 * - MONEY: CREDIT (the unit of account; amounts on the wire are micro-credits)
 */
export const UNITS_BY_CATEGORY = {
  COMPUTE: ['GFLOP', 'WORK_UNIT', 'CPU_SECOND'],
  MEMORY: ['MB_HOUR'],
  STORAGE: ['MB_HOUR'],
  PERIPHERAL: ['DEVICE_HOUR'],
  FILE: ['ITEM', 'MB'],
  NETWORK: ['MB', 'PAGE_VIEW'],
  MONEY: ['CREDIT'],
} as const satisfies Record<Category, readonly [string, ...string[]]>;

export type UnitOf<C extends Category> = (typeof UNITS_BY_CATEGORY)[C][number];
export type Unit = UnitOf<Category>;

/** Every unit, once (MB_HOUR and MB are shared by two categories). */
export const UNITS = [...new Set(CATEGORIES.flatMap((c) => UNITS_BY_CATEGORY[c]))] as readonly Unit[];

export function isCategory(value: unknown): value is Category {
  return typeof value === 'string' && (CATEGORIES as readonly string[]).includes(value);
}

/** Whether `unit` is one of the units `category` trades in. */
export function isUnitOf<C extends Category>(category: C, unit: string): unit is UnitOf<C> {
  return (UNITS_BY_CATEGORY[category] as readonly string[]).includes(unit);
}

/** Micro-credits per credit: money is always an integer number of micro-credits. */
export const MICROCREDITS_PER_CREDIT = 1_000_000;
