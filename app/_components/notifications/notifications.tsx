'use client';

import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { getLiveHub } from '@/app/_lib/live-client';
import type { StreamEvent } from '@/app/_lib/live-hub';
import { unitPrice } from '@/app/_lib/format';
import { useTRPC } from '@/app/_lib/trpc';
import { categoryWord } from '@/app/_lib/units';
import styles from './notifications.module.css';

type MemberEvent = Extract<StreamEvent, { feed: 'event' }>;
export type Notice = { id: number; text: string; href: string | null; action: string };

/** How long a toast stays on screen. */
export const TOAST_MS = 8_000;

/** What the member is told of an event, wherever they are in the app (null: nothing worth a toast). */
export function noticeOf(event: MemberEvent, memberId: string): Omit<Notice, 'id'> | null {
  switch (event.type) {
    case 'fill':
      if (event.pulled) return null;
      return {
        text: `${event.side === 'BUY' ? 'Bought' : 'Sold'} ${event.quantity.toLocaleString()} ${event.quantity === 1 ? 'unit' : 'units'} of ${categoryWord(event.category)} at ${unitPrice(event.price)} credits each`,
        href: `/contracts/${event.contractId}`,
        action: 'Open',
      };
    case 'negotiation':
      if (event.status === 'OPEN' && event.byMemberId === null) return { text: 'A negotiation opened on one of your orders', href: '/trades', action: 'Answer' };
      if (event.status === 'OPEN' && event.byMemberId !== memberId) return { text: 'New counter-offer on one of your negotiations', href: '/trades', action: 'Answer' };
      if (event.status === 'REJECTED' && event.byMemberId !== null && event.byMemberId !== memberId) return { text: 'The other side walked away from a negotiation', href: '/trades', action: 'See' };
      return null;
    case 'gift':
      return { text: `@${event.fromHandle} sent you “${event.title}”`, href: '/content/nearby', action: 'Take it' };
    case 'results':
      return event.what === 'delivered' ? { text: 'Results of your job reached the device you chose, fingerprint checked', href: `/jobs/${event.jobId}`, action: 'Open' } : null;
    case 'relay':
      return event.action === 'RELAY_OPENED' ? { text: 'A file is on its way to you through a relay: open it to receive', href: `/relay/${event.sessionId}`, action: 'Open' } : null;
    case 'barter':
      return event.status === 'PROPOSED' ? { text: 'A barter matched your offer and waits for your yes', href: '/barter', action: 'See' } : null;
    default:
      return null;
  }
}

/**
 * Toasts for what arrives while the member is anywhere in the app — fills, counter-offers, gifts, barter
 * matches — each with a link to where to act, from the browser's one live stream (the hub, not a new
 * subscription). Every event also refreshes Home's inbox, which the navigation's badges count.
 */
export function Notifications({ memberId }: { memberId: string | null }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [notices, setNotices] = useState<Notice[]>([]);
  const timers = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const dismiss = useCallback((id: number) => {
    setNotices((list) => list.filter((n) => n.id !== id));
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
  }, []);

  const onEvent = (event: MemberEvent) => {
    void queryClient.invalidateQueries(trpc.home.pathFilter());
    if (event.type === 'gift') void queryClient.invalidateQueries(trpc.content.pathFilter());
    if (!memberId) return;
    const notice = noticeOf(event, memberId);
    if (!notice) return;
    const id = Date.now() + Math.random();
    setNotices((list) => [...list.slice(-2), { id, ...notice }]);
    timers.current.set(id, setTimeout(() => dismiss(id), TOAST_MS));
  };
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (!memberId) return;
    return getLiveHub().watchEvents((event) => handler.current(event));
  }, [memberId]);
  useEffect(() => {
    const pending = timers.current;
    return () => pending.forEach((timer) => clearTimeout(timer));
  }, []);

  return (
    <div className={styles.region} role="status" aria-live="polite" data-testid="notifications">
      {notices.map((n) => (
        <div key={n.id} className={styles.toast} data-testid="toast">
          <span className={styles.text}>{n.text}</span>
          {n.href ? (
            <Link className={styles.open} href={n.href} onClick={() => dismiss(n.id)}>
              {n.action}
            </Link>
          ) : null}
          <button type="button" className={styles.close} aria-label="Dismiss" onClick={() => dismiss(n.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
