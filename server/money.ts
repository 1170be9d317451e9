/** 1 credit = 1,000,000 micro-credits. All money in Swapmesh is an integer number of micro-credits. */
export const MICRO_PER_CREDIT = 1_000_000;

/** The largest amount any single input may carry: 1 billion credits, well inside Number.MAX_SAFE_INTEGER. */
export const MAX_MICRO = 1_000_000_000 * MICRO_PER_CREDIT;

/** The highest commission a community can set (community settings), in basis points: 50%. */
export const MAX_COMMISSION_BPS = 5_000;

export function toMicro(value: bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`amount ${value} is outside the safe integer range`);
  return n;
}

export function formatCredits(micro: number): string {
  const sign = micro < 0 ? '-' : '';
  const abs = Math.abs(micro);
  const whole = Math.floor(abs / MICRO_PER_CREDIT);
  const frac = abs % MICRO_PER_CREDIT;
  const fracText = frac === 0 ? '' : '.' + String(frac).padStart(6, '0').replace(/0+$/, '');
  return `${sign}${whole.toLocaleString('en-US')}${fracText}`;
}
