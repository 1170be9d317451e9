import { deviceProfileSchema } from '../device/profile';
import type { PartyFacts } from './engine';

/** What the counterparty's constraints are checked against: the facts of the order's device. */
export function partyFacts(memberId: string, deviceProfile: unknown): PartyFacts {
  const parsed = deviceProfile === null || deviceProfile === undefined ? null : deviceProfileSchema.safeParse(deviceProfile);
  const profile = parsed?.success ? parsed.data : null;
  if (!profile) return { memberId, storageMb: null, os: null, mips: null, mflops: null, network: null };
  const { quotaMb, usageMb } = profile.storage;
  const type = profile.network.type;
  return {
    memberId,
    storageMb: quotaMb === null ? null : Math.max(0, Math.floor(quotaMb - (usageMb ?? 0))),
    os: profile.platform.os,
    mips: profile.compute.mips,
    mflops: profile.compute.mflops,
    network: type === 'wifi' || type === 'cellular' || type === 'ethernet' ? type : null,
  };
}
