'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import type { ComponentProps } from 'react';

type Props = Omit<ComponentProps<typeof Link>, 'href' | 'prefetch'> & { href: string };

/**
 * A link of the app shell (tab bar, top bar) that prefetches its screen when the person shows intent — a finger
 * on it, the pointer over it, keyboard focus — instead of as soon as it is on screen. Next's default prefetches
 * every link in view right after the load event: the shell's eleven links fetched eleven screens and ran about
 * twenty of their scripts on the phone's main thread while the first screen was still becoming usable. A touch
 * comes some 100 ms before the tap's click, which is most of the round trip a prefetch saves (and the service
 * worker already keeps every screen's scripts on the device).
 */
export function IntentLink({ href, onPointerEnter, onTouchStart, onFocus, ...rest }: Props) {
  const router = useRouter();
  const prefetch = () => router.prefetch(href);
  return (
    <Link
      href={href}
      prefetch={false}
      onPointerEnter={(event) => {
        prefetch();
        onPointerEnter?.(event);
      }}
      onTouchStart={(event) => {
        prefetch();
        onTouchStart?.(event);
      }}
      onFocus={(event) => {
        prefetch();
        onFocus?.(event);
      }}
      {...rest}
    />
  );
}
