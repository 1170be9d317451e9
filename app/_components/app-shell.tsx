'use client';

import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import { IntentLink as Link } from '@/app/_components/intent-link';
import { usePathname } from 'next/navigation';
import { useMemberHint } from '@/app/_components/member-hint';
import { useBadges } from '@/app/_components/notifications/badges';
import badgeStyles from '@/app/_components/notifications/notifications.module.css';
import { useTRPC } from '@/app/_lib/trpc';
import { useAfterLoad } from '@/app/_lib/after-load';

/** Transfers and the storage agent, loaded only for a signed-in member (they render nothing). */
const BackgroundServices = dynamic(() => import('./background-services'), { ssr: false });
/** Live events and their toasts, loaded only for a signed-in member. */
const MemberLive = dynamic(() => import('./member-live'), { ssr: false });
/** The bar shown while this device relays for others, loaded only for a signed-in member. */
const RelayIndicator = dynamic(() => import('./relay-indicator').then((m) => m.RelayIndicator), { ssr: false });
/** The bar shown while this device shares its camera, microphone or screen, loaded only for a signed-in member. */
const SharingIndicator = dynamic(() => import('@/app/peripherals/_components/sharing-indicator').then((m) => m.SharingIndicator), { ssr: false });

const tabs = [
  { href: '/', label: 'Home', icon: 'M3 11l9-7 9 7v9a1 1 0 0 1-1 1h-5v-6H9v6H4a1 1 0 0 1-1-1z' },
  { href: '/market', label: 'Market', icon: 'M4 19V9m5 10V5m5 14v-7m5 7V8M3 21h18' },
  { href: '/barter', label: 'Barter', icon: 'M20 11a8 8 0 0 0-14.3-4.9L4 8m0-4v4h4M4 13a8 8 0 0 0 14.3 4.9L20 16m0 4v-4h-4' },
  { href: '/market/jobs', label: 'Jobs', icon: 'M4 5h16v11H4zM8 20h8m-4-4v4M8 9l2 2-2 2m5 0h3' },
  { href: '/trades', label: 'Trades', icon: 'M7 7h11l-3-3m3 13H6l3 3' },
  { href: '/content', label: 'Files', icon: 'M6 3h8l5 5v12a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1zm8 0v5h5' },
  { href: '/device', label: 'Device', icon: 'M7 2h10a1 1 0 0 1 1 1v18a1 1 0 0 1-1 1H7a1 1 0 0 1-1-1V3a1 1 0 0 1 1-1zm4 17h2' },
];

const COMMUNITIES_ICON = 'M8 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zm8 0a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM2 20c0-3 3-5 6-5s6 2 6 5m0-5c1-.6 2-1 3-1 3 0 5 2 5 5';

export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true">
      <rect width="32" height="32" rx="8" fill="#fff" />
      <path d="M8 12h13l-3-3M24 20H11l3 3" fill="none" stroke="#0f766e" strokeWidth="2.6" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

/** a stack of disks: storage on other members' devices */
const STORAGE_ICON = 'M4 6c0-1.7 3.6-3 8-3s8 1.3 8 3-3.6 3-8 3-8-1.3-8-3zm0 0v6c0 1.7 3.6 3 8 3s8-1.3 8-3V6m-16 6v6c0 1.7 3.6 3 8 3s8-1.3 8-3v-6';

export function AppShell({ children }: { children: React.ReactNode }) {
  const pathname = usePathname();
  const trpc = useTRPC();
  const me = useQuery(trpc.auth.me.queryOptions());
  const badges = useBadges(Boolean(me.data));
  // the live stream, background transfers and the relay bar start once the first screen is drawn and idle
  const afterLoad = useAfterLoad();
  useMemberHint(me.isSuccess ? Boolean(me.data) : undefined);
  const inJobs = pathname.startsWith('/jobs') || pathname.startsWith('/market/jobs');
  const inMarket = (pathname.startsWith('/market') || pathname.endsWith('/market')) && !inJobs;
  const isActive = (href: string) => {
    if (href === '/') return pathname === '/';
    if (href === '/market') return inMarket;
    if (href === '/market/jobs') return inJobs;
    if (href === '/trades') return pathname.startsWith('/trades') || pathname.startsWith('/contracts');
    return pathname.startsWith(href) && !inMarket;
  };
  return (
    <>
      <header className="topbar">
        <Link href="/" className="brand">
          <Logo /> Swapmesh
        </Link>
        <span className="who">
          <Link href="/storage" aria-label="Storage" aria-current={pathname.startsWith('/storage') ? 'page' : undefined}>
            <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
              <path d={STORAGE_ICON} />
            </svg>
          </Link>
          <Link href="/communities" aria-label="Communities" aria-current={pathname.startsWith('/communities') && !inMarket ? 'page' : undefined}>
            <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
              <path d={COMMUNITIES_ICON} />
            </svg>
          </Link>
          {me.data ? <Link href="/account" aria-label="Account">@{me.data.handle}</Link> : me.isSuccess ? <Link href="/signin">Sign in</Link> : null}
        </span>
      </header>
      {me.data && afterLoad ? <MemberLive memberId={me.data.id} /> : null}
      {me.data && afterLoad ? <BackgroundServices /> : null}
      <main className="page">
        {me.data ? <SharingIndicator /> : null}
        {me.data && afterLoad ? <RelayIndicator /> : null}
        {children}
      </main>
      <nav className="tabbar seven" aria-label="Main">
        {tabs.map((tab) => {
          const count = badges[tab.href] ?? 0;
          const badgeId = `badge-${tab.label.toLowerCase()}`;
          return (
            <Link key={tab.href} href={tab.href} aria-current={isActive(tab.href) ? 'page' : undefined} aria-label={tab.label} aria-describedby={count > 0 ? badgeId : undefined} style={{ position: 'relative' }}>
              <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true">
                <path d={tab.icon} />
              </svg>
              {tab.label}
              {count > 0 ? (
                <>
                  <span className={badgeStyles.badge} aria-hidden="true" data-testid={badgeId}>{count > 99 ? '99+' : count}</span>
                  <span className={badgeStyles.hidden} id={badgeId}>{count} waiting</span>
                </>
              ) : null}
            </Link>
          );
        })}
      </nav>
    </>
  );
}
