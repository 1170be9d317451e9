/**
 * Commission arithmetic (pure, integer micro-credits). At a fill the buyer escrows the value plus
 * the buyer's share; at sign-off the seller receives the value less the seller's share and the
 * community receives the whole commission, so escrow is released exactly.
 */

export const BPS_DENOMINATOR = 10_000;

export type CommissionSplit = { total: number; buyerShare: number; sellerShare: number };

export type FillAmounts = CommissionSplit & {
  value: number;
  /** What moves from the buyer to escrow at the fill. */
  buyerPays: number;
  /** What escrow releases to the seller at sign-off (the community gets `total`). */
  sellerGets: number;
};

function assertAmount(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

function assertBps(bps: number): void {
  if (!Number.isSafeInteger(bps) || bps < 0 || bps > BPS_DENOMINATOR) {
    throw new RangeError(`commission must be a whole number of basis points from 0 to 10000, got ${bps}`);
  }
}

/** total = ⌊value × bps / 10000⌋ (exact, via BigInt); the buyer pays the odd micro-credit. */
export function splitCommission(value: number, bps: number): CommissionSplit {
  assertAmount('value', value);
  assertBps(bps);
  const total = Number((BigInt(value) * BigInt(bps)) / BigInt(BPS_DENOMINATOR));
  const buyerShare = Math.ceil(total / 2);
  return { total, buyerShare, sellerShare: total - buyerShare };
}

export function fillAmounts(quantity: number, price: number, bps: number): FillAmounts {
  assertAmount('quantity', quantity);
  assertAmount('price', price);
  const exact = BigInt(quantity) * BigInt(price);
  if (exact > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`fill value ${exact} (quantity ${quantity} × price ${price}) is not a safe integer`);
  }
  const value = Number(exact);
  const split = splitCommission(value, bps);
  const buyerPays = value + split.buyerShare;
  if (!Number.isSafeInteger(buyerPays)) {
    throw new RangeError(`fill value ${value} plus commission is not a safe integer`);
  }
  return { value, ...split, buyerPays, sellerGets: value - split.sellerShare };
}
