/**
 * The API server's writing of live streams (server/http/live-fast-path.ts SseSink, server/live/sse.ts): tRPC's
 * SSE format, and a shared event written to every stream as the very same bytes, serialized once.
 */
import { describe, expect, it } from 'vitest';
import type { ServerResponse } from 'node:http';
import { MAX_BUFFERED_BYTES, SseSink } from '@/server/http/live-fast-path';
import { sseParser } from '@/server/live/sse';
import { sharedFrame } from '@/server/live/stream';

function fakeResponse() {
  const writes: (Buffer | string)[] = [];
  const res = {
    destroyed: false,
    writableLength: 0,
    write: (chunk: Buffer | string) => (writes.push(chunk), true),
    cork: () => {},
    uncork: () => {},
    destroy() {
      this.destroyed = true;
    },
  };
  return { res: res as unknown as ServerResponse & { destroyed: boolean; writableLength: number }, writes, text: () => writes.map(String).join('') };
}

describe('live streams on the wire', () => {
  it('a shared frame goes to every stream as the same Buffer, serialized once', () => {
    const frame = sharedFrame('7', { levels: { bids: [], asks: [{ price: 1, quantity: 2 }] } });
    const streams = Array.from({ length: 100 }, () => fakeResponse());
    for (const s of streams) new SseSink(s.res, null).shared(frame);
    const first = streams[0]!.writes[0];
    expect(Buffer.isBuffer(first)).toBe(true);
    for (const s of streams) {
      expect(s.writes).toHaveLength(1);
      expect(s.writes[0]).toBe(first);
    }
    expect(String(first)).toBe(`data: ${JSON.stringify(frame.value)}\nid: 7\n\n`);
  });

  it('untracked after tracked: the id is cleared, then restored (as tRPC does); before any id, plain', () => {
    const { res, text } = fakeResponse();
    const sink = new SseSink(res, null);
    const shared = sharedFrame(null, { feed: 'book', n: 1 });
    sink.shared(shared);
    sink.tracked('3.4', { feed: 'event', n: 2 });
    sink.shared(shared);
    sink.untracked({ feed: 'presence', n: 3 });
    const events: { event: string; id: string | undefined; data: string }[] = [];
    sseParser((e) => events.push(e))(text());
    expect(events).toEqual([
      { event: 'message', id: undefined, data: '{"feed":"book","n":1}' },
      { event: 'message', id: '3.4', data: '{"feed":"event","n":2}' },
      { event: 'message', id: '', data: '{"feed":"book","n":1}' },
      { event: 'restore-id', id: '3.4', data: '' },
      { event: 'message', id: '', data: '{"feed":"presence","n":3}' },
      { event: 'restore-id', id: '3.4', data: '' },
    ]);
  });

  it('a stream that stopped reading is closed instead of buffering without end', () => {
    const { res, writes } = fakeResponse();
    const sink = new SseSink(res, '1.1');
    res.writableLength = MAX_BUFFERED_BYTES + 1;
    sink.tracked('1.2', { n: 1 });
    expect(res.destroyed).toBe(true);
    expect(writes).toEqual([]);
  });
});
