'use client';

import { useHomeInbox } from '@/app/_components/home/use-inbox';

/** What the navigation's badges count, by tab: everything waiting on Home, offers to answer in Trades, gifts in Files. */
export function useBadges(signedIn: boolean): Record<string, number> {
  const inbox = useHomeInbox(signedIn);
  const todo = inbox.data?.todo;
  if (!signedIn || !todo) return {};
  return {
    '/': todo.total,
    '/trades': todo.negotiations.items.length + todo.signOff.items.length + todo.deliver.items.length,
    '/content': todo.gifts.items.length,
    '/barter': todo.barter.items.length,
  };
}
