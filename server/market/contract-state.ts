/**
 * The contract state machine (pure): MATCHED → ACTIVE → DELIVERED → SETTLED on the happy path; a
 * delivered contract the buyer neither signs off nor disputes settles by itself when its review period
 * ends (AUTO_SETTLE). FAILED ends in REFUNDED. A dispute waits in DISPUTED (the seller may respond)
 * until the community's coordinator decides: pay the seller (SETTLED), refund the buyer (REFUNDED) or
 * split (SETTLED, part refunded). Reasons are written for the person who tried the action.
 */

export const CONTRACT_STATES = ['MATCHED', 'ACTIVE', 'DELIVERED', 'SETTLED', 'FAILED', 'DISPUTED', 'REFUNDED'] as const;
export type ContractState = (typeof CONTRACT_STATES)[number];

export const CONTRACT_ACTIONS = [
  'START',
  'REPORT_DELIVERED',
  'SIGN_OFF',
  'DISPUTE',
  'FAIL',
  'REFUND',
  'AUTO_SETTLE',
  'RESPOND',
  'RESOLVE_PAY',
  'RESOLVE_REFUND',
  'RESOLVE_SPLIT',
  'SETTLE_PROVEN',
] as const;
export type ContractAction = (typeof CONTRACT_ACTIONS)[number];

export const CONTRACT_ACTORS = ['BUYER', 'SELLER', 'SYSTEM', 'COORDINATOR'] as const;
export type ContractActor = (typeof CONTRACT_ACTORS)[number];

export type TransitionResult = { ok: true; next: ContractState } | { ok: false; reason: string };

export type MoneyEffect = 'PAY_SELLER' | 'REFUND_BUYER' | 'SPLIT' | 'PRO_RATA' | 'NONE';

type Rule = {
  actors: readonly ContractActor[];
  from: readonly ContractState[];
  to: ContractState;
  wrongActor: string;
  wrongState: string;
};

const RULES: Record<ContractAction, Rule> = {
  START: {
    actors: ['SELLER', 'SYSTEM'],
    from: ['MATCHED'],
    to: 'ACTIVE',
    wrongActor: 'Only the seller can start the contract.',
    wrongState: 'Only a contract that was just matched can be started.',
  },
  REPORT_DELIVERED: {
    actors: ['SELLER'],
    from: ['MATCHED', 'ACTIVE'],
    to: 'DELIVERED',
    wrongActor: 'Only the seller can report delivery.',
    wrongState: 'Delivery can only be reported on a matched or active contract.',
  },
  SIGN_OFF: {
    actors: ['BUYER'],
    from: ['DELIVERED'],
    to: 'SETTLED',
    wrongActor: 'Only the buyer can sign off.',
    wrongState: 'Only a delivered contract can be signed off.',
  },
  DISPUTE: {
    actors: ['BUYER'],
    from: ['MATCHED', 'ACTIVE', 'DELIVERED'],
    to: 'DISPUTED',
    wrongActor: 'Only the buyer can dispute the contract.',
    wrongState: 'Only a matched, active or delivered contract can be disputed.',
  },
  FAIL: {
    actors: ['SYSTEM'],
    from: ['MATCHED', 'ACTIVE'],
    to: 'FAILED',
    wrongActor: 'Only the system can mark the contract failed.',
    wrongState: 'Only a matched or active contract can fail.',
  },
  REFUND: {
    actors: ['SYSTEM'],
    from: ['FAILED'],
    to: 'REFUNDED',
    wrongActor: 'Only the system can refund the contract.',
    wrongState: "Only a failed contract is refunded by the system; a dispute is decided by the community's coordinator.",
  },
  AUTO_SETTLE: {
    actors: ['SYSTEM'],
    from: ['DELIVERED'],
    to: 'SETTLED',
    wrongActor: 'Only the system settles a contract when its review period ends.',
    wrongState: 'Only a delivered contract settles at the end of its review period.',
  },
  RESPOND: {
    actors: ['SELLER'],
    from: ['DISPUTED'],
    to: 'DISPUTED',
    wrongActor: 'Only the seller can respond to a dispute.',
    wrongState: 'Only a disputed contract can be responded to.',
  },
  RESOLVE_PAY: {
    actors: ['COORDINATOR'],
    from: ['DISPUTED'],
    to: 'SETTLED',
    wrongActor: "Only the community's coordinator can decide a dispute.",
    wrongState: 'Only a disputed contract can be decided.',
  },
  RESOLVE_REFUND: {
    actors: ['COORDINATOR'],
    from: ['DISPUTED'],
    to: 'REFUNDED',
    wrongActor: "Only the community's coordinator can decide a dispute.",
    wrongState: 'Only a disputed contract can be decided.',
  },
  RESOLVE_SPLIT: {
    actors: ['COORDINATOR'],
    from: ['DISPUTED'],
    to: 'SETTLED',
    wrongActor: "Only the community's coordinator can decide a dispute.",
    wrongState: 'Only a disputed contract can be decided.',
  },
  SETTLE_PROVEN: {
    actors: ['SYSTEM'],
    from: ['MATCHED', 'ACTIVE'],
    to: 'SETTLED',
    wrongActor: 'Only the system settles a contract from proofs of delivery.',
    wrongState: 'Only a matched or active contract settles from its proofs of delivery.',
  },
};

const FINAL_REASON: Partial<Record<ContractState, string>> = {
  SETTLED: 'This contract was already settled.',
  REFUNDED: 'This contract was already refunded.',
};

const STATE_NOW: Record<ContractState, string> = {
  MATCHED: 'matched',
  ACTIVE: 'active',
  DELIVERED: 'delivered',
  SETTLED: 'settled',
  FAILED: 'failed',
  DISPUTED: 'disputed',
  REFUNDED: 'refunded',
};

export function isContractState(value: unknown): value is ContractState {
  return typeof value === 'string' && (CONTRACT_STATES as readonly string[]).includes(value);
}

export function isFinal(state: ContractState): boolean {
  return state === 'SETTLED' || state === 'REFUNDED';
}

export function transition(state: ContractState, action: ContractAction, actor: ContractActor): TransitionResult {
  if (!isContractState(state)) return { ok: false, reason: 'This contract is in an unknown state.' };
  const rule = Object.hasOwn(RULES, action) ? RULES[action] : undefined;
  if (rule === undefined) return { ok: false, reason: 'That is not something a contract can do.' };
  const finalReason = FINAL_REASON[state];
  if (finalReason !== undefined) return { ok: false, reason: finalReason };
  if (!rule.actors.includes(actor)) return { ok: false, reason: rule.wrongActor };
  if (!rule.from.includes(state)) {
    return { ok: false, reason: `${rule.wrongState} This one is ${STATE_NOW[state]}.` };
  }
  return { ok: true, next: rule.to };
}

/** The actions `actor` may take on a contract in `state`. */
export function allowedActions(state: ContractState, actor: ContractActor): ContractAction[] {
  return CONTRACT_ACTIONS.filter((action) => transition(state, action, actor).ok);
}

export function moneyEffect(action: ContractAction): MoneyEffect {
  if (action === 'SIGN_OFF' || action === 'AUTO_SETTLE' || action === 'RESOLVE_PAY') return 'PAY_SELLER';
  if (action === 'REFUND' || action === 'RESOLVE_REFUND') return 'REFUND_BUYER';
  if (action === 'RESOLVE_SPLIT') return 'SPLIT';
  if (action === 'SETTLE_PROVEN') return 'PRO_RATA';
  return 'NONE';
}

/** When a delivered contract settles by itself: the end of the community's review period. */
export function reviewEndsAt(deliveredAt: Date, reviewPeriodHours: number): Date {
  return new Date(deliveredAt.getTime() + reviewPeriodHours * 3_600_000);
}

export type SplitAmounts = {
  /** what leaves escrow towards the seller's side: the seller's pay plus the commission on it */
  paid: number;
  /** commission on the paid part (pro rata) */
  commission: number;
  /** what the seller receives: paid − commission */
  sellerGets: number;
  /** what goes back to the buyer: escrowed − paid */
  refund: number;
};

/**
 * A coordinator's split (pure, integer micro-credits): `sellerShareBps` of the escrow is paid out, the
 * commission is charged pro rata on that part, the rest of the escrow is refunded to the buyer.
 * 10000 bps is exactly a full payment (escrowed − commission to the seller), 0 exactly a full refund.
 */
export function splitAmounts(escrowed: number, commission: number, sellerShareBps: number): SplitAmounts {
  if (!Number.isSafeInteger(sellerShareBps) || sellerShareBps < 0 || sellerShareBps > 10_000) {
    throw new RangeError(`the seller's share must be 0..10000 basis points, got ${sellerShareBps}`);
  }
  return proRataAmounts(escrowed, commission, sellerShareBps, 10_000);
}

/**
 * Payment from proof of delivery (pure, integer micro-credits): `part` of `whole` was proven delivered
 * (both integers in one measure, e.g. seconds of a rental and its length in seconds), so that fraction of
 * the escrow is paid out (commission pro rata on it) and the rest goes back to the buyer. Rounds down
 * towards the buyer; all proven is exactly a full payment.
 */
export function proRataAmounts(escrowed: number, commission: number, part: number, whole: number): SplitAmounts {
  if (!Number.isSafeInteger(escrowed) || escrowed < 0) throw new RangeError(`escrowed must be a non-negative safe integer, got ${escrowed}`);
  if (!Number.isSafeInteger(commission) || commission < 0 || commission > escrowed) throw new RangeError(`commission must be within the escrow, got ${commission}`);
  if (!Number.isSafeInteger(whole) || whole <= 0) throw new RangeError(`whole must be a positive safe integer, got ${whole}`);
  if (!Number.isSafeInteger(part) || part < 0 || part > whole) throw new RangeError(`part must be an integer within 0..${whole}, got ${part}`);
  const paid = Number((BigInt(escrowed) * BigInt(part)) / BigInt(whole));
  const charged = Number((BigInt(commission) * BigInt(part)) / BigInt(whole));
  return { paid, commission: charged, sellerGets: paid - charged, refund: escrowed - paid };
}
