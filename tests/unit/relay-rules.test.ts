import { describe, expect, it } from 'vitest';
import { relayKeyBytes, relayReceiptBytes, type RelayReceipt } from '@/server/relay/receipt-format';
import { judgeRelayReceipt, MAX_BYTES_PER_MS, provenBytes, RATE_SLACK_BYTES, relayWholeBytes, type SessionForReceipt } from '@/server/relay/rules';

const t0 = new Date('2026-12-06T12:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const session = (over: Partial<SessionForReceipt> = {}): SessionForReceipt => ({
  state: 'LIVE',
  senderDeviceId: 'dev-s',
  receiverDeviceId: 'dev-r',
  joinedAt: t0,
  windowStart: t0,
  windowEnd: at(3_600_000),
  wholeBytes: relayWholeBytes(10_000),
  senderBytes: 0,
  senderSeq: 0,
  senderAt: null,
  receiverBytes: 0,
  receiverSeq: 0,
  receiverAt: null,
  ...over,
});
const receipt = (over: Partial<RelayReceipt> = {}): RelayReceipt => ({ version: 1, sessionId: 's1', deviceId: 'dev-s', role: 'SENDER', seq: 1, bytes: 1_000_000, at: t0.getTime(), ...over });

describe('relay receipt rules', () => {
  it('a contract sells quantity × 1,000,000 bytes, and proven bytes are the smaller of both ends', () => {
    expect(relayWholeBytes(25)).toBe(25_000_000);
    expect(provenBytes(5_000_000, 3_000_000)).toBe(3_000_000);
    expect(provenBytes(2_000_000, 7_000_000)).toBe(2_000_000);
    expect(provenBytes(4_000_000, 0)).toBe(0);
  });

  it('accepts an honest receipt from each end', () => {
    expect(judgeRelayReceipt(session(), receipt(), at(1_000))).toEqual({ ok: true, role: 'SENDER', bytes: 1_000_000 });
    expect(judgeRelayReceipt(session(), receipt({ role: 'RECEIVER', deviceId: 'dev-r' }), at(1_000))).toEqual({ ok: true, role: 'RECEIVER', bytes: 1_000_000 });
  });

  it('refuses a device that is not that end (the other end, the relay, a stranger)', () => {
    for (const r of [receipt({ deviceId: 'dev-r' }), receipt({ role: 'RECEIVER', deviceId: 'dev-s' }), receipt({ deviceId: 'dev-relay' })]) {
      expect(judgeRelayReceipt(session(), r, at(1_000))).toMatchObject({ ok: false, kind: 'FORBIDDEN' });
    }
  });

  it('refuses a replayed or older number, per end', () => {
    const s = session({ senderSeq: 3, senderBytes: 2_000_000, senderAt: at(2_000) });
    expect(judgeRelayReceipt(s, receipt({ seq: 3, bytes: 3_000_000 }), at(3_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
    expect(judgeRelayReceipt(s, receipt({ seq: 2, bytes: 3_000_000 }), at(3_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
    // the receiver's numbering is its own
    expect(judgeRelayReceipt(s, receipt({ role: 'RECEIVER', deviceId: 'dev-r', seq: 1 }), at(3_000))).toMatchObject({ ok: true });
  });

  it('refuses bytes going backwards, but accepts a count that stays the same', () => {
    const s = session({ senderSeq: 1, senderBytes: 2_000_000, senderAt: at(1_000) });
    expect(judgeRelayReceipt(s, receipt({ seq: 2, bytes: 1_999_999 }), at(2_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/fewer bytes/) });
    expect(judgeRelayReceipt(s, receipt({ seq: 2, bytes: 2_000_000 }), at(2_000))).toMatchObject({ ok: true });
  });

  it('refuses bytes beyond the contract’s quantity', () => {
    const s = session({ wholeBytes: 5_000_000 });
    expect(judgeRelayReceipt(s, receipt({ bytes: 5_000_000 }), at(10_000))).toMatchObject({ ok: true });
    expect(judgeRelayReceipt(s, receipt({ bytes: 5_000_001 }), at(10_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/more bytes than the contract sells/) });
  });

  it('refuses an inflated count: faster than the maximum rate since the last receipt, and in total', () => {
    const most = 1_000 * MAX_BYTES_PER_MS + RATE_SLACK_BYTES;
    expect(judgeRelayReceipt(session(), receipt({ bytes: most }), at(1_000))).toMatchObject({ ok: true });
    expect(judgeRelayReceipt(session(), receipt({ bytes: most + 1 }), at(1_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/could have carried/) });
    // after a receipt at 1 s, the next may add what 1 s more carries plus the burst; but not collect the burst twice in total
    const s = session({ senderSeq: 1, senderBytes: most, senderAt: at(1_000) });
    expect(judgeRelayReceipt(s, receipt({ seq: 2, bytes: most + 1_000 * MAX_BYTES_PER_MS }), at(2_000))).toMatchObject({ ok: true });
    expect(judgeRelayReceipt(s, receipt({ seq: 2, bytes: most + 1_000 * MAX_BYTES_PER_MS + RATE_SLACK_BYTES }), at(2_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' });
    // time after the window's end does not count
    const late = session({ windowEnd: at(1_000) });
    expect(judgeRelayReceipt(late, receipt({ bytes: most + 1 }), at(60_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' });
  });

  it('refuses receipts before the receiver joined and after the session ended', () => {
    expect(judgeRelayReceipt(session({ joinedAt: null }), receipt(), at(1_000))).toMatchObject({ ok: false, kind: 'PRECONDITION', message: expect.stringMatching(/not joined/) });
    expect(judgeRelayReceipt(session({ state: 'ENDED' }), receipt(), at(1_000))).toMatchObject({ ok: false, kind: 'PRECONDITION', message: expect.stringMatching(/ended/) });
  });

  it('signs fixed bytes: every field changes them, and key messages are bound to the session, role and device', () => {
    const base = new TextDecoder().decode(relayReceiptBytes(receipt()));
    for (const over of [{ seq: 2 }, { bytes: 2 }, { role: 'RECEIVER' as const }, { deviceId: 'x' }, { sessionId: 'y' }, { at: 5 }]) {
      expect(new TextDecoder().decode(relayReceiptBytes(receipt(over)))).not.toBe(base);
    }
    const key = new TextDecoder().decode(relayKeyBytes('s1', 'SENDER', 'dev-s', 'AAAA'));
    expect(new TextDecoder().decode(relayKeyBytes('s1', 'RECEIVER', 'dev-s', 'AAAA'))).not.toBe(key);
    expect(new TextDecoder().decode(relayKeyBytes('s2', 'SENDER', 'dev-s', 'AAAA'))).not.toBe(key);
  });
});
