/**
 * The simulated world: two linked communities, their coordinators and members (each with a device),
 * and what the members have learned so far (orders, negotiations, contracts, offers, jobs, leases,
 * items, transfers, draws). What the world remembers may be stale — an order filled meanwhile, a
 * negotiation closed — which is the point: acting on stale knowledge must be refused cleanly.
 */
import { TimeGate } from './time-gate';
import type { Db, DbKind } from '@/server/db/client';
import { createSession } from '@/server/auth/session';
import { callerWith, signUp, type Caller } from '../callers';
import { phoneProfile } from '../fixtures';
import type { Rng } from './rng';

export const CREDIT = 1_000_000;
export const HOUR = 3_600_000;
/** The most either linked community may owe the other (both coordinators agree to it when linking). */
export const LINK_CAP = 300 * CREDIT;

export type SimMember = { id: string; handle: string; caller: Caller; deviceId: string; communities: string[]; donating: boolean };
export type SimCommunity = {
  id: string;
  slug: string;
  coordinator: SimMember;
  members: SimMember[];
  commissionBps: number;
  creditLimit: number;
};

/** A bag of things known by id, from which operations pick at random; oldest entries fall out past `limit`. */
export class Pool<T extends { id: string }> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();
  constructor(private readonly limit = 400) {}

  get size() {
    return this.items.length;
  }
  add(item: T) {
    if (this.index.has(item.id)) return;
    if (this.items.length >= this.limit) this.remove(this.items[0]!.id);
    this.index.set(item.id, this.items.length);
    this.items.push(item);
  }
  get(id: string) {
    const i = this.index.get(id);
    return i === undefined ? undefined : this.items[i];
  }
  remove(id: string) {
    const i = this.index.get(id);
    if (i === undefined) return;
    const last = this.items.pop()!;
    this.index.delete(id);
    if (last.id !== id) {
      this.items[i] = last;
      this.index.set(last.id, i);
    }
  }
  pick(r: Rng): T | undefined {
    return this.items.length ? r.pick(this.items) : undefined;
  }
  all(): readonly T[] {
    return this.items;
  }
}

export type KnownOrder = { id: string; memberId: string; communityId: string; side: 'BUY' | 'SELL' };
export type KnownNegotiation = { id: string };
export type KnownContract = { id: string };
export type KnownOffer = { id: string; memberId: string };
export type KnownDeal = { id: string };
export type KnownJob = { id: string; ownerId: string };
export type KnownLease = { id: string; memberId: string; deviceId: string; kernel: string; input: unknown };
export type KnownItem = { id: string; ownerId: string; communityId: string; chunks: number; priced: boolean };
export type KnownTransfer = { id: string; senderId: string; senderDeviceId: string; receiverId: string; receiverDeviceId: string; chunks: number };
export type KnownDraw = { id: string; communityId: string; secret: string; periodEnd: number };

export type World = {
  db: Db;
  kind: DbKind;
  startedAt: number;
  communities: SimCommunity[];
  members: SimMember[];
  byId: Map<string, SimMember>;
  orders: Pool<KnownOrder>;
  negotiations: Pool<KnownNegotiation>;
  contracts: Pool<KnownContract>;
  offers: Pool<KnownOffer>;
  deals: Pool<KnownDeal>;
  jobs: Pool<KnownJob>;
  leases: Pool<KnownLease>;
  items: Pool<KnownItem>;
  transfers: Pool<KnownTransfer>;
  draws: Pool<KnownDraw>;
  /** the coordinator's handle on the link between the two communities */
  linkId: string | null;
  /** operations at real time share it; a sweep ahead of real time runs alone */
  gate: TimeGate;
};

export type WorldOptions = { members: number; seedTag: string };

/** At most `limit` promises at once (scrypt sign-ups are memory-hungry). */
async function inBatches<T>(count: number, limit: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let from = 0; from < count; from += limit) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(limit, count - from) }, (_, j) => make(from + j)))));
  }
  return out;
}

/**
 * Two communities, "north" (larger, sweepstakes funded by half of the commission, no credit) and
 * "south" (some credit allowed), linked by their coordinators. Every member joins their home community
 * (with duplicate joins fired at once, so the join grant is tested for once-ness), a few join both, and
 * some members' devices donate compute.
 */
export async function buildWorld(db: Db, kind: DbKind, { members: count, seedTag }: WorldOptions): Promise<World> {
  const tag = seedTag.slice(0, 6);
  const withDevice = async (handle: string, id: string, caller: Caller): Promise<SimMember> => {
    const { device } = await caller.device.register({ name: `${handle} phone`, profile: phoneProfile });
    return { id, handle, caller, deviceId: device.id, communities: [], donating: false };
  };
  const member = async (handle: string): Promise<SimMember> => {
    const m = await signUp(db, handle);
    return withDevice(handle, m.member.id, m.caller);
  };
  // Sign-up is not what this test is about, and its password hashing (scrypt) would take most of the
  // setup time: the coordinators sign up for real, the members are created with the first one's hash.
  const quickMember = async (handle: string, passwordHash: string): Promise<SimMember> => {
    const row = await db.member.create({ data: { handle, passwordHash }, select: { id: true } });
    const { token } = await createSession(db, row.id);
    return withDevice(handle, row.id, (await callerWith(db, token)).caller);
  };
  const [northCoordinator, southCoordinator] = await Promise.all([member(`sim-${tag}-north`), member(`sim-${tag}-south`)]);
  const north = await northCoordinator.caller.community.create({ name: 'Sim north', slug: `sim-${tag}-north`, commissionBps: 200, startingGrant: 1_000 * CREDIT, inviteOnly: false, sweepstakesShareBps: 5_000 });
  const south = await southCoordinator.caller.community.create({ name: 'Sim south', slug: `sim-${tag}-south`, commissionBps: 100, startingGrant: 500 * CREDIT, creditLimit: 20 * CREDIT, inviteOnly: false, sweepstakesShareBps: 2_000 });
  northCoordinator.communities.push(north.id);
  southCoordinator.communities.push(south.id);
  const link = await northCoordinator.caller.admin.proposeLink({ communityId: north.id, toSlug: south.slug, cap: LINK_CAP });
  await southCoordinator.caller.admin.acceptLink({ communityId: south.id, linkId: link.id });

  const { passwordHash } = await db.member.findUniqueOrThrow({ where: { id: northCoordinator.id }, select: { passwordHash: true } });
  const people = await inBatches(count, 8, (i) => quickMember(`sim-${tag}-m${i}`, passwordHash));
  const communities: SimCommunity[] = [
    { id: north.id, slug: north.slug, coordinator: northCoordinator, members: [northCoordinator], commissionBps: 200, creditLimit: 0 },
    { id: south.id, slug: south.slug, coordinator: southCoordinator, members: [southCoordinator], commissionBps: 100, creditLimit: 20 * CREDIT },
  ];
  const northCount = Math.ceil(count * 0.6);
  for (const [i, m] of people.entries()) {
    const homes = i < northCount ? [communities[0]!] : [communities[1]!];
    // every fifth member also joins the other community
    if (i % 5 === 0) homes.push(i < northCount ? communities[1]! : communities[0]!);
    for (const c of homes) {
      // three joins at once: one succeeds, the others are refused, and the grant is paid once
      await Promise.allSettled([0, 1, 2].map(() => m.caller.community.join({ slug: c.slug })));
      m.communities.push(c.id);
      c.members.push(m);
    }
  }
  // a third of the members donate their device's compute in their first community
  for (const [i, m] of people.entries()) {
    if (i % 3 !== 0) continue;
    await m.caller.compute.donate({ communityId: m.communities[0]!, deviceId: m.deviceId, on: true, floorPrice: 1_000 });
    m.donating = true;
  }

  const everyone = [northCoordinator, southCoordinator, ...people];
  return {
    db,
    kind,
    startedAt: Date.now(),
    communities,
    members: everyone,
    byId: new Map(everyone.map((m) => [m.id, m])),
    orders: new Pool(600),
    negotiations: new Pool(300),
    contracts: new Pool(600),
    offers: new Pool(300),
    deals: new Pool(200),
    jobs: new Pool(50),
    leases: new Pool(300),
    items: new Pool(100),
    transfers: new Pool(300),
    draws: new Pool(50),
    linkId: link.id,
    gate: new TimeGate(),
  };
}
