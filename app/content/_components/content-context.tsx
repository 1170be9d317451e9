'use client';

import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { createContext, useContext, useEffect, useState, useSyncExternalStore } from 'react';
import { ErrorAlert } from '@/app/_components/form';
import { Pending } from '@/app/_components/loading';
import { RequireMember } from '@/app/_components/require-member';
import { useLastKnown } from '@/app/_lib/last-known';
import type { ManagerSnapshot, TransferManager } from '@/app/_lib/transfer/manager';
import { useTRPC } from '@/app/_lib/trpc';

/** Where the Device screen keeps this browser's registered device id. */
export const DEVICE_ID_KEY = 'swapmesh.deviceId';
const COMMUNITY_KEY = 'swapmesh.contentCommunity';

export type Community = { id: string; slug: string; name: string };

type ContentContextValue = {
  member: { id: string; handle: string };
  deviceId: string;
  deviceName: string;
  communities: Community[];
  /** the community the catalog shows and presence is kept in; null until the member joins one */
  community: Community | null;
  setCommunityId: (id: string) => void;
  manager: TransferManager;
};

const ContentContext = createContext<ContentContextValue | null>(null);

export function useContent(): ContentContextValue {
  const value = useContext(ContentContext);
  if (!value) throw new Error('useContent() outside <ContentShell>');
  return value;
}

/** The manager's live state (transfers, nearby devices, gift offers). */
export function useTransfers(manager: TransferManager): ManagerSnapshot {
  return useSyncExternalStore(manager.subscribe, manager.getSnapshot, manager.getSnapshot);
}

/**
 * This device's transfer manager, once its code (WebRTC, hashing, the signaling schemas) has loaded: it is
 * imported on demand, so screens that never transfer, and a first visit, do not download it. Starts it.
 * `pairedOnly` is the presence for paired devices only (signal-message.ts), loaded with it.
 */
function useTransferManager(deviceId: string | null): { manager: TransferManager; pairedOnly: string } | null {
  const [loaded, setLoaded] = useState<{ manager: TransferManager; pairedOnly: string } | null>(null);
  useEffect(() => {
    if (!deviceId) return;
    let live = true;
    void Promise.all([import('@/app/_lib/transfer/manager'), import('@/server/content/signal-message')]).then(([{ getTransferManager }, { PAIRED_ONLY }]) => {
      const manager = getTransferManager(deviceId);
      void manager.start();
      if (live) setLoaded({ manager, pairedOnly: PAIRED_ONLY });
    });
    return () => {
      live = false;
    };
  }, [deviceId]);
  return deviceId && loaded?.manager.deviceId === deviceId ? loaded : null;
}

/** The device id this browser registered, read after hydration (undefined until then). */
export function useStoredDeviceId(): string | null | undefined {
  const [stored, setStored] = useState<string | null | undefined>(undefined);
  useEffect(() => setStored(localStorage.getItem(DEVICE_ID_KEY)), []);
  return stored;
}

/** Signed in, with a registered device and a community: the content screens' frame. */
export function ContentShell({ children }: { children: React.ReactNode }) {
  return <RequireMember what="swap files with nearby devices">{(member) => <DeviceGate member={member}>{children}</DeviceGate>}</RequireMember>;
}

function DeviceGate({ member, children }: { member: { id: string; handle: string }; children: React.ReactNode }) {
  const trpc = useTRPC();
  const stored = useStoredDeviceId();
  const devicesQuery = useQuery(trpc.device.list.queryOptions());
  const mineQuery = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }));
  // offline, this member's devices and communities as last known, so that the Files screens still open
  const devices = useLastKnown('content.devices', devicesQuery);
  const mine = useLastKnown('content.communities', mineQuery);
  const [communityId, setCommunityState] = useState<string | null>(null);
  useEffect(() => setCommunityState(localStorage.getItem(COMMUNITY_KEY)), []);

  const device = devices.data?.find((d) => d.device.id === stored)?.device ?? null;
  const communities: Community[] = mine.data?.items.map((c) => ({ id: c.id, slug: c.slug, name: c.name })) ?? [];
  const community = communities.find((c) => c.id === communityId) ?? communities[0] ?? null;
  const transfers = useTransferManager(device?.id ?? null);
  const manager = transfers?.manager ?? null;
  // online in the chosen community (and for paired devices), or for paired devices only without a community
  const presenceId = mine.data && transfers ? (community?.id ?? transfers.pairedOnly) : null;
  useEffect(() => {
    if (manager && presenceId) manager.setPresenceCommunity(presenceId);
  }, [manager, presenceId]);

  const failed = !devices.data && devicesQuery.isError ? devicesQuery.error : !mine.data && mineQuery.isError ? mineQuery.error : null;
  if (failed) return <ErrorAlert error={failed} />;
  if (stored === undefined || !devices.data || !mine.data) return <Pending query={!devices.data ? devicesQuery : mineQuery} />;
  if (device && !manager) return <Pending query={devicesQuery} />;
  if (!device || !manager) {
    return (
      <div className="card center">
        <h2>Register this device first</h2>
        <p className="muted">Files travel directly between devices, so Swapmesh needs to know this one.</p>
        <Link className="button" href="/device">Register this device</Link>
      </div>
    );
  }
  const setCommunityId = (id: string) => {
    localStorage.setItem(COMMUNITY_KEY, id);
    setCommunityState(id);
  };
  return (
    <ContentContext.Provider value={{ member, deviceId: device.id, deviceName: device.name, communities, community, setCommunityId, manager }}>
      {children}
    </ContentContext.Provider>
  );
}

/** Renders its children with the current community, or an invitation to join one. */
export function WithCommunity({ children }: { children: (community: Community) => React.ReactNode }) {
  const { community } = useContent();
  if (!community) {
    return (
      <div className="card empty">
        <p>Join a community to share files with its members.</p>
        <Link className="button" href="/communities">Find a community</Link>
      </div>
    );
  }
  return <>{children(community)}</>;
}

/**
 * Runs this device's transfers in the background on every screen, so it can serve files it offers
 * while its owner is elsewhere in the app. Renders nothing; mount it once in the app shell.
 */
export function TransferService() {
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const stored = useStoredDeviceId();
  const devices = useQuery(trpc.device.list.queryOptions(undefined, { enabled: Boolean(me.data && stored) }));
  const mine = useQuery(trpc.community.list.queryOptions({ mine: true, limit: 50 }, { enabled: Boolean(me.data) }));
  const owned = Boolean(stored && devices.data?.some((d) => d.device.id === stored));
  const items = mine.data?.items;
  const transfers = useTransferManager(owned ? (stored ?? null) : null);
  useEffect(() => {
    if (!transfers) return;
    // stay "online" (so requesters and paired devices see this device as reachable) in the chosen community,
    // or for paired devices only when the member is in none
    if (!items) return;
    const chosen = localStorage.getItem(COMMUNITY_KEY);
    transfers.manager.setPresenceCommunity(items.find((c) => c.id === chosen)?.id ?? items[0]?.id ?? transfers.pairedOnly);
  }, [transfers, items]);
  return null;
}
