import { randomInt } from 'node:crypto';
import { tracked } from '@trpc/server';
import { DomainError } from '../errors';
import { relayLinked } from '../relay/sessions';
import { PAIRED_ONLY, signalMessageSchema, type SignalMessage } from './signal-message';
import type { Db, Queryable } from '../db/client';
import { listenRemote, notify, POLL_INTERVAL_MS, version, waitForChange } from '../live/bus';
import { afterFailure, assertNotBlocked, countAttempt, forgive, uncount, type ThrottleRule } from '../auth/throttle';

export { PAIRED_ONLY, signalMessageSchema, type SignalMessage };

const PAIRING_TTL_MS = 10 * 60_000;
const deviceKey = (deviceId: string) => `device:${deviceId}`;
/** The bus key that wakes a device's presence feed at once: a pairing made or removed, a gift sent to it. */
export const presenceKey = (deviceId: string) => `presence:${deviceId}`;
/** A device counts as online while it has been seen in the last half minute. */
export const ONLINE_WINDOW_MS = 30_000;
/** A presence feed re-reads the online devices this often (and at once when its presence key is notified). */
const PRESENCE_EVERY_MS = 5_000;

/**
 * A signaling message's size cap. A session description for a data channel is 1–3 kB; one with audio, video
 * and simulcast stays under 20 kB; trickled ICE candidates are a few hundred bytes each.
 */
export const MAX_SIGNAL_BYTES = 64 * 1024;
/** Messages per sending device: a burst of `burst`, then `perSecond` (token bucket, per process). */
export const SIGNAL_RATE = { burst: 50, perSecond: 25 } as const;

const buckets = new Map<string, { tokens: number; at: number }>();

/** Takes one message from the device's bucket, or refuses with the seconds until one is back. */
export function takeSignalToken(deviceId: string, now = Date.now()): void {
  const bucket = buckets.get(deviceId) ?? { tokens: SIGNAL_RATE.burst, at: now };
  bucket.tokens = Math.min(SIGNAL_RATE.burst, bucket.tokens + ((now - bucket.at) / 1000) * SIGNAL_RATE.perSecond);
  bucket.at = now;
  if (bucket.tokens < 1) {
    buckets.set(deviceId, bucket);
    throw new DomainError('RATE_LIMITED', 'This device is sending signaling messages too fast: wait a second and try again.', 1);
  }
  bucket.tokens -= 1;
  buckets.set(deviceId, bucket);
  // full buckets carry no information: drop them now and then so the map stays small
  if (buckets.size > 10_000) for (const [id, b] of buckets) if (b.tokens + ((now - b.at) / 1000) * SIGNAL_RATE.perSecond >= SIGNAL_RATE.burst) buckets.delete(id);
}

/**
 * Pairing codes are 6 digits, so guesses are limited: per guessing device and per member (wrong codes within
 * a window, then a block), and per code: every wrong guess made anywhere while a code is live counts against
 * that code (DevicePairing.attempts), and a code that has been exposed to `MAX_GUESSES_PER_CODE` wrong guesses
 * stops working, so no code can be found by many accounts guessing together with more than
 * MAX_GUESSES_PER_CODE / 1,000,000 chance.
 */
export const PAIR_PER_DEVICE: ThrottleRule = { limit: 10, windowMs: 10 * 60_000, blockMs: 10 * 60_000 };
export const PAIR_PER_MEMBER: ThrottleRule = { limit: 30, windowMs: 10 * 60_000, blockMs: 10 * 60_000 };
export const MAX_GUESSES_PER_CODE = 200;

/** Two devices may signal each other when their members share a community or the devices were paired. */
export async function maySignal(db: Db, from: { deviceId: string; memberId: string }, toDeviceId: string) {
  const target = await db.device.findUnique({ where: { id: toDeviceId }, select: { memberId: true } });
  if (!target) return false;
  if (target.memberId === from.memberId) return true;
  const shared = await db.membership.count({
    where: { memberId: from.memberId, community: { memberships: { some: { memberId: target.memberId } } } },
  });
  if (shared > 0) return true;
  if (await arePaired(db, from.deviceId, toDeviceId)) return true;
  // a relay and an end of one live relay session (the receiver may share no community with the relay)
  return relayLinked(db, from.deviceId, toDeviceId);
}

const between = (a: string, b: string) => ({ OR: [{ deviceId: a, pairedId: b }, { deviceId: b, pairedId: a }] });

export async function arePaired(db: Queryable, a: string, b: string): Promise<boolean> {
  return (await db.devicePairing.count({ where: between(a, b) })) > 0;
}

/** The devices paired with this one (either side of a used code), each once, with when they paired. */
async function pairedWith(db: Queryable, deviceId: string): Promise<Map<string, Date>> {
  const rows = await db.devicePairing.findMany({
    where: { OR: [{ deviceId, pairedId: { not: null } }, { pairedId: deviceId }] },
    select: { deviceId: true, pairedId: true, createdAt: true },
  });
  const out = new Map<string, Date>();
  for (const row of rows) {
    const other = row.deviceId === deviceId ? row.pairedId! : row.deviceId;
    const known = out.get(other);
    if (other !== deviceId && (!known || row.createdAt < known)) out.set(other, row.createdAt);
  }
  return out;
}

const sameAddress = (a: string | null | undefined, b: string) => Boolean(a && b !== 'unknown' && a === b);

/**
 * The devices paired with this one, online or not, for the Nearby screen: paired devices see each other on
 * both sides, after reloads, until either side removes the pairing. `nearby`: online behind the same public
 * address as this request (the address the coordinator saw, server/auth/client-address.ts).
 */
export async function listPairings(db: Queryable, deviceId: string, address: string, now = new Date()) {
  const paired = await pairedWith(db, deviceId);
  if (paired.size === 0) return [];
  const devices = await db.device.findMany({
    where: { id: { in: [...paired.keys()] } },
    select: { id: true, name: true, member: { select: { handle: true } }, presence: { select: { lastSeen: true, publicAddress: true } } },
  });
  return devices
    .map((d) => {
      const online = Boolean(d.presence && d.presence.lastSeen.getTime() > now.getTime() - ONLINE_WINDOW_MS);
      return { deviceId: d.id, name: d.name, handle: d.member.handle, online, nearby: online && sameAddress(d.presence?.publicAddress, address), pairedAt: paired.get(d.id)!.toISOString() };
    })
    .sort((a, b) => Number(b.online) - Number(a.online) || a.handle.localeCompare(b.handle) || a.name.localeCompare(b.name));
}

/** Removes the pairing of two devices, from either side; both stop seeing each other at once. */
export async function unpair(db: Db, deviceId: string, otherDeviceId: string) {
  const { count } = await db.devicePairing.deleteMany({ where: between(deviceId, otherDeviceId) });
  if (count === 0) throw new DomainError('NOT_FOUND', 'This device is not paired with that one.');
  notify([presenceKey(deviceId), presenceKey(otherDeviceId)]);
  return { ok: true };
}

// Every function below acts for one of the member's own devices: the router checked it is theirs
// (deviceOwnerProcedure, senderDeviceProcedure).

export async function sendSignal(db: Db, memberId: string, input: { fromDeviceId: string; toDeviceId: string; message: SignalMessage }) {
  if (!(await maySignal(db, { deviceId: input.fromDeviceId, memberId }, input.toDeviceId))) {
    throw new DomainError('FORBIDDEN', 'You can only signal devices in a community you share, or devices you paired with.');
  }
  if (Buffer.byteLength(JSON.stringify(input.message)) > MAX_SIGNAL_BYTES) {
    throw new DomainError('TOO_LARGE', `A signaling message can be at most ${MAX_SIGNAL_BYTES / 1024} kB: send fewer or smaller parts.`);
  }
  takeSignalToken(input.fromDeviceId);
  await db.signalEvent.create({ data: { toDeviceId: input.toDeviceId, fromDeviceId: input.fromDeviceId, fromMemberId: memberId, payload: input.message } });
  notify([deviceKey(input.toDeviceId)]);
  return { ok: true };
}

/** Signals addressed to a device, from after `lastEventId` (or from now on), as tracked items. */
export async function* deviceInbox(db: Db, deviceId: string, lastEventId: string | null | undefined, signal: AbortSignal | undefined) {
  let cursor: number;
  // a signal id is a 32-bit row id: anything else resumes from now
  if (lastEventId && /^\d{1,10}$/.test(lastEventId) && Number(lastEventId) <= 2_147_483_647) cursor = Number(lastEventId);
  else cursor = (await db.signalEvent.findFirst({ where: { toDeviceId: deviceId }, orderBy: { id: 'desc' }, select: { id: true } }))?.id ?? 0;
  const key = deviceKey(deviceId);
  while (!signal?.aborted) {
    const seen = version(key);
    const rows = await db.signalEvent.findMany({ where: { toDeviceId: deviceId, id: { gt: cursor } }, orderBy: { id: 'asc' }, take: 100 });
    if (rows.length) {
      const handles = new Map((await db.member.findMany({ where: { id: { in: [...new Set(rows.map((r) => r.fromMemberId))] } }, select: { id: true, handle: true } })).map((m) => [m.id, m.handle]));
      for (const row of rows) {
        cursor = row.id;
        yield tracked(String(row.id), { fromDeviceId: row.fromDeviceId, fromHandle: handles.get(row.fromMemberId) ?? '', message: row.payload as SignalMessage });
      }
    }
    if (rows.length < 100) await waitForChange(key, seen, POLL_INTERVAL_MS, signal);
  }
}

/** Marks the device online from this address; devices behind the same public address are "nearby". */
export async function touchPresence(db: Db, memberId: string, deviceId: string, publicAddress: string, now = new Date()) {
  await db.presence.upsert({
    where: { deviceId },
    create: { deviceId, memberId, publicAddress, lastSeen: now },
    update: { publicAddress, lastSeen: now },
  });
}

/**
 * The online devices this device may reach: those of the community's members (none for PAIRED_ONLY) and the
 * devices paired with it, nearby ones (behind the same public address) first. `paired` marks the latter.
 */
export async function onlineDevices(db: Queryable, communityId: string, self: { deviceId: string; address: string }, now = new Date()) {
  const paired = await pairedWith(db, self.deviceId);
  const reach = [
    ...(communityId === PAIRED_ONLY ? [] : [{ device: { member: { memberships: { some: { communityId } } } } }]),
    ...(paired.size > 0 ? [{ deviceId: { in: [...paired.keys()] } }] : []),
  ];
  if (reach.length === 0) return [];
  const rows = await db.presence.findMany({
    where: { lastSeen: { gt: new Date(now.getTime() - ONLINE_WINDOW_MS) }, deviceId: { not: self.deviceId }, OR: reach },
    select: { deviceId: true, publicAddress: true, device: { select: { name: true, member: { select: { handle: true } } } } },
  });
  return rows
    .map((r) => ({ deviceId: r.deviceId, name: r.device.name, handle: r.device.member.handle, nearby: sameAddress(r.publicAddress, self.address), paired: paired.has(r.deviceId) }))
    .sort((a, b) => Number(b.nearby) - Number(a.nearby) || a.handle.localeCompare(b.handle));
}

/** Refuses a presence community the member is not in (PAIRED_ONLY needs none). */
export async function assertPresenceCommunity(db: Queryable, memberId: string, communityId: string) {
  if (communityId === PAIRED_ONLY) return;
  const member = await db.membership.count({ where: { memberId, communityId } });
  if (!member) throw new DomainError('FORBIDDEN', 'You are not a member of this community.');
}

/**
 * The devices this one may reach online (onlineDevices), yielded whenever the list changes, while keeping this
 * device online from `address` (the address the coordinator saw the request come from, never a client's claim).
 */
export async function* presenceFeed(db: Db, memberId: string, deviceId: string, communityId: string, address: string, signal: AbortSignal | undefined) {
  await assertPresenceCommunity(db, memberId, communityId);
  listenRemote();
  const key = presenceKey(deviceId);
  let last = '';
  while (!signal?.aborted) {
    const seen = version(key);
    await touchPresence(db, memberId, deviceId, address);
    const list = await onlineDevices(db, communityId, { deviceId, address });
    const text = JSON.stringify(list);
    if (text !== last) {
      last = text;
      yield list;
    }
    await waitForChange(key, seen, PRESENCE_EVERY_MS, signal);
  }
}

export async function createPairCode(db: Db, memberId: string, deviceId: string, now = new Date()) {
  for (let attempt = 0; attempt < 10; attempt++) {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const clash = await db.devicePairing.count({ where: { code, pairedId: null, expiresAt: { gt: now } } });
    if (clash) continue;
    const expiresAt = new Date(now.getTime() + PAIRING_TTL_MS);
    await db.devicePairing.create({ data: { code, deviceId, memberId, expiresAt } });
    return { code, expiresAt: expiresAt.toISOString() };
  }
  throw new DomainError('CONFLICT', 'Could not find a free code: try again in a moment.');
}

export async function pairWithCode(db: Db, memberId: string, deviceId: string, code: string, now = new Date()) {
  const keys = { device: `pair:device:${deviceId}`, member: `pair:member:${memberId}` };
  await assertNotBlocked(db, [keys.device, keys.member], now);
  await countAttempt(db, keys.device, PAIR_PER_DEVICE, now);
  await countAttempt(db, keys.member, PAIR_PER_MEMBER, now).catch(async (error: unknown) => {
    await uncount(db, keys.device);
    throw error;
  });
  const pairing = await db.devicePairing.findFirst({
    where: { code, pairedId: null, expiresAt: { gt: now }, attempts: { lt: MAX_GUESSES_PER_CODE } },
    orderBy: { createdAt: 'desc' },
  });
  if (!pairing) {
    // a wrong guess: it was a chance at every live code
    await db.devicePairing.updateMany({ where: { pairedId: null, expiresAt: { gt: now } }, data: { attempts: { increment: 1 } } });
    await afterFailure(db, keys.device, PAIR_PER_DEVICE, now);
    await afterFailure(db, keys.member, PAIR_PER_MEMBER, now);
    throw new DomainError('NOT_FOUND', 'That code is not valid or has expired: ask for a new one.');
  }
  if (pairing.deviceId === deviceId) throw new DomainError('BAD_INPUT', 'That is this device’s own code: enter it on the other device.');
  // exactly one redemption wins: the write is conditional on the code being unused
  const { count } = await db.devicePairing.updateMany({ where: { id: pairing.id, pairedId: null }, data: { pairedId: deviceId } });
  if (count !== 1) throw new DomainError('CONFLICT', 'That code was just used: ask for a new one.');
  // pairing the same two devices again keeps one pairing
  await db.devicePairing.deleteMany({ where: { ...between(deviceId, pairing.deviceId), id: { not: pairing.id } } });
  await forgive(db, keys.device, now);
  const other = await db.device.findUniqueOrThrow({ where: { id: pairing.deviceId }, select: { id: true, name: true, member: { select: { handle: true } } } });
  // the device that showed the code sees this one at once (its presence feed wakes)
  notify([deviceKey(pairing.deviceId), presenceKey(pairing.deviceId), presenceKey(deviceId)]);
  return { pairedWith: { deviceId: other.id, name: other.name, handle: other.member.handle } };
}
