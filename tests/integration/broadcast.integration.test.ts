import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endBroadcast, expireStale, heartbeat, leaveBroadcast, submitBroadcastReceipt } from '@/server/broadcast/broadcasts';
import { broadcastReceiptBytes, VIEWER_TIMEOUT_MS, type BroadcastReceipt } from '@/server/broadcast/receipt-format';
import { linkPay } from '@/server/broadcast/rules';
import { ledgerTotals } from '@/server/ledger/repository';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const MB = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = CREDIT; // per MB relayed
const BUDGET = 20 * CREDIT;
const CONCURRENT = 24;

type Member = { id: string; handle: string; caller: Caller; deviceId: string; key: KeyObject };

describe.each(databaseKinds)('broadcasts on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;

  const member = async (prefix: string, opts: { withKey?: boolean; join?: boolean } = {}): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    if (opts.join !== false) await m.caller.community.join({ slug: 'cast-town' });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    if (opts.withKey !== false) await m.caller.device.setKey({ deviceId: device.id, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), algorithm: 'ECDSA-P256' });
    return { id: m.member.id, handle: m.member.handle, caller: m.caller, deviceId: device.id, key: privateKey };
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const signed = (key: KeyObject, body: BroadcastReceipt) => sign('sha256', broadcastReceiptBytes(body), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  const sound = async () => expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });

  /** A broadcaster (fan-out 2) with relays r1, r2 (fan-out 3) and viewers v1..v4 joined in that order. */
  async function tree() {
    const host = await member('host');
    const started = await host.caller.broadcast.start({ communityId, deviceId: host.deviceId, title: 'Market day', fanOut: 2, pricePerMb: PRICE, budget: BUDGET });
    const id = started.broadcast.id;
    const [r1, r2] = [await member('r1'), await member('r2')];
    await r1.caller.broadcast.join({ broadcastId: id, deviceId: r1.deviceId, relay: true, fanOut: 3 });
    await r2.caller.broadcast.join({ broadcastId: id, deviceId: r2.deviceId, relay: true, fanOut: 3 });
    const viewers: Member[] = [];
    for (let i = 0; i < 4; i++) {
      const v = await member(`v${i + 1}`);
      await v.caller.broadcast.join({ broadcastId: id, deviceId: v.deviceId, relay: false, fanOut: 0 });
      viewers.push(v);
    }
    const node = (m: Member) => m.caller.broadcast.node({ broadcastId: id, deviceId: m.deviceId });
    /** receipt n of a viewer for its current link, arriving n seconds after the link opened */
    const receipt = async (m: Member, n: number, bytes: number, over: Partial<BroadcastReceipt> = {}, key = m.key) => {
      const { link } = await node(m);
      const row = await t.db.broadcastLink.findUniqueOrThrow({ where: { id: link!.id }, select: { openedAt: true } });
      const body: BroadcastReceipt = { version: 1, broadcastId: id, linkId: link!.id, deviceId: m.deviceId, seq: n, bytes, mediaMs: n * 1_000, at: Date.now(), ...over };
      return { body, call: () => submitBroadcastReceipt(t.db, m.id, body, signed(key, body), new Date(row.openedAt.getTime() + n * 1_000)) };
    };
    return { host, id, r1, r2, viewers, node, receipt };
  }

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const coordinator = (await signUp(t.db, 'cast-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Cast town', slug: 'cast-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('places relays under the broadcaster and viewers under the relays, and shows the tree to the broadcaster only', async () => {
    const { host, id, r1, r2, viewers, node } = await tree();
    const [v1, v2, v3, v4] = viewers as [Member, Member, Member, Member];
    expect((await node(r1)).link).toMatchObject({ parentDeviceId: host.deviceId, fromBroadcaster: true });
    expect((await node(v1)).link).toMatchObject({ parentDeviceId: r1.deviceId, fromBroadcaster: false });
    expect((await node(v2)).link).toMatchObject({ parentDeviceId: r2.deviceId });
    expect((await node(v3)).link).toMatchObject({ parentDeviceId: r1.deviceId });
    expect((await node(v4)).link).toMatchObject({ parentDeviceId: r2.deviceId });
    expect((await node(r1)).children.map((c) => c.deviceId)).toEqual([v1.deviceId, v3.deviceId]);
    expect((await host.caller.broadcast.node({ broadcastId: id, deviceId: host.deviceId })).children.map((c) => c.deviceId)).toEqual([r1.deviceId, r2.deviceId]);
    const view = await host.caller.broadcast.tree({ broadcastId: id });
    expect(view.viewers).toHaveLength(6);
    expect(view.budget).toBe(BUDGET);
    await rejects(r1.caller.broadcast.tree({ broadcastId: id }), 'FORBIDDEN', /Only the broadcaster/);
    expect((await v1.caller.broadcast.list()).find((b) => b.id === id)).toMatchObject({ title: 'Market day', broadcaster: host.handle, viewers: 6 });
    expect(await balance(host)).toEqual({ available: GRANT - BUDGET, escrow: BUDGET });
    await host.caller.broadcast.end({ broadcastId: id });
    expect(await balance(host)).toEqual({ available: GRANT, escrow: 0 });
    await sound();
  });

  it('refuses strangers, keyless devices, the sending device as a viewer, and ending by anyone but the broadcaster', async () => {
    const host = await member('host');
    const { broadcast } = await host.caller.broadcast.start({ communityId, deviceId: host.deviceId, title: 'Closed', fanOut: 2, pricePerMb: PRICE, budget: 0 });
    const stranger = await member('stranger', { join: false });
    const keyless = await member('keyless', { withKey: false });
    const viewer = await member('viewer');
    await rejects(stranger.caller.broadcast.get({ broadcastId: broadcast.id }), 'NOT_FOUND');
    await rejects(stranger.caller.broadcast.join({ broadcastId: broadcast.id, deviceId: stranger.deviceId, relay: false, fanOut: 0 }), 'NOT_FOUND');
    expect((await stranger.caller.broadcast.list()).some((b) => b.id === broadcast.id)).toBe(false);
    await rejects(keyless.caller.broadcast.join({ broadcastId: broadcast.id, deviceId: keyless.deviceId, relay: false, fanOut: 0 }), 'PRECONDITION_FAILED', /register its key/);
    await rejects(host.caller.broadcast.join({ broadcastId: broadcast.id, deviceId: host.deviceId, relay: false, fanOut: 0 }), 'BAD_REQUEST', /sending the broadcast/);
    await rejects(viewer.caller.broadcast.join({ broadcastId: broadcast.id, deviceId: host.deviceId, relay: false, fanOut: 0 }), 'NOT_FOUND', /no device/);
    await rejects(stranger.caller.broadcast.start({ communityId, deviceId: stranger.deviceId, title: 'x', fanOut: 1, pricePerMb: 0, budget: 0 }), 'NOT_FOUND');
    await rejects(viewer.caller.broadcast.start({ communityId, deviceId: viewer.deviceId, title: 'too dear', fanOut: 1, pricePerMb: 0, budget: 10 * GRANT }), 'CONFLICT', /Not enough credits/);
    expect((await viewer.caller.broadcast.list()).some((b) => b.title === 'too dear')).toBe(false);
    await rejects(viewer.caller.broadcast.end({ broadcastId: broadcast.id }), 'FORBIDDEN');
    await host.caller.broadcast.end({ broadcastId: broadcast.id });
    await rejects(viewer.caller.broadcast.join({ broadcastId: broadcast.id, deviceId: viewer.deviceId, relay: false, fanOut: 0 }), 'PRECONDITION_FAILED', /ended/);
    await sound();
  });

  it("a relay that leaves has its children re-parented, and is paid once for what they proved; refused receipts change nothing", async () => {
    const { host, id, r1, r2, viewers, node, receipt } = await tree();
    const [v1, v2, , v3] = [viewers[0]!, viewers[1]!, null, viewers[2]!];
    // v1 and v3 receive from r1: 1 MB after 1 s, 2 MB after 2 s; v3 1.5 MB
    await (await receipt(v1, 1, 1 * MB)).call();
    await (await receipt(v1, 2, 2 * MB)).call();
    await (await receipt(v3, 1, 1.5 * MB)).call();
    const before = await t.db.broadcastLink.findMany({ where: { broadcastId: id }, orderBy: { id: 'asc' }, select: { id: true, bytes: true, seq: true } });
    const balancesBefore = await Promise.all([host, r1, v1].map(balance));
    // refused: replayed, inflated bytes, too much media time, another key, the relay counting for its child, a link not its own
    await expect((await receipt(v1, 2, 3 * MB)).call()).rejects.toMatchObject({ kind: 'CONFLICT' });
    await expect((await receipt(v1, 3, 50 * MB)).call()).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/more bytes/) });
    await expect((await receipt(v1, 3, 2 * MB, { mediaMs: 90_000 })).call()).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/media time/) });
    await expect((await receipt(v1, 3, 2.5 * MB, {}, v2.key)).call()).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/signature/) });
    const forged = await receipt(v1, 3, 2.5 * MB);
    await expect(submitBroadcastReceipt(t.db, r1.id, { ...forged.body, deviceId: r1.deviceId }, signed(r1.key, { ...forged.body, deviceId: r1.deviceId }))).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    const other = await receipt(v2, 1, MB);
    await expect(submitBroadcastReceipt(t.db, v1.id, { ...other.body, deviceId: v1.deviceId }, signed(v1.key, { ...other.body, deviceId: v1.deviceId }))).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    expect(await t.db.broadcastLink.findMany({ where: { broadcastId: id }, orderBy: { id: 'asc' }, select: { id: true, bytes: true, seq: true } })).toEqual(before);
    expect(await Promise.all([host, r1, v1].map(balance))).toEqual(balancesBefore);

    // r1's page closes: v1 takes the broadcaster's freed place, v3 goes under r2
    expect(await r1.caller.broadcast.leave({ broadcastId: id, deviceId: r1.deviceId })).toEqual({ left: true });
    expect((await node(v1)).link).toMatchObject({ parentDeviceId: host.deviceId });
    expect((await node(v3)).link).toMatchObject({ parentDeviceId: r2.deviceId });
    const pay = linkPay(2 * MB, PRICE, BUDGET, BPS);
    const pay3 = linkPay(1.5 * MB, PRICE, BUDGET - pay.gross, BPS);
    expect(await balance(r1)).toEqual({ available: GRANT + pay.relay + pay3.relay, escrow: 0 });
    expect((await node(r1)).viewer).toMatchObject({ state: 'LEFT', earned: pay.relay + pay3.relay, relayedBytes: 3.5 * MB });
    expect(await balance(host)).toEqual({ available: GRANT - BUDGET, escrow: BUDGET - pay.gross - pay3.gross });
    // the old link no longer counts
    const stale = await t.db.broadcastLink.findFirstOrThrow({ where: { broadcastId: id, childDeviceId: v1.deviceId, state: 'SETTLED' }, select: { id: true, openedAt: true } });
    const late: BroadcastReceipt = { version: 1, broadcastId: id, linkId: stale.id, deviceId: v1.deviceId, seq: 3, bytes: 2.2 * MB, mediaMs: 3_000, at: 0 };
    await expect(submitBroadcastReceipt(t.db, v1.id, late, signed(v1.key, late), new Date(stale.openedAt.getTime() + 3_000))).rejects.toMatchObject({ kind: 'PRECONDITION' });
    // leaving twice changes nothing
    expect(await leaveBroadcast(t.db, r1.id, { broadcastId: id, deviceId: r1.deviceId })).toEqual({ left: false });

    // the broadcaster ends: the rest comes back; the commission is the community's
    const ended = await host.caller.broadcast.end({ broadcastId: id });
    expect(ended).toMatchObject({ spent: pay.gross + pay3.gross, refunded: BUDGET - pay.gross - pay3.gross });
    expect(await balance(host)).toEqual({ available: GRANT - pay.gross - pay3.gross, escrow: 0 });
    await sound();
  });

  it('takes out a viewer whose heartbeat stopped and re-parents its children within the timeout', async () => {
    const { host, id, r1, r2, viewers, node } = await tree();
    const later = new Date(Date.now() + VIEWER_TIMEOUT_MS + 1_000);
    // everyone but r2 still beats
    await t.db.broadcastViewer.updateMany({ where: { broadcastId: id, deviceId: { in: [r1, ...viewers].map((m) => m.deviceId) } }, data: { lastSeen: later } });
    const hostNode = await heartbeat(t.db, host.id, { broadcastId: id, deviceId: host.deviceId }, later);
    expect((await node(r2)).viewer?.state).toBe('LEFT');
    expect(hostNode.children.map((c) => c.deviceId)).toContain(viewers[1]!.deviceId);
    expect((await node(viewers[3]!)).link).toMatchObject({ parentDeviceId: r1.deviceId });
    expect((await expireStale(t.db, id, later)).expired).toBe(0);
    // a page that comes back after being taken out learns it left, and rejoins
    expect((await heartbeat(t.db, r2.id, { broadcastId: id, deviceId: r2.deviceId }, later)).viewer?.state).toBe('LEFT');
    await r2.caller.broadcast.join({ broadcastId: id, deviceId: r2.deviceId, relay: true, fanOut: 3 });
    expect((await node(r2)).viewer?.state).toBe('WATCHING');
    await endBroadcast(t.db, host.id, id);
    await sound();
  });

  it(`counts one of ${CONCURRENT} concurrent copies of a receipt, settles a leaving relay once and ends once`, async () => {
    const { host, id, r1, viewers, receipt } = await tree();
    const v1 = viewers[0]!;
    const r = await receipt(v1, 1, 1 * MB);
    const results = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => r.call()));
    expect(results.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    expect(await t.db.broadcastReceipt.count({ where: { link: { broadcastId: id } } })).toBe(1);
    // distinct next receipts at once: one number wins
    const nexts = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => receipt(v1, 2, 1.5 * MB + i)));
    const counted = await Promise.allSettled(nexts.map((n) => n.call()));
    expect(counted.filter((x) => x.status === 'fulfilled')).toHaveLength(1);

    const link = await t.db.broadcastLink.findFirstOrThrow({ where: { broadcastId: id, childDeviceId: v1.deviceId, state: 'OPEN' }, select: { bytes: true } });
    const pay = linkPay(Number(link.bytes), PRICE, BUDGET, BPS);
    const leaves = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => leaveBroadcast(t.db, r1.id, { broadcastId: id, deviceId: r1.deviceId })));
    expect(leaves.filter((x) => x.status === 'fulfilled' && x.value.left)).toHaveLength(1);
    expect(await balance(r1)).toEqual({ available: GRANT + pay.relay, escrow: 0 });
    expect(await t.db.ledgerTransaction.count({ where: { reference: id, kind: 'BROADCAST_RELAY' } })).toBe(1);

    const ends = await Promise.allSettled(Array.from({ length: CONCURRENT }, () => endBroadcast(t.db, host.id, id)));
    expect(ends.filter((x) => x.status === 'fulfilled')).toHaveLength(1);
    for (const e of ends) if (e.status === 'rejected') expect(e.reason).toMatchObject({ kind: 'CONFLICT' });
    expect(await balance(host)).toEqual({ available: GRANT - pay.gross, escrow: 0 });
    expect(await t.db.ledgerTransaction.count({ where: { reference: id, kind: 'BROADCAST_REFUND' } })).toBe(1);
    await sound();
  });

  it(`never gives a parent more children than its fan-out when ${CONCURRENT} viewers join at once`, async () => {
    const host = await member('host');
    const { broadcast } = await host.caller.broadcast.start({ communityId, deviceId: host.deviceId, title: 'Crowd', fanOut: 2, pricePerMb: PRICE, budget: BUDGET });
    const crowd = await Promise.all(Array.from({ length: CONCURRENT }, (_, i) => member(`crowd${i}`)));
    await Promise.all(crowd.map((m, i) => m.caller.broadcast.join({ broadcastId: broadcast.id, deviceId: m.deviceId, relay: i % 2 === 0, fanOut: 2 })));
    const view = await host.caller.broadcast.tree({ broadcastId: broadcast.id });
    const children = (parentId: string | null) => view.viewers.filter((v) => v.state === 'WATCHING' && v.parentId === parentId);
    expect(children(null).length).toBeLessThanOrEqual(2);
    for (const v of view.viewers) expect(children(v.id).length).toBeLessThanOrEqual(v.relay ? v.fanOut : 0);
    // one open link per watching viewer, none for the waiting
    const open = await t.db.broadcastLink.groupBy({ by: ['childId'], where: { broadcastId: broadcast.id, state: 'OPEN' }, _count: { _all: true } });
    expect(open.every((o) => o._count._all === 1)).toBe(true);
    expect(open.length).toBe(view.viewers.filter((v) => v.state === 'WATCHING').length);
    // 12 relays serving 2 each and the broadcaster's 2 places are room for all 24
    expect(view.viewers.filter((v) => v.state === 'WATCHING').length).toBe(CONCURRENT);
    await host.caller.broadcast.end({ broadcastId: broadcast.id });
    await sound();
  });
});
