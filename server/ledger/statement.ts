/**
 * A member's account history as a statement (pure, shared by the server and the browser): one line per
 * event, told from the member's side. A line is one journal entry, except that everything about one compute
 * job (its hold, the releases as donors lease work, every donor's settlement, the refunds) is one line.
 * Escrow movements are not lines of their own: a line carries the change to the member's available balance
 * and to their escrow, and the screen shows the escrow part as a sub-line.
 *
 * Lines are keyed: a job's entries (or the two postings of one entry) may fall on two pages, and the screen
 * merges lines with the same key (`mergeStatementLines`), so a job stays one line however it was paged.
 */

export type StatementVerb =
  | 'GRANT'
  | 'BID' // credits held in escrow for a bid
  | 'RELEASED' // escrow back to the available balance (a bid cancelled, filled below its limit, expired)
  | 'HELD' // more credits held in escrow (an agreed price above the bid)
  | 'BOUGHT'
  | 'SOLD'
  | 'REFUNDED'
  | 'SPLIT' // a dispute the coordinator split
  | 'CASH_DEPOSIT'
  | 'CASH_WITHDRAWAL'
  | 'PRIZE'
  | 'BARTER_PAID'
  | 'BARTER_RECEIVED'
  | 'BARTER_HELD'
  | 'JOB' // the member's own compute job: held, paid to donors, refunded
  | 'COMPUTED' // the member's devices computed for someone's job
  | 'OTHER';

export type StatementLine = {
  key: string;
  verb: StatementVerb;
  /** the member's side of the trade, when there is one */
  side: 'BUYER' | 'SELLER' | null;
  /** change to the available balance, micro-credits */
  available: number;
  /** change to the escrow balance, micro-credits */
  escrow: number;
  /** the other members in these entries, by handle (at most MAX_COUNTERPARTIES) */
  counterparties: string[];
  contractId: string | null;
  jobId: string | null;
  jobTitle: string | null;
  itemTitle: string | null;
  category: string | null;
  unit: string | null;
  /** the quantity traded (for a job: the validated units paid for so far) */
  quantity: number | null;
  /** price per unit, micro-credits, when one price applies */
  price: number | null;
  /** the entry's own words, for kinds this file does not know */
  memo: string;
  reference: string | null;
  /** how many of the member's postings the line sums */
  postings: number;
  /** the newest and oldest entry's time */
  at: string;
  since: string;
};

export const MAX_COUNTERPARTIES = 20;

/** One posting of the member's, with the entry it belongs to. */
export type StatementPosting = {
  transactionId: string;
  kind: string;
  memo: string;
  reference: string | null;
  account: 'available' | 'escrow';
  amount: number;
  createdAt: string;
};

/** What the references of a page's entries point at. */
export type ContractContext = {
  id: string;
  buyerId: string;
  buyer: string;
  sellerId: string;
  seller: string;
  category: string;
  unit: string;
  quantity: number;
  price: number;
  jobId: string | null;
  jobTitle: string | null;
  itemTitle: string | null;
  barter: boolean;
};
export type OrderContext = { id: string; side: 'BUY' | 'SELL'; category: string; unit: string; quantity: number; price: number; jobId: string | null; jobTitle: string | null; itemTitle: string | null };
export type StatementContext = {
  contracts: Map<string, ContractContext>;
  orders: Map<string, OrderContext>;
  /** handles of the other members with postings in an entry, by transaction id */
  others: Map<string, string[]>;
};

/** `contract:<id>`, `order:<id>`, `fill:<buyOrderId>[:<sellOrderId>]`, `barter:<id>`, `draw:<id>`. */
export function parseReference(reference: string | null): { contractId?: string; orderId?: string; barterId?: string } {
  if (!reference) return {};
  const [kind, id] = reference.split(':');
  if (!id) return {};
  if (kind === 'contract') return { contractId: id };
  if (kind === 'order' || kind === 'fill') return { orderId: id };
  if (kind === 'barter') return { barterId: id };
  return {};
}

function verbOf(kind: string, side: 'BUYER' | 'SELLER' | null, net: number): StatementVerb {
  switch (kind) {
    case 'GRANT':
      return 'GRANT';
    case 'ORDER_HOLD':
      return 'BID';
    case 'HOLD_RELEASE':
      return 'RELEASED';
    case 'ESCROW_TOP_UP':
      return 'HELD';
    case 'SETTLEMENT':
    case 'PROVEN_SETTLEMENT':
      return side === 'SELLER' ? 'SOLD' : 'BOUGHT';
    case 'REFUND':
      return 'REFUNDED';
    case 'SPLIT_SETTLEMENT':
      return 'SPLIT';
    case 'CASH_DEPOSIT':
      return 'CASH_DEPOSIT';
    case 'CASH_WITHDRAWAL':
      return 'CASH_WITHDRAWAL';
    case 'SWEEPSTAKES_PRIZE':
      return 'PRIZE';
    case 'BARTER_CREDITS':
    case 'BARTER_TOP_UP':
      return net < 0 ? 'BARTER_PAID' : 'BARTER_RECEIVED';
    case 'BARTER_ESCROW':
      return 'BARTER_HELD';
    default:
      return 'OTHER';
  }
}

/** The line one posting makes (before postings with the same key are merged). */
export function lineOfPosting(posting: StatementPosting, memberId: string, context: StatementContext): StatementLine {
  const ref = parseReference(posting.reference);
  const contract = ref.contractId ? context.contracts.get(ref.contractId) : undefined;
  const order = !contract && ref.orderId ? context.orders.get(ref.orderId) : undefined;
  const side: StatementLine['side'] = contract
    ? contract.sellerId === memberId && contract.buyerId !== memberId
      ? 'SELLER'
      : 'BUYER'
    : order
      ? order.side === 'SELL' ? 'SELLER' : 'BUYER'
      : null;
  const jobId = contract?.jobId ?? order?.jobId ?? null;
  const available = posting.account === 'available' ? posting.amount : 0;
  const escrow = posting.account === 'escrow' ? posting.amount : 0;
  const counterparties = contract
    ? [side === 'SELLER' ? contract.buyer : contract.seller]
    : (context.others.get(posting.transactionId) ?? []);
  const base = {
    side,
    available,
    escrow,
    counterparties: counterparties.slice(0, MAX_COUNTERPARTIES),
    jobId,
    jobTitle: contract?.jobTitle ?? order?.jobTitle ?? null,
    itemTitle: contract?.itemTitle ?? order?.itemTitle ?? null,
    category: contract?.category ?? order?.category ?? null,
    unit: contract?.unit ?? order?.unit ?? null,
    memo: posting.memo,
    reference: posting.reference,
    postings: 1,
    at: posting.createdAt,
    since: posting.createdAt,
  };
  if (jobId) {
    // a job's line counts the units paid for (settlements), at the job's price when that is one price
    const paid = posting.kind === 'SETTLEMENT' && contract ? contract.quantity : 0;
    return {
      ...base,
      key: `job:${jobId}:${side === 'SELLER' ? 'sold' : 'bought'}`,
      verb: side === 'SELLER' ? 'COMPUTED' : 'JOB',
      contractId: null,
      counterparties: contract ? base.counterparties : [],
      quantity: paid,
      price: contract?.price ?? order?.price ?? null,
    };
  }
  return {
    ...base,
    key: `entry:${posting.transactionId}`,
    verb: verbOf(posting.kind, side, available + escrow),
    contractId: contract?.id ?? null,
    quantity: contract?.quantity ?? order?.quantity ?? null,
    price: contract?.price ?? order?.price ?? null,
  };
}

/**
 * Two lines with the same key as one: amounts add up, the time span widens. For a job the quantities add up
 * too (each settlement pays for its own units); for one entry they are the same quantity, seen twice.
 */
export function mergeLine(a: StatementLine, b: StatementLine): StatementLine {
  const job = a.verb === 'JOB' || a.verb === 'COMPUTED';
  const counterparties = [...a.counterparties];
  for (const handle of b.counterparties) {
    if (counterparties.length >= MAX_COUNTERPARTIES) break;
    if (!counterparties.includes(handle)) counterparties.push(handle);
  }
  return {
    ...a,
    available: a.available + b.available,
    escrow: a.escrow + b.escrow,
    counterparties,
    quantity: job ? (a.quantity ?? 0) + (b.quantity ?? 0) : (a.quantity ?? b.quantity),
    price: a.price === b.price ? a.price : job ? null : a.price,
    contractId: a.contractId ?? b.contractId,
    postings: a.postings + b.postings,
    at: a.at > b.at ? a.at : b.at,
    since: a.since < b.since ? a.since : b.since,
  };
}

/**
 * Appends lines to a statement, newest first: a line whose key is already there is merged into it (it stays
 * where it first appeared), the others go at the end in their order.
 */
export function mergeStatementLines(into: StatementLine[], more: StatementLine[]): StatementLine[] {
  const out = [...into];
  const at = new Map(out.map((line, i) => [line.key, i]));
  for (const line of more) {
    const i = at.get(line.key);
    if (i === undefined) {
      at.set(line.key, out.length);
      out.push(line);
    } else {
      out[i] = mergeLine(out[i]!, line);
    }
  }
  return out;
}
