'use client';

import { useEffect } from 'react';
import { MEMBER_HINT_KEY } from './member-hint-script';
import styles from './member-hint.module.css';

/*
 * Whether this browser was signed in the last time the app asked, kept in localStorage. It is only a hint for the
 * first paint, never trusted: the prerendered pages are the same for everyone, so until `auth.me` answers they
 * carry both what a visitor sees (the welcome, "Sign in to …") and what a member sees while loading, and an
 * inline script in the document's head (layout.tsx, member-hint-script.ts) marks <html data-member> before the
 * first paint, so the right one shows at once: a visitor's screen is in the server's HTML rather than drawn
 * after the JavaScript has run.
 */

/** Keeps the hint in step with what the coordinator answered (undefined: not known yet). */
export function useMemberHint(signedIn: boolean | undefined) {
  useEffect(() => {
    if (signedIn === undefined) return;
    try {
      if (signedIn) localStorage.setItem(MEMBER_HINT_KEY, '1');
      else localStorage.removeItem(MEMBER_HINT_KEY);
    } catch {
      // storage unavailable: the hint stays off, which only costs a visitor's first paint
    }
    if (signedIn) document.documentElement.dataset.member = '1';
    else delete document.documentElement.dataset.member;
  }, [signedIn]);
}

/** While `auth.me` is on its way: the visitor's screen, or the member's loading state, as the hint says. */
export function UntilKnown({ visitor, member }: { visitor: React.ReactNode; member: React.ReactNode }) {
  return (
    <>
      <div className={styles.visitor}>{visitor}</div>
      <div className={styles.member}>{member}</div>
    </>
  );
}
