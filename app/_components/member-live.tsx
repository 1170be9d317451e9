'use client';

import { LiveEvents } from '@/app/_lib/live';
import { Notifications } from '@/app/_components/notifications/notifications';

/**
 * A signed-in member's live events: queries kept current and toasts for what arrives, from the browser's one
 * live stream. The app shell loads this (and the stream's code) only once someone is signed in.
 */
export default function MemberLive({ memberId }: { memberId: string }) {
  return (
    <LiveEvents enabled>
      <Notifications memberId={memberId} />
    </LiveEvents>
  );
}
