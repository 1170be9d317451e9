/**
 * A server-sent-event reader for tests over HTTP: opens a tRPC subscription by GET, keeps every event
 * (tRPC's `connected`, `restore-id`, `serialized-error`, `return`, and data events with their id), and
 * waits for the ones a test expects.
 */
import http from 'node:http';
import { sseParser } from '@/server/live/sse';

export type SseEvent = { event: string; id: string | undefined; data: string; json: unknown };

export type SseStream = {
  status: Promise<number>;
  events: SseEvent[];
  /** Data events (`message`) with their parsed JSON. */
  data(): SseEvent[];
  /** Resolves with every event so far once `until` accepts one (from index `from`), or rejects after 15 s. */
  until(accept: (event: SseEvent) => boolean, from?: number): Promise<SseEvent[]>;
  close(): void;
};

export function openSse(base: string, path: string, input: unknown, headers: Record<string, string> = {}): SseStream {
  const url = new URL(`${base}/api/trpc/${path}`);
  if (input !== undefined) url.searchParams.set('input', JSON.stringify(input));
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let setStatus: (status: number) => void = () => {};
  const status = new Promise<number>((resolve) => (setStatus = resolve));
  let ended = false;
  const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
    setStatus(res.statusCode ?? 0);
    res.setEncoding('utf8');
    const feed = sseParser(({ event, id, data }) => {
      let json: unknown = null;
      try {
        json = data ? JSON.parse(data) : null;
      } catch {
        json = null;
      }
      events.push({ event, id, data, json });
      for (const wake of [...waiters]) wake();
    });
    res.on('data', feed);
    res.on('end', () => {
      ended = true;
      for (const wake of [...waiters]) wake();
    });
    res.on('error', () => {});
  });
  req.on('error', () => {
    ended = true;
    for (const wake of [...waiters]) wake();
  });
  return {
    status,
    events,
    data: () => events.filter((e) => e.event === 'message'),
    until(accept, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (events.slice(from).some(accept)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(events);
          } else if (ended) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`the stream ended without the event awaited: ${JSON.stringify(events).slice(0, 2_000)}`));
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such event within 15 s: ${JSON.stringify(events).slice(0, 2_000)}`));
        }, 15_000);
        waiters.add(check);
        check();
      });
    },
    close: () => req.destroy(),
  };
}
