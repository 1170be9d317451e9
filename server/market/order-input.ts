import { z } from 'zod';
import { formatCredits, MAX_COMMISSION_BPS, MAX_MICRO } from '../money';
import { CATEGORIES, UNITS_BY_CATEGORY } from '../valuation/categories';
import { OPERATING_SYSTEMS } from '../device/profile';

export const MAX_QUANTITY = 1_000_000_000;
/** How long a SPOT order stays open before its unfilled remainder is cancelled. */
export const SPOT_TTL_MS = 60_000;
/** How far in the past a window may start (clock differences between devices). */
export const WINDOW_START_SLACK_MS = 5 * 60_000;
export const MAX_WINDOW_AHEAD_MS = 366 * 86_400_000;
/**
 * How many resting orders of the side an order meets are read for it, best first: by one placement the long
 * way, and per side and unit by a batch of the book's writer (which places the long way any order that would
 * need more than it read).
 */
export const CANDIDATE_LIMIT = 500;

/**
 * Whether a BUY of `quantity` at up to `maxPrice` per unit, with the buyer's share of the highest commission
 * a community can set, costs at most MAX_MICRO. Every amount the market computes for an order (its hold,
 * a fill's value and commission, escrow, sums of them) is then a safe integer.
 */
export function orderCostFits(quantity: number, maxPrice: number): boolean {
  if (![quantity, maxPrice].every((n) => Number.isSafeInteger(n) && n >= 0)) return false;
  const price = BigInt(maxPrice);
  const perUnitWithCommission = price + (price * BigInt(MAX_COMMISSION_BPS) + 19_999n) / 20_000n;
  return BigInt(quantity) * perUnitWithCommission <= BigInt(MAX_MICRO);
}

const orderCostMessage = (what: string) =>
  `An order can cost at most ${formatCredits(MAX_MICRO)} credits (quantity × ${what}, with commission): lower the quantity or the ${what}.`;
export const ORDER_COST_MESSAGE = orderCostMessage('price');

const memberHandles = z.array(z.string().trim().toLowerCase().min(3).max(32)).max(50);

export const constraintsInput = z
  .strictObject({
    preferredMembers: memberHandles.optional(),
    excludedMembers: memberHandles.optional(),
    minStorageMb: z.number().int().min(0).max(1e9).optional(),
    os: z.array(z.enum(OPERATING_SYSTEMS)).min(1).max(OPERATING_SYSTEMS.length).optional(),
    minMips: z.number().min(0).max(1e6).optional(),
    minMflops: z.number().min(0).max(1e6).optional(),
    networks: z.array(z.enum(['wifi', 'cellular', 'ethernet'])).min(1).max(3).optional(),
  })
  .default({});

const price = z
  .number()
  .int('Prices are whole micro-credits.')
  .positive('The price must be more than zero.')
  .max(MAX_MICRO, 'That price is too large.');

export const placeOrderInput = z
  .object({
    communityId: z.string().min(1).max(64),
    side: z.enum(['BUY', 'SELL']),
    category: z.enum(CATEGORIES),
    unit: z.string().min(1).max(32),
    quantity: z
      .number()
      .int('The quantity is a whole number of units.')
      .positive('The quantity must be more than zero.')
      .max(MAX_QUANTITY, 'That quantity is too large.'),
    price,
    windowStart: z.iso.datetime({ offset: true, message: 'The window start must be an ISO 8601 time.' }),
    windowEnd: z.iso.datetime({ offset: true, message: 'The window end must be an ISO 8601 time.' }),
    kind: z.enum(['STANDING', 'SPOT']).default('STANDING'),
    deviceId: z.string().min(1).max(64).optional(),
    constraints: constraintsInput,
    negotiation: z
      .object({ mode: z.enum(['NONE', 'MANUAL', 'AUTO']), limit: price.nullish() })
      .default({ mode: 'NONE', limit: null }),
  })
  .superRefine((order, ctx) => {
    const units: readonly string[] = UNITS_BY_CATEGORY[order.category];
    if (!units.includes(order.unit)) {
      ctx.addIssue({
        code: 'custom',
        path: ['unit'],
        message: `${order.category} is traded in ${units.join(', ')}, not ${order.unit}.`,
      });
    }
    if (Date.parse(order.windowEnd) <= Date.parse(order.windowStart)) {
      ctx.addIssue({ code: 'custom', path: ['windowEnd'], message: 'The window must end after it starts.' });
    }
    const { mode, limit } = order.negotiation;
    // a SELL is bounded like a BUY: whoever fills it pays quantity × price
    if (!orderCostFits(order.quantity, Math.max(order.price, limit ?? 0))) {
      ctx.addIssue({
        code: 'custom',
        path: ['quantity'],
        message: limit && limit > order.price ? orderCostMessage('ceiling') : ORDER_COST_MESSAGE,
      });
    }
    if (mode === 'AUTO' && (limit === null || limit === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['negotiation', 'limit'],
        message: order.side === 'BUY' ? 'Automatic negotiation needs your ceiling price.' : 'Automatic negotiation needs your floor price.',
      });
    }
    if (limit !== null && limit !== undefined) {
      if (order.side === 'BUY' && limit < order.price) {
        ctx.addIssue({ code: 'custom', path: ['negotiation', 'limit'], message: 'Your ceiling cannot be below your bid.' });
      }
      if (order.side === 'SELL' && limit > order.price) {
        ctx.addIssue({ code: 'custom', path: ['negotiation', 'limit'], message: 'Your floor cannot be above your ask.' });
      }
    }
  });

export type PlaceOrderInput = z.infer<typeof placeOrderInput>;
