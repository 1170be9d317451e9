'use client';

import dynamic from 'next/dynamic';
import type { ComponentType } from 'react';

/**
 * A member's screen body as code loaded on demand, so that a visitor's first load (the invitation to sign in)
 * goes without it. Where the head's hint says this browser was signed in (member-hint.tsx), loading starts as
 * soon as the page's code runs, alongside `auth.me`, so a member does not wait for it twice.
 */
export function memberScreen<P extends object>(load: () => Promise<ComponentType<P>>) {
  if (typeof document !== 'undefined' && document.documentElement.dataset.member) void load().catch(() => undefined);
  return dynamic(load, { ssr: false, loading: () => <div className="card" style={{ minHeight: 160 }} aria-busy="true" /> });
}
