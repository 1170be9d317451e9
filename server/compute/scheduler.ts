/**
 * The compute scheduler's rules as pure functions: which units a donor may lease, how replicas are
 * validated by quorum, and how reliability drives replication (adaptive replication, as BOINC does).
 */

export type ReplicaState = 'LEASED' | 'SUBMITTED' | 'VALID' | 'INVALID';
export type ReplicaView = { id: string; deviceId: string; memberId: string; status: ReplicaState; outputHash: string | null; expiresAt: number };
export type UnitView = { id: string; index: number; status: 'PENDING' | 'VALIDATED' | 'FAILED'; requiredReplicas: number; replicas: ReplicaView[] };
export type Donor = { deviceId: string; memberId: string };

/** A replica still counts toward its unit unless it was judged invalid or its lease ran out unanswered. */
export const isLive = (r: ReplicaView, now: number) => r.status !== 'INVALID' && !(r.status === 'LEASED' && r.expiresAt <= now);

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

/** Laplace-smoothed share of a device's results that agreed with the quorum. */
export const reliability = (valid: number, invalid: number) => (valid + 1) / (valid + invalid + 2);

/** A device is trusted once it has a history and at least 90% of it agreed; newcomers are not yet. */
export const isTrusted = (valid: number, invalid: number) => valid >= 3 && reliability(valid, invalid) >= 0.9;

/** Replicas a unit needs at first: the job's replication, plus one when its first donor is not trusted. */
export function initialReplicas(replication: number, maxReplicas: number, firstDonorTrusted: boolean): number {
  return Math.min(maxReplicas, replication + (firstDonorTrusted ? 0 : 1));
}

export type Verdict =
  | { status: 'VALIDATED'; canonicalHash: string; valid: string[]; invalid: string[] }
  | { status: 'PENDING'; requiredReplicas: number }
  | { status: 'FAILED'; invalid: string[] };

/**
 * Judges a unit from its submitted results. A hash reported by at least `quorum` replicas is the
 * canonical result: those replicas are valid, the others invalid. Otherwise, if a quorum can no longer
 * be reached with the replicas planned, one more is planned (up to `maxReplicas`, after which the unit
 * fails and every result is judged invalid).
 */
export function judge(replicas: ReplicaView[], required: number, quorum: number, maxReplicas: number, now: number): Verdict {
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
