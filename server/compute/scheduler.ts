/**
 * The compute scheduler's rules as pure functions: which units a donor may lease, how replicas are
 * validated by quorum, and how a device's trust drives replication (adaptive replication, as BOINC does).
 */

export type ReplicaState = 'LEASED' | 'SUBMITTED' | 'VALID' | 'INVALID';
export type ReplicaView = { id: string; deviceId: string; memberId: string; status: ReplicaState; outputHash: string | null; expiresAt: number };
export type UnitView = { id: string; index: number; status: 'PENDING' | 'VALIDATED' | 'FAILED'; requiredReplicas: number; replicas: ReplicaView[] };
export type Donor = { deviceId: string; memberId: string };

/** A replica still counts toward its unit unless it was judged invalid or its lease ran out unanswered. */
export const isLive = (r: Pick<ReplicaView, 'status' | 'expiresAt'>, now: number) => r.status !== 'INVALID' && !(r.status === 'LEASED' && r.expiresAt <= now);

/**
 * Units the donor may lease now, at most `max`: pending units still short of replicas, on which neither
 * this device nor this member already has a replica (one device never gets two replicas of a unit, nor
 * does one member). Units closest to completion first, so results arrive unit by unit; then by index.
 */
export function pickUnits(units: UnitView[], donor: Donor, max: number, now: number): UnitView[] {
  const open = units.filter((u) => {
    if (u.status !== 'PENDING') return false;
    if (u.replicas.some((r) => (r.deviceId === donor.deviceId || r.memberId === donor.memberId) && r.status !== 'LEASED')) return false;
    if (u.replicas.some((r) => (r.deviceId === donor.deviceId || r.memberId === donor.memberId) && isLive(r, now))) return false;
    return u.replicas.filter((r) => isLive(r, now)).length < u.requiredReplicas;
  });
  const live = (u: UnitView) => u.replicas.filter((r) => isLive(r, now)).length;
  open.sort((a, b) => live(b) - live(a) || a.index - b.index);
  return open.slice(0, Math.max(0, max));
}

/** Laplace-smoothed share of a device's results that agreed with the quorum (shown to the donor). */
export const reliability = (valid: number, invalid: number) => (valid + 1) / (valid + invalid + 2);

/*
 * Trust (BOINC's adaptive replication). A device's trust is its streak: results confirmed in a row since
 * its last mismatch, where confirmed means another device computed the same (a quorum of two or more), or
 * the job's owner checked it on their own device. A result accepted on trust alone (a single replica)
 * pays but adds nothing to the streak, so trust is never earned from unchecked work. A mismatch ends the
 * streak at once, whatever the history: the device is untrusted again, its results accepted on trust in
 * the community's open jobs are taken back (judged invalid, unpaid, recomputed by others), and it has to
 * earn TRUST_STREAK confirmations again.
 *
 * A trusted device gets single replicas, except for a random share of its units (the spot checks) that
 * still wait for a second device. It cannot tell which: the draw is made when the unit is leased and not
 * sent to it. A job completes only when every unit is validated, so its spot checks are done before its
 * contracts settle: a donor cheating on a share f of a job's n units is caught before being paid with
 * probability 1 - (1 - rate·f)^n, and one caught loses every unit of the open jobs it was not checked on.
 * What an undetected cheat can earn is bounded by the spot-check rate: about 1/MIN_SPOT_CHECK_RATE wrong
 * units, in jobs that happened to complete before a check came up.
 *
 * A community with one donor device: nobody else can confirm its results, so the job's owner does
 * (`compute.confirm`, from the job page: the owner's device computes units the donor returned and
 * the coordinator compares). The owner's result decides the unit, as the owner is the party who would be
 * cheated; a dishonest owner can only deny pay for the units they computed themselves and reset a
 * device's trust (the device is then replicated until it earns it back), never take credits. Once the
 * donor is trusted, the owner confirms only the spot checks (one unit in TRUST_STREAK/(2·streak), at least
 * one in ten), and a default job completes.
 */

/** Results confirmed in a row before a device is trusted with single replicas (BOINC's threshold). */
export const TRUST_STREAK = 10;
/** The least share of a trusted device's units that still get a second replica. */
export const MIN_SPOT_CHECK_RATE = 0.1;

export const isTrusted = (streak: number) => streak >= TRUST_STREAK;

/** Share of a device's units that get a second replica: all until it is trusted, then fewer as its streak grows, never under 10%. */
export function spotCheckRate(streak: number): number {
  if (!isTrusted(streak)) return 1;
  return Math.min(1, Math.max(MIN_SPOT_CHECK_RATE, TRUST_STREAK / (2 * streak)));
}

/**
 * Replicas a unit needs when a device leases it, given the device's streak and a uniform draw in [0, 1):
 * replication + 1 while the device is untrusted (so a disagreement can be settled without waiting), the
 * job's replication for a spot check, and one (the device's result is accepted alone) otherwise.
 */
export function initialReplicas(replication: number, maxReplicas: number, streak: number, draw: number): number {
  if (!isTrusted(streak)) return Math.min(maxReplicas, replication + 1);
  return draw < spotCheckRate(streak) ? replication : 1;
}

/** Agreeing results a unit needs: the job's quorum, or one for a unit given to a trusted device alone. */
export const quorumFor = (requiredReplicas: number, quorum: number) => (requiredReplicas <= 1 ? 1 : quorum);

/** What a judged result does to its device's trust. */
export type TrustEvent = 'confirmed' | 'accepted' | 'mismatch';

/** A batch's effect on a device: results judged valid and invalid, and its streak (reset, then `confirmed` added). */
export type TrustDelta = { valid: number; invalid: number; confirmed: number; reset: boolean };
export const noTrustChange = (): TrustDelta => ({ valid: 0, invalid: 0, confirmed: 0, reset: false });

/** The delta after one more event: confirmed and accepted results are valid (paid); only confirmed ones grow the streak; a mismatch ends it. */
export function addTrustEvent(delta: TrustDelta, event: TrustEvent): TrustDelta {
  if (event === 'mismatch') return { valid: delta.valid, invalid: delta.invalid + 1, confirmed: 0, reset: true };
  return { ...delta, valid: delta.valid + 1, confirmed: delta.confirmed + (event === 'confirmed' ? 1 : 0) };
}

/** A device's streak after a batch's delta. */
export const applyTrust = (streak: number, delta: TrustDelta) => (delta.reset ? delta.confirmed : streak + delta.confirmed);

/**
 * The owner's check of a unit: results equal to the owner's are valid (confirmed), the others invalid.
 * The unit takes the owner's result, whoever agreed with it.
 */
export function judgeByOwner(replicas: ReplicaView[], ownerHash: string): { valid: string[]; invalid: string[] } {
  const submitted = replicas.filter((r) => r.status === 'SUBMITTED' && r.outputHash !== null);
  return { valid: submitted.filter((r) => r.outputHash === ownerHash).map((r) => r.id), invalid: submitted.filter((r) => r.outputHash !== ownerHash).map((r) => r.id) };
}

/** Whether the owner may check a unit: pending, and some device returned it (the owner confirms work, it does not take it over). */
export const ownerMayCheck = (unit: { status: UnitView['status']; replicas: Pick<ReplicaView, 'status'>[] }) => unit.status === 'PENDING' && unit.replicas.some((r) => r.status !== 'LEASED');

/**
 * Where a unit stands, in the words of the job page: not started, being computed, computed and waiting
 * for a second device to confirm it, computed with a second device computing it, validated, failed.
 */
export type UnitPhase = 'waiting' | 'computing' | 'awaiting' | 'confirming' | 'validated' | 'failed';

export function unitPhase(unit: { status: UnitView['status']; replicas: Pick<ReplicaView, 'status' | 'expiresAt'>[] }, now: number): UnitPhase {
  if (unit.status === 'VALIDATED') return 'validated';
  if (unit.status === 'FAILED') return 'failed';
  const returned = unit.replicas.some((r) => r.status === 'SUBMITTED');
  const leased = unit.replicas.some((r) => r.status === 'LEASED' && isLive(r, now));
  if (returned) return leased ? 'confirming' : 'awaiting';
  return leased ? 'computing' : 'waiting';
}

export type Verdict =
  | { status: 'VALIDATED'; canonicalHash: string; valid: string[]; invalid: string[] }
  | { status: 'PENDING'; requiredReplicas: number }
  | { status: 'FAILED'; invalid: string[] };

/**
 * Judges a unit from its submitted results. A hash reported by at least `quorum` replicas (one for a
 * unit given to a trusted device alone, `quorumFor`) is the canonical result: those replicas are valid,
 * the others invalid. Otherwise, if a quorum can no longer
 * be reached with the replicas planned, one more is planned (up to `maxReplicas`, after which the unit
 * fails and every result is judged invalid).
 */
export function judge(replicas: ReplicaView[], required: number, jobQuorum: number, maxReplicas: number, now: number): Verdict {
  const quorum = quorumFor(required, jobQuorum);
  const submitted = replicas.filter((r) => (r.status === 'SUBMITTED' || r.status === 'VALID') && r.outputHash !== null);
  const groups = new Map<string, string[]>();
  for (const r of submitted) groups.set(r.outputHash!, [...(groups.get(r.outputHash!) ?? []), r.id]);
  let best: [string, string[]] | null = null;
  for (const group of groups) if (!best || group[1].length > best[1].length) best = group;
  if (best && best[1].length >= quorum) {
    const [hash, valid] = best;
    return { status: 'VALIDATED', canonicalHash: hash, valid, invalid: submitted.filter((r) => r.outputHash !== hash).map((r) => r.id) };
  }
  const pending = replicas.filter((r) => r.status === 'LEASED' && isLive(r, now)).length;
  const largest = best ? best[1].length : 0;
  // the most agreement still possible: the largest group plus every replica not yet answered
  const reachable = largest + pending + Math.max(0, required - submitted.length - pending);
  if (reachable >= quorum) return { status: 'PENDING', requiredReplicas: required };
  const needed = submitted.length + pending + (quorum - largest - pending);
  if (needed > maxReplicas) return { status: 'FAILED', invalid: submitted.map((r) => r.id) };
  return { status: 'PENDING', requiredReplicas: Math.max(required, needed) };
}
