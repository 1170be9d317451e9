/**
 * An EventSource for Node 20 (which has none), enough for tRPC's httpSubscriptionLink: a GET through the
 * agent's cookie-keeping fetch, parsed with the coordinator's own SSE parser (server/live/sse.ts), named
 * events and `message` dispatched as MessageEvents with `lastEventId`. It does not reconnect by itself: when
 * the stream ends or fails it becomes CLOSED and fires `error`, and the caller subscribes again.
 */
import { sseParser } from '../server/live/sse';

export function eventSourceWith(fetchImpl: typeof fetch): typeof EventSource {
  class NodeEventSource extends EventTarget {
    static readonly CONNECTING = 0;
    static readonly OPEN = 1;
    static readonly CLOSED = 2;
    readonly CONNECTING = 0;
    readonly OPEN = 1;
    readonly CLOSED = 2;
    readyState = 0;
    readonly url: string;
    readonly withCredentials = true;
    onopen: ((event: Event) => void) | null = null;
    onmessage: ((event: MessageEvent) => void) | null = null;
    onerror: ((event: Event) => void) | null = null;
    private readonly abort = new AbortController();

    constructor(url: string | URL) {
      super();
      this.url = String(url);
      void this.run();
    }

    close() {
      this.readyState = 2;
      this.abort.abort();
    }

    private async run() {
      try {
        const res = await fetchImpl(this.url, { headers: { accept: 'text/event-stream' }, signal: this.abort.signal });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        this.readyState = 1;
        this.dispatchEvent(new Event('open'));
        const parse = sseParser(({ event, data, id }) => {
          if (this.readyState === 2) return;
          this.dispatchEvent(new MessageEvent(event, { data, lastEventId: id ?? '' }));
        });
        const decoder = new TextDecoder();
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parse(decoder.decode(value, { stream: true }));
        }
      } catch {
        // closed by us, or the connection failed: reported below
      }
      if (this.readyState === 2 && this.abort.signal.aborted) return;
      this.readyState = 2;
      this.dispatchEvent(new Event('error'));
    }
  }
  return NodeEventSource as unknown as typeof EventSource;
}
