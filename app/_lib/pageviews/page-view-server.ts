/**
 * The loop that serves page views from this device while the member has switched it on: claim a view
 * (`pageviews.claim`), load the page (load-page.ts), report it (`pageviews.submit`), and claim again; with
 * nothing to load, wait for an order to open (a `pageviews` live event through the browser's one live stream)
 * or 15 s; when the site's rate cap is reached, wait the seconds the coordinator says.
 *
 * One server per device and community for the page's lifetime (`getPageViewServer`), read through
 * `subscribe`/`getSnapshot` (shaped for React's useSyncExternalStore).
 */
import { createTRPCClient, httpBatchLink, TRPCClientError, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '@/server/routers/_app';
import { getLiveHub } from '../live-client';
import { loadPage, type LoadOutcome } from './load-page';

export type ServerState = 'off' | 'waiting' | 'loading' | 'paused';
export type ServerSnapshot = { state: ServerState; loaded: number; last: { url: string; outcome: LoadOutcome } | null; note: string | null };

type Claimed = { viewId: string; url: string; token: string };
export interface PageViewApi {
  claim(communityId: string, deviceId: string, timeZone: string): Promise<{ view: Claimed | null }>;
  submit(viewId: string, deviceId: string, token: string, outcome: LoadOutcome): Promise<unknown>;
}

export function trpcPageViewApi(client: TRPCClient<AppRouter> = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: '/api/trpc' })] })): PageViewApi {
  return {
    claim: (communityId, deviceId, timeZone) => client.pageviews.claim.mutate({ communityId, deviceId, timeZone }),
    submit: (viewId, deviceId, token, outcome) => client.pageviews.submit.mutate({ viewId, deviceId, token, outcome }),
  };
}

const IDLE_MS = 15_000;
const ERROR_MS = 10_000;

const codeOf = (error: unknown) => (error instanceof TRPCClientError ? (error.data as { code?: string } | undefined)?.code : undefined);

export class PageViewServer {
  private snapshot: ServerSnapshot = { state: 'off', loaded: 0, last: null, note: null };
  private listeners = new Set<() => void>();
  private running = false;
  private wake: (() => void) | null = null;
  private unwatch: (() => void) | null = null;

  constructor(
    private readonly deviceId: string,
    private readonly communityId: string,
    private readonly api: PageViewApi = trpcPageViewApi(),
  ) {}

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
  getSnapshot = () => this.snapshot;

  private set(change: Partial<ServerSnapshot>) {
    this.snapshot = { ...this.snapshot, ...change };
    for (const listener of this.listeners) listener();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unwatch = getLiveHub().watchEvents((event) => {
      if (event.type === 'pageviews' && event.what === 'open') this.wake?.();
    });
    this.set({ state: 'waiting', note: null });
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.unwatch?.();
    this.unwatch = null;
    this.wake?.();
    this.set({ state: 'off', note: null });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async loop(): Promise<void> {
    const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    while (this.running) {
      let view: Claimed | null;
      try {
        view = (await this.api.claim(this.communityId, this.deviceId, timeZone)).view;
      } catch (error) {
        if (!this.running) return;
        const code = codeOf(error);
        const message = error instanceof Error ? error.message : 'The coordinator could not be reached.';
        if (code === 'PRECONDITION_FAILED') {
          // serving was switched off (here or on another screen)
          this.set({ state: 'paused', note: message });
          this.running = false;
          return;
        }
        const seconds = code === 'TOO_MANY_REQUESTS' ? Number(/in (\d+) s/.exec(message)?.[1] ?? 5) : ERROR_MS / 1000;
        this.set({ state: 'waiting', note: message });
        await this.sleep(Math.min(60, Math.max(1, seconds)) * 1000);
        continue;
      }
      if (!this.running) return;
      if (!view) {
        this.set({ state: 'waiting', note: null });
        await this.sleep(IDLE_MS);
        continue;
      }
      this.set({ state: 'loading', note: null });
      const outcome = await loadPage(view.url);
      try {
        await this.api.submit(view.viewId, this.deviceId, view.token, outcome);
        this.set({ loaded: this.snapshot.loaded + 1, last: { url: view.url, outcome } });
      } catch (error) {
        this.set({ note: error instanceof Error ? error.message : 'The report was not accepted.' });
      }
    }
  }
}

const servers = new Map<string, PageViewServer>();

export function getPageViewServer(deviceId: string, communityId: string): PageViewServer {
  const key = `${deviceId}:${communityId}`;
  let server = servers.get(key);
  if (!server) {
    server = new PageViewServer(deviceId, communityId);
    servers.set(key, server);
  }
  return server;
}
