import { describe, expect, it } from 'vitest';
import { judgeReceipt, RECEIPT_SLACK_MS, rentalWholeMs, type RentalForReceipt } from '@/server/peripheral/rules';
import { receiptBodySchema, receiptBytes, type ReceiptBody } from '@/server/peripheral/receipt-format';
import { QualityMeter, type MediaSample } from '@/app/_lib/peripheral/meter';
import { signalMessageSchema } from '@/server/content/signal-message';
import { duration } from '@/app/_lib/peripheral/duration';

const T0 = Date.parse('2026-12-06T10:00:00Z');
const at = (ms: number) => new Date(T0 + ms);

const rental = (over: Partial<RentalForReceipt> = {}): RentalForReceipt => ({
  state: 'LIVE',
  kind: 'CAMERA',
  buyerDeviceId: 'buyer-device',
  minWidth: 320,
  minHeight: 240,
  minFps: 5,
  startedAt: at(0),
  windowStart: at(0),
  windowEnd: at(120_000),
  wholeMs: 120_000,
  provenMs: 0,
  lastSeq: 0,
  lastReceiptAt: null,
  ...over,
});

const receipt = (over: Partial<ReceiptBody> = {}): ReceiptBody => ({
  version: 1,
  rentalId: 'r1',
  deviceId: 'buyer-device',
  seq: 1,
  mediaMs: 5_000,
  frames: 100,
  width: 640,
  height: 480,
  ...over,
});

describe('a rental sells the shorter of its device-hours and its window', () => {
  it('a 2-minute window sells 120 s whatever the quantity; a long window sells quantity hours', () => {
    expect(rentalWholeMs(1, at(0), at(120_000))).toBe(120_000);
    expect(rentalWholeMs(3, at(0), at(120_000))).toBe(120_000);
    expect(rentalWholeMs(2, at(0), at(10 * 3_600_000))).toBe(7_200_000);
  });
});

describe('judging a receipt', () => {
  it('counts media consistent with the wall clock since the stream could start', () => {
    expect(judgeReceipt(rental(), receipt(), at(5_000))).toEqual({ ok: true, mediaMs: 5_000 });
    // the next one is measured from the last accepted receipt
    expect(judgeReceipt(rental({ lastSeq: 1, provenMs: 5_000, lastReceiptAt: at(5_000) }), receipt({ seq: 2 }), at(10_000))).toEqual({ ok: true, mediaMs: 5_000 });
  });

  it('refuses a device that is not the rental’s receiving device, and a rental nobody joined', () => {
    expect(judgeReceipt(rental(), receipt({ deviceId: 'someone-else' }), at(5_000))).toMatchObject({ ok: false, kind: 'FORBIDDEN' });
    expect(judgeReceipt(rental({ buyerDeviceId: null }), receipt(), at(5_000))).toMatchObject({ ok: false, kind: 'FORBIDDEN' });
  });

  it('refuses replays by sequence number, whatever else they carry', () => {
    const r = rental({ lastSeq: 3, provenMs: 15_000, lastReceiptAt: at(15_000) });
    expect(judgeReceipt(r, receipt({ seq: 3 }), at(20_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
    expect(judgeReceipt(r, receipt({ seq: 1, mediaMs: 0 }), at(20_000))).toMatchObject({ ok: false, kind: 'CONFLICT' });
    expect(judgeReceipt(r, receipt({ seq: 4 }), at(20_000))).toMatchObject({ ok: true });
  });

  it('refuses more media than the time since the last accepted receipt allows (with a small slack)', () => {
    const r = rental({ lastSeq: 1, provenMs: 5_000, lastReceiptAt: at(5_000) });
    expect(judgeReceipt(r, receipt({ seq: 2, mediaMs: 5_000 + RECEIPT_SLACK_MS }), at(10_000))).toMatchObject({ ok: true });
    expect(judgeReceipt(r, receipt({ seq: 2, mediaMs: 5_001 + RECEIPT_SLACK_MS }), at(10_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/more media than time has passed/) });
  });

  it('refuses a total beyond what has been streamed, so the slack cannot be collected receipt after receipt', () => {
    // the last receipt already used the slack: another full-slack receipt goes beyond the total streamed
    const r = rental({ lastSeq: 1, provenMs: 5_000 + RECEIPT_SLACK_MS, lastReceiptAt: at(5_000) });
    expect(judgeReceipt(r, receipt({ seq: 2, mediaMs: 5_000 + RECEIPT_SLACK_MS }), at(10_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/has been streaming/) });
    // a stream started late is measured from its start, not from the window's
    expect(judgeReceipt(rental({ startedAt: at(60_000) }), receipt({ mediaMs: 5_000 }), at(62_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' });
  });

  it('refuses more than the rental sells, and nothing past the window counts', () => {
    const nearlyAll = rental({ lastSeq: 23, provenMs: 116_000, lastReceiptAt: at(116_000) });
    expect(judgeReceipt(nearlyAll, receipt({ seq: 24, mediaMs: 4_000 }), at(120_000))).toMatchObject({ ok: true });
    expect(judgeReceipt(nearlyAll, receipt({ seq: 24, mediaMs: 5_000 }), at(121_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT' });
    // long after the window closed, the wall clock stops at the window's end
    const late = rental({ lastSeq: 1, provenMs: 100_000, lastReceiptAt: at(100_000), wholeMs: 1_000_000 });
    expect(judgeReceipt(late, receipt({ seq: 2, mediaMs: 30_000, frames: 600 }), at(400_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/has been streaming/) });
  });

  it('refuses an ended rental and a window not yet open', () => {
    expect(judgeReceipt(rental({ state: 'ENDED' }), receipt(), at(5_000))).toMatchObject({ ok: false, kind: 'PRECONDITION' });
    expect(judgeReceipt(rental({ windowStart: at(60_000) }), receipt({ mediaMs: 0 }), at(5_000))).toMatchObject({ ok: false, kind: 'PRECONDITION' });
  });

  it('refuses video counted below the agreed size or frame rate; audio has no frames', () => {
    expect(judgeReceipt(rental(), receipt({ width: 160, height: 120 }), at(5_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/320×240/) });
    expect(judgeReceipt(rental(), receipt({ frames: 24 }), at(5_000))).toMatchObject({ ok: false, kind: 'BAD_INPUT', message: expect.stringMatching(/5 per second/) });
    expect(judgeReceipt(rental(), receipt({ frames: 25 }), at(5_000))).toMatchObject({ ok: true });
    const mic = rental({ kind: 'MICROPHONE', minWidth: 0, minHeight: 0, minFps: 0 });
    expect(judgeReceipt(mic, receipt({ frames: 0, width: 0, height: 0 }), at(5_000))).toMatchObject({ ok: true, mediaMs: 5_000 });
  });
});

describe('the signed bytes of a receipt', () => {
  it('are fixed by the fields, in order, and change with any of them', () => {
    const a = receiptBytes(receipt());
    expect(new TextDecoder().decode(a)).toBe('["swapmesh-peripheral-receipt",1,"r1","buyer-device",1,5000,100,640,480]');
    expect(receiptBytes(receipt({ mediaMs: 5_001 }))).not.toEqual(a);
    expect(receiptBodySchema.safeParse({ ...receipt(), seq: 0 }).success).toBe(false);
    expect(receiptBodySchema.safeParse({ ...receipt(), mediaMs: -1 }).success).toBe(false);
  });
});

describe('the receiving device’s quality meter', () => {
  const video = (at: number, framesDecoded: number, width = 640, height = 480): MediaSample => ({ at, framesDecoded, width, height, audioSeconds: 0 });

  it('counts the time between samples that meet the floor, with their frames and the smallest size', () => {
    const m = new QualityMeter({ kind: 'CAMERA', minWidth: 320, minHeight: 240, minFps: 5 });
    m.sample(video(0, 0));
    m.sample(video(1_000, 20));
    m.sample(video(2_000, 40, 480, 360));
    m.sample(video(3_000, 42)); // 2 fps: below the floor
    m.sample(video(4_000, 60, 160, 120)); // too small
    m.sample(video(5_000, 80));
    expect(m.take()).toEqual({ mediaMs: 3_000, frames: 60, width: 480, height: 360 });
    expect(m.take()).toEqual({ mediaMs: 0, frames: 0, width: 0, height: 0 });
    expect(m.totalMs).toBe(3_000);
  });

  it('counts nothing over a long gap or when counters restart, and a failed send is carried into the next receipt', () => {
    const m = new QualityMeter({ kind: 'CAMERA', minWidth: 320, minHeight: 240, minFps: 5 });
    m.sample(video(0, 0));
    m.sample(video(10_000, 200)); // the page was frozen
    m.sample(video(11_000, 5)); // a new connection: counters restarted
    m.sample(video(12_000, 25));
    const taken = m.take();
    expect(taken.mediaMs).toBe(1_000);
    m.sample(video(13_000, 45));
    m.giveBack(taken);
    expect(m.take()).toEqual({ mediaMs: 2_000, frames: 40, width: 640, height: 480 });
  });

  it('audio counts the samples played, never more than the time passed', () => {
    const m = new QualityMeter({ kind: 'MICROPHONE', minWidth: 0, minHeight: 0, minFps: 0 });
    m.sample({ at: 0, framesDecoded: 0, width: 0, height: 0, audioSeconds: 0 });
    m.sample({ at: 1_000, framesDecoded: 0, width: 0, height: 0, audioSeconds: 0.98 });
    m.sample({ at: 2_000, framesDecoded: 0, width: 0, height: 0, audioSeconds: 3 });
    expect(m.take()).toMatchObject({ mediaMs: 1_980, frames: 0 });
  });
});

describe('a media signaling message', () => {
  it('wraps one peer message for one rental, and nothing else', () => {
    expect(signalMessageSchema.safeParse({ type: 'media', rentalId: 'r1', signal: { type: 'offer', sdp: 'v=0' } }).success).toBe(true);
    expect(signalMessageSchema.safeParse({ type: 'media', rentalId: 'r1', signal: { type: 'hello' } }).success).toBe(true);
    expect(signalMessageSchema.safeParse({ type: 'media', rentalId: 'r1', signal: { type: 'media', rentalId: 'r2', signal: { type: 'hello' } } }).success).toBe(false);
    expect(signalMessageSchema.safeParse({ type: 'media', signal: { type: 'hello' } }).success).toBe(false);
  });
});

describe('durations on screen', () => {
  it('reads as people say them', () => {
    expect([duration(0), duration(45_900), duration(120_000), duration(90_000), duration(3_900_000), duration(7_200_000)]).toEqual(['0 s', '45 s', '2 min', '1 min 30 s', '1 h 5 min', '2 h']);
  });
});
