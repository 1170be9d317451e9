/**
 * The contract state machine (pure): MATCHED → ACTIVE → DELIVERED → SETTLED on the happy path;
 * FAILED and DISPUTED end in REFUNDED. Reasons are written for the person who tried the action.
 */

export const CONTRACT_STATES = ['MATCHED', 'ACTIVE', 'DELIVERED', 'SETTLED', 'FAILED', 'DISPUTED', 'REFUNDED'] as const;
export type ContractState = (typeof CONTRACT_STATES)[number];

export const CONTRACT_ACTIONS = ['START', 'REPORT_DELIVERED', 'SIGN_OFF', 'DISPUTE', 'FAIL', 'REFUND'] as const;
export type ContractAction = (typeof CONTRACT_ACTIONS)[number];

export const CONTRACT_ACTORS = ['BUYER', 'SELLER', 'SYSTEM'] as const;
export type ContractActor = (typeof CONTRACT_ACTORS)[number];

export type TransitionResult = { ok: true; next: ContractState } | { ok: false; reason: string };

export type MoneyEffect = 'PAY_SELLER' | 'REFUND_BUYER' | 'NONE';

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
    from: ['DISPUTED', 'FAILED'],
    to: 'REFUNDED',
    wrongActor: 'Only the system can refund the contract.',
    wrongState: 'Only a disputed or failed contract can be refunded.',
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
  if (action === 'SIGN_OFF') return 'PAY_SELLER';
  if (action === 'REFUND') return 'REFUND_BUYER';
  return 'NONE';
}
