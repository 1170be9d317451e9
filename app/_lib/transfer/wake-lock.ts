/**
 * Keeps the screen on while any transfer runs (the Screen Wake Lock API), as far as the browser allows:
 * the browser drops the lock whenever the page is hidden, so it is asked for again when the page is shown
 * again (`visibilitychange`), and `onReturn` lets the transfers resume at once rather than at their next
 * retry. Released as soon as nothing runs. Where the API is missing the transfers simply run without it.
 */

/** The part of a WakeLockSentinel used here. */
export type Sentinel = { readonly released: boolean; release(): Promise<void>; addEventListener(type: 'release', listener: () => void): void };

/** What the lock needs from the browser (a fake in unit tests). */
export interface WakeEnvironment {
  /** null when the browser has no Screen Wake Lock */
  request: (() => Promise<Sentinel>) | null;
  visible(): boolean;
  /** calls `listener` on every visibility change; returns a remover */
  onVisibilityChange(listener: () => void): () => void;
}

export function browserWakeEnvironment(): WakeEnvironment {
  const wakeLock = typeof navigator !== 'undefined' ? (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<Sentinel> } }).wakeLock : undefined;
  return {
    request: wakeLock ? () => wakeLock.request('screen') : null,
    visible: () => typeof document === 'undefined' || document.visibilityState === 'visible',
    onVisibilityChange(listener) {
      if (typeof document === 'undefined') return () => undefined;
      document.addEventListener('visibilitychange', listener);
      return () => document.removeEventListener('visibilitychange', listener);
    },
  };
}

export type WakeState =
  /** the browser has no Screen Wake Lock */
  | 'unsupported'
  /** nothing runs */
  | 'idle'
  /** the screen is kept on */
  | 'held'
  /** something runs, but the lock is not held now (page hidden, or the browser refused) */
  | 'released';

export class TransferWakeLock {
  private sentinel: Sentinel | null = null;
  private asking: Promise<void> | null = null;
  private busy = false;
  private stopListening: (() => void) | null;
  private lastState: WakeState;
  /** why the last request failed, if it did */
  lastRefusal: string | null = null;

  constructor(
    private readonly env: WakeEnvironment = browserWakeEnvironment(),
    private readonly events: { onReturn?: () => void; onChange?: (state: WakeState) => void } = {},
  ) {
    this.lastState = this.state;
    this.stopListening = env.onVisibilityChange(() => {
      if (!this.env.visible()) return;
      if (this.busy) {
        void this.acquire();
        this.events.onReturn?.();
      }
    });
  }

  get state(): WakeState {
    if (!this.env.request) return 'unsupported';
    if (!this.busy) return 'idle';
    return this.sentinel && !this.sentinel.released ? 'held' : 'released';
  }

  /** Says whether any transfer runs now: takes the lock, or lets it go. */
  set(busy: boolean) {
    if (busy === this.busy) return;
    this.busy = busy;
    if (busy) void this.acquire();
    else this.release();
    this.changed();
  }

  dispose() {
    this.busy = false;
    this.release();
    this.stopListening?.();
    this.stopListening = null;
  }

  private async acquire() {
    if (!this.env.request || !this.busy || !this.env.visible()) return;
    if (this.sentinel && !this.sentinel.released) return;
    if (this.asking) return this.asking;
    const request = this.env.request;
    this.asking = (async () => {
      try {
        const sentinel = await request();
        this.lastRefusal = null;
        if (!this.busy) {
          await sentinel.release().catch(() => undefined);
          return;
        }
        this.sentinel = sentinel;
        sentinel.addEventListener('release', () => {
          if (this.sentinel === sentinel) this.sentinel = null;
          this.changed();
        });
      } catch (error) {
        // refused (no user activation yet, battery saver…): tried again on the next return to the page
        this.lastRefusal = error instanceof Error ? error.message : String(error);
      } finally {
        this.asking = null;
        this.changed();
      }
    })();
    return this.asking;
  }

  private release() {
    const sentinel = this.sentinel;
    this.sentinel = null;
    if (sentinel && !sentinel.released) void sentinel.release().catch(() => undefined);
  }

  private changed() {
    const state = this.state;
    if (state === this.lastState) return;
    this.lastState = state;
    this.events.onChange?.(state);
  }
}
