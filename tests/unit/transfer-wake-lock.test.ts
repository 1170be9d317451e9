import { describe, expect, it } from 'vitest';
import { TransferWakeLock, type Sentinel, type WakeEnvironment } from '@/app/_lib/transfer/wake-lock';

/** A browser as the wake lock sees it: visibility, and sentinels the "browser" releases when the page hides. */
function fakeBrowser(options: { supported?: boolean; refuse?: boolean } = {}) {
  let visible = true;
  const listeners = new Set<() => void>();
  const sentinels: (Sentinel & { fire(): void })[] = [];
  const env: WakeEnvironment = {
    request:
      options.supported === false
        ? null
        : async () => {
            if (options.refuse) throw new Error('NotAllowedError');
            const onRelease: (() => void)[] = [];
            const s = {
              released: false,
              async release() {
                if (s.released) return;
                s.released = true;
                onRelease.forEach((f) => f());
              },
              addEventListener(_type: 'release', listener: () => void) {
                onRelease.push(listener);
              },
              fire() {
                void s.release();
              },
            };
            sentinels.push(s);
            return s;
          },
    visible: () => visible,
    onVisibilityChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return {
    env,
    sentinels,
    held: () => sentinels.filter((s) => !s.released).length,
    setVisible(v: boolean) {
      visible = v;
      // the browser drops screen locks of a hidden page
      if (!v) sentinels.forEach((s) => s.fire());
      listeners.forEach((f) => f());
    },
    listeners,
  };
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('TransferWakeLock', () => {
  it('holds the screen on while a transfer runs and lets go when none does', async () => {
    const b = fakeBrowser();
    const lock = new TransferWakeLock(b.env);
    expect(lock.state).toBe('idle');
    lock.set(true);
    await settle();
    expect(lock.state).toBe('held');
    expect(b.held()).toBe(1);
    lock.set(true);
    await settle();
    expect(b.sentinels).toHaveLength(1);
    lock.set(false);
    await settle();
    expect(b.held()).toBe(0);
    expect(lock.state).toBe('idle');
  });

  it('asks again when the page comes back, and tells the transfers to resume', async () => {
    const b = fakeBrowser();
    let returns = 0;
    const lock = new TransferWakeLock(b.env, { onReturn: () => returns++ });
    lock.set(true);
    await settle();
    b.setVisible(false);
    await settle();
    expect(lock.state).toBe('released');
    expect(returns).toBe(0);
    b.setVisible(true);
    await settle();
    expect(lock.state).toBe('held');
    expect(b.sentinels).toHaveLength(2);
    expect(returns).toBe(1);
  });

  it('does not take the lock for a hidden page or when nothing runs on return', async () => {
    const b = fakeBrowser();
    const lock = new TransferWakeLock(b.env);
    b.setVisible(false);
    lock.set(true);
    await settle();
    expect(b.sentinels).toHaveLength(0);
    lock.set(false);
    b.setVisible(true);
    await settle();
    expect(b.sentinels).toHaveLength(0);
  });

  it('releases a lock granted after the transfers ended', async () => {
    const b = fakeBrowser();
    const lock = new TransferWakeLock(b.env);
    lock.set(true);
    lock.set(false); // before the request resolved
    await settle();
    await settle();
    expect(b.held()).toBe(0);
  });

  it('without the API, or when refused, transfers run on without it', async () => {
    const none = new TransferWakeLock(fakeBrowser({ supported: false }).env);
    none.set(true);
    expect(none.state).toBe('unsupported');
    const refused = new TransferWakeLock(fakeBrowser({ refuse: true }).env);
    refused.set(true);
    await settle();
    expect(refused.state).toBe('released');
    expect(refused.lastRefusal).toMatch(/NotAllowed/);
  });

  it('stops listening when disposed', () => {
    const b = fakeBrowser();
    const lock = new TransferWakeLock(b.env);
    expect(b.listeners.size).toBe(1);
    lock.dispose();
    expect(b.listeners.size).toBe(0);
  });
});
