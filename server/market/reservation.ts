/**
 * What a BUY order holds in its owner's escrow while it is open. Per unit the buyer may pay at most
 * `maxPrice` (the bid, or the ceiling when it negotiates automatically) plus its share of commission,
 * which is at most half the commission on one unit rounded up. Holding that per unit makes the hold
 * linear in quantity, so every fill (at a price no higher than `maxPrice`) is covered by the part of the
 * hold it releases, whatever the rounding of the fill's own commission.
 */
export function holdPerUnit(maxPrice: number, commissionBps: number): number {
  // in BigInt: maxPrice × commissionBps can pass 2^53 before the division brings it back
  const product = BigInt(maxPrice) * BigInt(commissionBps);
  return maxPrice + Number((product + 19_999n) / 20_000n);
}

export function holdFor(quantity: number, maxPrice: number, commissionBps: number): number {
  const hold = quantity * holdPerUnit(maxPrice, commissionBps);
  if (!Number.isSafeInteger(hold)) throw new RangeError('order value is too large');
  return hold;
}

/** The highest price per unit a BUY can end up paying without a hand negotiation. */
export function maxBuyPrice(order: { price: number; negotiationMode: string; negotiationLimit: number | null }): number {
  return order.negotiationMode === 'AUTO' && order.negotiationLimit !== null
    ? Math.max(order.price, order.negotiationLimit)
    : order.price;
}

/**
 * What a fill of `quantity` releases from a bid's hold: its share of what the bid still reserves for its
 * `remaining` quantity (the whole rest on its last fill, so rounding never leaves anything behind).
 */
export function releasedHold(reserved: number, remaining: number, quantity: number): number {
  return remaining === quantity ? reserved : Number((BigInt(reserved) * BigInt(quantity)) / BigInt(remaining));
}
