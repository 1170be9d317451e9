/**
 * Storage on other members' devices, the pure rules: sizes and quantities, the challenge schedule, shard
 * placement and repair choice, and what a contract has proven. Plain data in, plain data out.
 *
 * A plan keeps one encrypted bundle (a file or a folder, encrypted on the buyer's device) as shards, each
 * shard on `replicas` sellers' devices. The plan's window is `periods` periods of `periodMs`; in every
 * period each copy (placement) of a shard is asked one challenge at a random moment: the SHA-256 of a
 * nonce followed by a byte range of the shard, which the buyer's device prepared before upload. A copy
 * that passes is paid for that period; one that fails or misses it is paid nothing for it, is lost, and
 * its shard is copied onto another seller from a surviving copy.
 */

export const MIB = 1024 * 1024;
/** Largest shard a seller's device is asked to keep. */
export const MAX_SHARD_BYTES = 16 * MIB;
export const MAX_SHARDS = 64;
export const MAX_REPLICAS = 5;
/** Largest byte range one challenge hashes. */
export const MAX_CHALLENGE_BYTES = 64 * 1024;
export const MIN_PERIOD_MS = 10_000;
export const MAX_PERIOD_MS = 7 * 24 * 3_600_000;
export const MAX_PERIODS = 1_000;
/** Challenges the buyer prepares per shard and period: one per copy, and spares for copies made by repairs. */
export const CHALLENGES_PER_COPY_SPARE = 2;

export type ShardSpec = { index: number; sizeBytes: number; sha256: string };

/** MB-hours a seller is bought for: whole MiB of its shards times whole hours of the window (at least 1 each). */
export function mbHours(bytes: number, windowMs: number): number {
  return Math.max(1, Math.ceil(bytes / MIB)) * Math.max(1, Math.ceil(windowMs / 3_600_000));
}

/** How long a seller's device has to answer a challenge: half a period, at most a minute. */
export function answerWindowMs(periodMs: number): number {
  return Math.min(60_000, Math.floor(periodMs / 2));
}

/** The number of challenges the buyer must prepare for each shard. */
export function challengesNeeded(periods: number, replicas: number): number {
  return periods * (replicas + CHALLENGES_PER_COPY_SPARE);
}

export type PeriodSlot = { period: number; dueAt: number; closesAt: number };

/**
 * One challenge time per period in [from, to): a random moment in the period's first part, leaving the
 * answer window before the period closes. `random` returns [0, 1).
 */
export function challengeSchedule(plan: { startMs: number; periodMs: number }, from: number, to: number, random: () => number): PeriodSlot[] {
  const answer = answerWindowMs(plan.periodMs);
  const slots: PeriodSlot[] = [];
  for (let period = from; period < to; period++) {
    const opens = plan.startMs + period * plan.periodMs;
    const closesAt = opens + plan.periodMs;
    const span = Math.max(1, plan.periodMs - answer);
    slots.push({ period, dueAt: opens + Math.floor(random() * span), closesAt });
  }
  return slots;
}

/** The period a moment falls in (may be < 0 before the window or ≥ periods after it). */
export function periodAt(plan: { startMs: number; periodMs: number }, atMs: number): number {
  return Math.floor((atMs - plan.startMs) / plan.periodMs);
}

export type Candidate = {
  /** the seller's standing ask */
  orderId: string;
  deviceId: string;
  memberId: string;
  /** micro-credits per MB-hour */
  price: number;
  /** MB-hours still open on the ask */
  remaining: number;
  online: boolean;
};

export type Placement = { shardIndex: number; candidate: Candidate };

export type PlacementPlan = { ok: true; placements: Placement[]; bySeller: Map<string, { candidate: Candidate; shardIndexes: number[]; quantity: number }> } | { ok: false; reason: string };

/**
 * Puts each shard on `replicas` devices of distinct members (none the buyer's), online devices first, then the
 * cheapest, then the one given the least so far; an ask is only given what its open MB-hours cover and what
 * the buyer's price allows. Refuses when too few sellers are left.
 */
export function placeShards(
  shards: ShardSpec[],
  replicas: number,
  candidates: Candidate[],
  terms: { buyerId: string; windowMs: number; maxPrice: number },
): PlacementPlan {
  const usable = candidates.filter((c) => c.memberId !== terms.buyerId && c.price <= terms.maxPrice);
  const given = new Map<string, { candidate: Candidate; shardIndexes: number[]; bytes: number; quantity: number }>();
  const placements: Placement[] = [];
  for (const shard of [...shards].sort((a, b) => b.sizeBytes - a.sizeBytes)) {
    const members = new Set<string>();
    for (let copy = 0; copy < replicas; copy++) {
      const ranked = usable
        .filter((c) => !members.has(c.memberId))
        .filter((c) => {
          const had = given.get(c.orderId);
          const bytes = (had?.bytes ?? 0) + shard.sizeBytes;
          return mbHours(bytes, terms.windowMs) <= c.remaining;
        })
        .sort(
          (a, b) =>
            Number(b.online) - Number(a.online) ||
            a.price - b.price ||
            (given.get(a.orderId)?.bytes ?? 0) - (given.get(b.orderId)?.bytes ?? 0) ||
            a.orderId.localeCompare(b.orderId),
        );
      const pick = ranked[0];
      if (!pick) {
        const sellers = new Set(usable.map((c) => c.memberId)).size;
        return {
          ok: false,
          reason:
            sellers < replicas
              ? `Keeping ${replicas} copies needs ${replicas} members lending room at or below your price; ${sellers === 0 ? 'none is' : sellers === 1 ? 'only 1 is' : `only ${sellers} are`} lending now. Lower the copies, raise your price, or try later.`
              : 'The members lending room do not have enough of it left for this: choose a smaller file or fewer copies, or try later.',
        };
      }
      members.add(pick.memberId);
      const had = given.get(pick.orderId) ?? { candidate: pick, shardIndexes: [], bytes: 0, quantity: 0 };
      had.shardIndexes.push(shard.index);
      had.bytes += shard.sizeBytes;
      had.quantity = mbHours(had.bytes, terms.windowMs);
      given.set(pick.orderId, had);
      placements.push({ shardIndex: shard.index, candidate: pick });
    }
  }
  const bySeller = new Map([...given].map(([orderId, g]) => [orderId, { candidate: g.candidate, shardIndexes: g.shardIndexes.sort((a, b) => a - b), quantity: g.quantity }]));
  return { ok: true, placements: placements.sort((a, b) => a.shardIndex - b.shardIndex), bySeller };
}

/**
 * Where a shard goes when a copy is lost or moved: a device of a member who holds no copy of it (and who is
 * neither the buyer nor, for a lost copy, the member who lost it), online first, then cheapest.
 */
export function chooseRepair(
  shard: { sizeBytes: number },
  candidates: Candidate[],
  terms: { buyerId: string; windowMs: number; maxPrice: number; holders: string[]; excluded: string[] },
): Candidate | null {
  const need = mbHours(shard.sizeBytes, terms.windowMs);
  return (
    candidates
      .filter((c) => c.memberId !== terms.buyerId && !terms.holders.includes(c.memberId) && !terms.excluded.includes(c.memberId))
      .filter((c) => c.price <= terms.maxPrice && c.remaining >= need)
      .sort((a, b) => Number(b.online) - Number(a.online) || a.price - b.price || a.orderId.localeCompare(b.orderId))[0] ?? null
  );
}

export type ChallengeOutcome = 'SCHEDULED' | 'ISSUED' | 'PASSED' | 'FAILED' | 'MISSED';

/**
 * What a contract has proven: `whole` is every period its copies were bought for, `part` the periods whose
 * challenge passed. A copy lost early leaves its later periods in `whole`, unpaid.
 */
export function provenShare(copies: { periods: number; passed: number }[]): { part: number; whole: number } {
  let part = 0;
  let whole = 0;
  for (const c of copies) {
    whole += c.periods;
    part += Math.min(c.passed, c.periods);
  }
  return { part, whole };
}

/** The shard list the buyer's device sends, checked: indexes 0..n-1, sizes within limits, hex hashes. */
export function shardProblem(shards: ShardSpec[]): string | null {
  if (shards.length === 0) return 'Send at least one shard.';
  if (shards.length > MAX_SHARDS) return `A plan has at most ${MAX_SHARDS} shards: split into larger ones or store less.`;
  const sorted = [...shards].sort((a, b) => a.index - b.index);
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i]!;
    if (s.index !== i) return 'Shards are numbered 0, 1, 2… with none missing or repeated.';
    if (!Number.isSafeInteger(s.sizeBytes) || s.sizeBytes <= 0) return `Shard ${i} is empty.`;
    if (s.sizeBytes > MAX_SHARD_BYTES) return `Shard ${i} is ${s.sizeBytes} bytes; a shard may be at most ${MAX_SHARD_BYTES / MIB} MiB. Split it into smaller shards.`;
    if (!/^[0-9a-f]{64}$/.test(s.sha256)) return `Shard ${i} needs its SHA-256 as 64 lower-case hex digits.`;
  }
  return null;
}

export type PreparedChallenge = { shardIndex: number; offset: number; length: number; nonce: string; expected: string };

/** The challenges the buyer prepared, checked against the shards: ranges inside each shard, enough of them. */
export function challengeProblem(challenges: PreparedChallenge[], shards: ShardSpec[], needPerShard: number): string | null {
  const counts = new Map<number, number>();
  for (const c of challenges) {
    const shard = shards.find((s) => s.index === c.shardIndex);
    if (!shard) return `A challenge names shard ${c.shardIndex}, which the plan does not have.`;
    if (c.length <= 0 || c.length > MAX_CHALLENGE_BYTES || c.offset < 0 || c.offset + c.length > shard.sizeBytes) {
      return `A challenge of shard ${c.shardIndex} asks for bytes outside it or more than ${MAX_CHALLENGE_BYTES} bytes.`;
    }
    counts.set(c.shardIndex, (counts.get(c.shardIndex) ?? 0) + 1);
  }
  for (const s of shards) {
    if ((counts.get(s.index) ?? 0) < needPerShard) return `Shard ${s.index} needs ${needPerShard} prepared challenges (one per period for each copy, and spares for repairs).`;
  }
  return null;
}
