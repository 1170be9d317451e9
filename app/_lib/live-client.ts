'use client';

/**
 * The page's LiveHub (app/_lib/live-hub.ts): the tab's end of the browser's one live stream, with the
 * browser's Web Lock, BroadcastChannel and a tRPC client that holds `signal.stream` when this tab leads.
 */
import { trpcClient } from './trpc-client';
import { LiveHub, type HubChannel, type HubMessage, type StreamEvent } from './live-hub';

const CHANNEL = 'swapmesh-live';
const LOCK = 'swapmesh-live-leader';

let hub: LiveHub | null = null;

declare global {
  interface Window {
    __swapmeshLive?: LiveHub;
  }
}

function broadcastChannel(): HubChannel | null {
  if (typeof BroadcastChannel === 'undefined') return null;
  const channel = new BroadcastChannel(CHANNEL);
  return {
    post: (message: HubMessage) => channel.postMessage(message),
    listen: (onMessage) => channel.addEventListener('message', (event: MessageEvent<HubMessage>) => onMessage(event.data)),
    close: () => channel.close(),
  };
}

/** This tab's hub (browser only; created on first use). */
export function getLiveHub(): LiveHub {
  if (hub) return hub;
  const client = trpcClient();
  const channel = broadcastChannel();
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  const created = new LiveHub({
    tabId: typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`,
    channel,
    lock: locks && channel ? (lead) => void locks.request(LOCK, () => lead()) : null,
    open: (input, handlers) => {
      const sub = client.signal.stream.subscribe(input, {
        onData: (data) => {
          if ('feed' in data) handlers.onEvent(data as StreamEvent, null);
          else handlers.onEvent(data.data as StreamEvent, data.id);
        },
        onError: handlers.onError,
      });
      return () => sub.unsubscribe();
    },
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
    now: () => Date.now(),
  });
  hub = created;
  window.addEventListener('pagehide', (event) => {
    if (!event.persisted) created.close();
  });
  if (window.localStorage.getItem('swapmesh.debug') === '1') window.__swapmeshLive = created;
  return created;
}
