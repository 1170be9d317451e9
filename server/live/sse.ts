/**
 * tRPC's server-sent-event wire format (@trpc/server 11 `sseStreamProducer`), written without web streams:
 * a `connected` event first, then each event's `data:` (its JSON) and, for a tracked event, `id:`. An
 * untracked event that follows a tracked one clears the id (`id:` empty, so the EventSource does not
 * hand it the previous id) and is followed by a `restore-id` event that sets it back, so that a
 * reconnecting EventSource still sends the last tracked id. A stream that ends sends `return`; one that
 * fails sends `serialized-error` with the error's shape.
 */
import type { SharedFrame } from './stream';

/** tRPC's first event: the client options (none). */
export const CONNECTED = Buffer.from('event: connected\ndata: {}\n\n');
export const RETURN = Buffer.from('event: return\ndata: \n\n');

/** The response headers of tRPC's SSE answer. */
export const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
};

/** The id a client sent when (re)connecting, as tRPC keeps it: null when it could not be sent back. */
export const usableLastEventId = (id: string | null | undefined) => (id && !/[\0\n\r]/.test(id) ? id : null);

export const trackedEvent = (id: string, json: string) => `data: ${json}\nid: ${id}\n\n`;
export const plainEvent = (json: string) => `data: ${json}\n\n`;
/** An untracked event after a tracked one: the id cleared (then restored with `restoreId`). */
export const clearingEvent = (json: string) => `data: ${json}\nid: \n\n`;
export const restoreId = (id: string) => `event: restore-id\ndata: \nid: ${id}\n\n`;
export const errorEvent = (json: string) => `event: serialized-error\ndata: ${json}\n\n`;

/** The frame's bytes for a stream whose last tracked id is `lastId`; made once per frame and form. */
export function sharedBytes(frame: SharedFrame, lastId: string | null): Buffer {
  const { bytes } = frame;
  if (frame.id !== null) return (bytes.tracked ??= Buffer.from(trackedEvent(frame.id, frame.json)));
  if (lastId === null) return (bytes.plain ??= Buffer.from(plainEvent(frame.json)));
  return (bytes.clearing ??= Buffer.from(clearingEvent(frame.json)));
}

/** Parses a stream of SSE text into events (tests, benches, tools): feed chunks, get whole events. */
export function sseParser(onEvent: (event: { event: string; data: string; id: string | undefined }) => void) {
  let buffer = '';
  return (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.trim() === '') continue;
      let event = 'message';
      let data = '';
      let id: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data += line.slice(line[5] === ' ' ? 6 : 5);
        else if (line.startsWith('id:')) id = line.slice(line[3] === ' ' ? 4 : 3);
      }
      onEvent({ event, data, id });
    }
  };
}
