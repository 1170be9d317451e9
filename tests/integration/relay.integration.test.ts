import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerTotals } from '@/server/ledger/repository';
import { fillAmounts } from '@/server/market/commission';
import { proRataAmounts } from '@/server/market/contract-state';
import { sweepMarket } from '@/server/market/lifecycle';
import { relayReceiptBytes, type RelayReceipt, type RelayRole } from '@/server/relay/receipt-format';
import { endSession, submitRelayReceipt, sweepRelays } from '@/server/relay/sessions';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const PRICE = CREDIT; // per MB
const MB = 1_000_000;
const QUANTITY = 10; // MB
const WINDOW_MS = 10 * 60_000;

type Member = { id: string; handle: string; caller: Caller; deviceId: string; key: KeyObject };

describe.each(databaseKinds)('relay sessions on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;

  const member = async (prefix: string, opts: { withKey?: boolean; join?: boolean } = {}): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    if (opts.join !== false) await m.caller.community.join({ slug: 'relay-town' });
    const { device } = await m.caller.device.register({ name: 'phone', profile: phoneProfile });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    if (opts.withKey !== false) await m.caller.device.setKey({ deviceId: device.id, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), algorithm: 'ECDSA-P256' });
    return { id: m.member.id, handle: m.member.handle, caller: m.caller, deviceId: device.id, key: privateKey };
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const signed = (key: KeyObject, body: RelayReceipt) => sign('sha256', relayReceiptBytes(body), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');

  async function contract(seller: Member, buyer: Member, quantity = QUANTITY) {
    const t0 = new Date();
    const window = { windowStart: t0.toISOString(), windowEnd: new Date(t0.getTime() + WINDOW_MS).toISOString() };
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity, price: PRICE, ...window });
    const bid = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'NETWORK', unit: 'MB', kind: 'STANDING', quantity, price: PRICE, ...window });
    return { contractId: bid.fills[0]!.contractId, t0 };
  }

  /** A 10 MB relay contract: the buyer sends through the seller's device to a third member, who has joined. */
  async function relay() {
    const [seller, buyer, receiver] = [await member('relay'), await member('sender'), await member('receiver')];
    const { contractId, t0 } = await contract(seller, buyer);
    const opened = await buyer.caller.relay.open({ contractId, deviceId: buyer.deviceId, toDeviceId: receiver.deviceId });
    await receiver.caller.relay.join({ sessionId: opened.id, deviceId: receiver.deviceId });
    await seller.caller.relay.serve({ sessionId: opened.id, deviceId: seller.deviceId });
    const at = (ms: number) => new Date(t0.getTime() + ms);
    const ends: Record<RelayRole, Member> = { SENDER: buyer, RECEIVER: receiver };
    const body = (role: RelayRole, n: number, bytes: number, over: Partial<RelayReceipt> = {}): RelayReceipt => ({ version: 1, sessionId: opened.id, deviceId: ends[role].deviceId, role, seq: n, bytes, at: at(n * 1_000).getTime(), ...over });
    /** receipt n of an end, arriving at n seconds */
    const send = (role: RelayRole, n: number, bytes: number, over: Partial<RelayReceipt> = {}, key = ends[role].key) =>
      submitRelayReceipt(t.db, ends[role].id, body(role, n, bytes, over), signed(key, body(role, n, bytes, over)), at(n * 1_000));
    return { seller, buyer, receiver, contractId, sessionId: opened.id, t0, at, body, send, amounts: fillAmounts(QUANTITY, PRICE, BPS) };
  }
  const paidFor = (amounts: ReturnType<typeof fillAmounts>, bytes: number) => proRataAmounts(amounts.buyerPays, amounts.buyerPays - amounts.sellerGets, bytes, QUANTITY * MB);
  const counts = (sessionId: string) => t.db.relaySession.findUniqueOrThrow({ where: { id: sessionId }, select: { senderBytes: true, senderSeq: true, receiverBytes: true, receiverSeq: true, state: true } });

  /** The sweep ends every session whose window closed: end the earlier tests' sessions so that it finds only this test's. */
  const endEarlierSessions = () => sweepRelays(t.db, new Date(Date.now() + 2 * WINDOW_MS));

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const coordinator = (await signUp(t.db, 'relay-coordinator')).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Relay town', slug: 'relay-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
  });
  afterAll(() => t?.drop());

  it('relays 6 MB sent and 4 MB received, the sender ends, and the relay is paid for the 4 MB both ends confirm; the ledger sums to zero', async () => {
    const { seller, buyer, receiver, contractId, sessionId, send, amounts } = await relay();
    expect(await send('SENDER', 1, 3 * MB)).toMatchObject({ role: 'SENDER', bytes: 3 * MB, provenBytes: 0, wholeBytes: QUANTITY * MB });
    expect(await send('RECEIVER', 1, 2 * MB)).toMatchObject({ provenBytes: 2 * MB });
    expect(await send('SENDER', 2, 6 * MB)).toMatchObject({ provenBytes: 2 * MB });
    expect(await send('RECEIVER', 2, 4 * MB)).toMatchObject({ provenBytes: 4 * MB });

    // every party sees the session with both ends' device keys; the relay sees what it has carried
    const seen = await seller.caller.relay.get({ sessionId });
    expect(seen).toMatchObject({ role: 'RELAY', state: 'LIVE', provenBytes: 4 * MB, sender: { handle: buyer.handle, bytes: 6 * MB, key: { algorithm: 'ECDSA-P256' } }, receiver: { handle: receiver.handle, joined: true, bytes: 4 * MB }, relay: { handle: seller.handle, deviceId: seller.deviceId } });
    expect((await receiver.caller.relay.list()).map((s) => [s.id, s.role])).toEqual([[sessionId, 'RECEIVER']]);
    // the receiver was told on its live stream when the relay opened; the relay (seller) through the contract
    const told = await t.db.liveEvent.findMany({ where: { memberId: receiver.id, type: 'relay' }, select: { payload: true } });
    expect(told.map((e) => e.payload)).toContainEqual({ type: 'relay', sessionId, contractId, action: 'RELAY_OPENED' });
    const sellerTold = await t.db.liveEvent.findMany({ where: { memberId: seller.id, type: 'contract' }, select: { payload: true } });
    expect(sellerTold.map((e) => e.payload)).toContainEqual(expect.objectContaining({ contractId, action: 'RELAY_OPENED' }));
    expect((await buyer.caller.relay.forContract({ contractId })).session).toMatchObject({ id: sessionId, role: 'SENDER' });

    const ended = await buyer.caller.relay.stop({ sessionId });
    expect(ended).toMatchObject({ state: 'ENDED', endedBy: 'SENDER', provenBytes: 4 * MB, contractState: 'SETTLED' });
    const paid = paidFor(amounts, 4 * MB);
    expect(paid.sellerGets).toBeGreaterThan(0);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await balance(receiver)).toEqual({ available: GRANT, escrow: 0 });
    const settled = await buyer.caller.contract.get({ contractId });
    expect(settled.state).toBe('SETTLED');
    expect(settled.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN', note: expect.stringMatching(/sender ended.*4 MB of 10 MB/) });
    // after the end nothing more counts, and it cannot end twice
    await expect(send('RECEIVER', 3, 5 * MB)).rejects.toMatchObject({ kind: 'PRECONDITION' });
    await rejects(receiver.caller.relay.stop({ sessionId }), 'CONFLICT', /already ended/);
    await rejects(buyer.caller.relay.open({ contractId, deviceId: buyer.deviceId, toDeviceId: receiver.deviceId }), 'PRECONDITION_FAILED', /ended/);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('opens only for the buyer, on a network MB contract, to another member’s device they may reach; joins and serves only for their members', async () => {
    const [seller, buyer, receiver, stranger] = [await member('relay'), await member('sender'), await member('receiver'), await member('stranger', { join: false })];
    const keyless = await member('keyless', { withKey: false });
    const { contractId } = await contract(seller, buyer);
    const open = (who: Member, over: { deviceId?: string; toDeviceId?: string } = {}) => who.caller.relay.open({ contractId, deviceId: buyer.deviceId, toDeviceId: receiver.deviceId, ...over });
    await rejects(open(seller, { deviceId: seller.deviceId }), 'FORBIDDEN', /Only the buyer/);
    await rejects(open(receiver), 'NOT_FOUND');
    await rejects(open(buyer, { toDeviceId: seller.deviceId }), 'BAD_REQUEST', /relay cannot also be the receiver/);
    await rejects(open(buyer, { toDeviceId: buyer.deviceId }), 'BAD_REQUEST', /not yours/);
    // someone in no shared community and not paired, and an unknown device: no hint which
    await rejects(open(buyer, { toDeviceId: stranger.deviceId }), 'NOT_FOUND', /pair with it first/);
    await rejects(open(buyer, { toDeviceId: 'no-such-device' }), 'NOT_FOUND', /pair with it first/);
    // the sender needs a device key
    const keylessBuyer = await contract(seller, keyless);
    await rejects(keyless.caller.relay.open({ contractId: keylessBuyer.contractId, deviceId: keyless.deviceId, toDeviceId: receiver.deviceId }), 'PRECONDITION_FAILED', /register its key/);

    // 20 concurrent opens make one session
    const opens = await Promise.all(Array.from({ length: 20 }, () => open(buyer)));
    expect(new Set(opens.map((o) => o.id)).size).toBe(1);
    expect(await t.db.relaySession.count({ where: { contractId } })).toBe(1);
    const sessionId = opens[0]!.id;
    expect(opens[0]).toMatchObject({ role: 'SENDER', state: 'LIVE', wholeBytes: QUANTITY * MB, receiver: { handle: receiver.handle, joined: false }, relay: { deviceId: null } });
    // while it lives, no other receiving member
    await rejects(open(buyer, { toDeviceId: (await member('other')).deviceId }), 'CONFLICT', /another member/);

    // the stranger sees nothing; only the receiver joins, only the seller serves
    await rejects(stranger.caller.relay.get({ sessionId }), 'NOT_FOUND');
    await rejects(stranger.caller.relay.join({ sessionId, deviceId: stranger.deviceId }), 'NOT_FOUND');
    await rejects(buyer.caller.relay.join({ sessionId, deviceId: buyer.deviceId }), 'FORBIDDEN', /receiving member/);
    await rejects(receiver.caller.relay.serve({ sessionId, deviceId: receiver.deviceId }), 'FORBIDDEN', /seller/);
    await rejects(seller.caller.relay.serve({ sessionId, deviceId: buyer.deviceId }), 'NOT_FOUND', /no device/);
    await rejects(receiver.caller.relay.join({ sessionId, deviceId: seller.deviceId }), 'NOT_FOUND', /no device/);
    // a receipt before the receiver joined counts nothing
    const early: RelayReceipt = { version: 1, sessionId, deviceId: buyer.deviceId, role: 'SENDER', seq: 1, bytes: 1, at: Date.now() };
    await rejects(buyer.caller.relay.receipt({ body: early, signature: signed(buyer.key, early) }), 'PRECONDITION_FAILED', /not joined/);

    expect(await receiver.caller.relay.join({ sessionId, deviceId: receiver.deviceId })).toMatchObject({ role: 'RECEIVER', receiver: { joined: true } });
    expect(await seller.caller.relay.serve({ sessionId, deviceId: seller.deviceId })).toMatchObject({ role: 'RELAY', relay: { deviceId: seller.deviceId } });
    // the relay and each end may now signal each other
    const hello = { type: 'hello' as const };
    expect(await seller.caller.signal.send({ fromDeviceId: seller.deviceId, toDeviceId: receiver.deviceId, message: hello })).toEqual({ ok: true });

    // a non-network contract cannot be relayed
    const t0 = new Date();
    const window = { windowStart: t0.toISOString(), windowEnd: new Date(t0.getTime() + WINDOW_MS).toISOString() };
    await seller.caller.market.placeOrder({ communityId, side: 'SELL', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
    const file = await buyer.caller.market.placeOrder({ communityId, side: 'BUY', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 1, price: PRICE, ...window });
    await rejects(buyer.caller.relay.open({ contractId: file.fills[0]!.contractId, deviceId: buyer.deviceId, toDeviceId: receiver.deviceId }), 'BAD_REQUEST', /network contract/);
  });

  it('sends to a device paired with the sender whose member shares no community, and the relay may signal it', async () => {
    const [seller, buyer] = [await member('relay'), await member('sender')];
    const outsider = await member('paired', { join: false });
    const { contractId } = await contract(seller, buyer);
    await rejects(buyer.caller.relay.open({ contractId, deviceId: buyer.deviceId, toDeviceId: outsider.deviceId }), 'NOT_FOUND');
    const { code } = await buyer.caller.signal.pairCode({ deviceId: buyer.deviceId });
    await outsider.caller.signal.pair({ deviceId: outsider.deviceId, code });
    const opened = await buyer.caller.relay.open({ contractId, deviceId: buyer.deviceId, toDeviceId: outsider.deviceId });
    await outsider.caller.relay.join({ sessionId: opened.id, deviceId: outsider.deviceId });
    // before the seller's device serves, it may not signal the outsider; after, both ways
    await rejects(seller.caller.signal.send({ fromDeviceId: seller.deviceId, toDeviceId: outsider.deviceId, message: { type: 'hello' } }), 'FORBIDDEN');
    await seller.caller.relay.serve({ sessionId: opened.id, deviceId: seller.deviceId });
    expect(await outsider.caller.signal.send({ fromDeviceId: outsider.deviceId, toDeviceId: seller.deviceId, message: { type: 'hello' } })).toEqual({ ok: true });
    await seller.caller.relay.stop({ sessionId: opened.id });
    await rejects(outsider.caller.signal.send({ fromDeviceId: outsider.deviceId, toDeviceId: seller.deviceId, message: { type: 'hello' } }), 'FORBIDDEN');
  });

  it('refuses receipts from a device not an end, bad signatures, replays, backwards, beyond the quantity and inflated, and counts nothing for them', async () => {
    const { seller, buyer, receiver, sessionId, at, body, send } = await relay();
    const other = await relay();
    const stranger = await member('stranger');
    // a stranger, the relay itself, and an end claiming the other end's role
    await rejects(stranger.caller.relay.receipt({ body: body('SENDER', 1, MB, { deviceId: stranger.deviceId }), signature: signed(stranger.key, body('SENDER', 1, MB, { deviceId: stranger.deviceId })) }), 'NOT_FOUND');
    await rejects(seller.caller.relay.receipt({ body: body('SENDER', 1, MB, { deviceId: seller.deviceId }), signature: signed(seller.key, body('SENDER', 1, MB, { deviceId: seller.deviceId })) }), 'FORBIDDEN', /sender's device/);
    await rejects(buyer.caller.relay.receipt({ body: body('RECEIVER', 1, MB, { deviceId: buyer.deviceId }), signature: signed(buyer.key, body('RECEIVER', 1, MB, { deviceId: buyer.deviceId })) }), 'FORBIDDEN', /receiver's device/);
    // the sender of another session signs for this one with its own valid key
    await expect(submitRelayReceipt(t.db, other.buyer.id, body('SENDER', 1, MB, { deviceId: other.buyer.deviceId }), signed(other.buyer.key, body('SENDER', 1, MB, { deviceId: other.buyer.deviceId })), at(1_000))).rejects.toMatchObject({ kind: 'NOT_FOUND' });
    // the right end, signed with another key, or altered after signing
    await expect(send('SENDER', 1, MB, {}, other.buyer.key)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/signature does not verify/) });
    await expect(submitRelayReceipt(t.db, buyer.id, body('SENDER', 1, 2 * MB), signed(buyer.key, body('SENDER', 1, MB)), at(1_000))).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/signature/) });
    // inflated: 1 GB... beyond the quantity; and faster than any connection since the receiver joined
    await expect(send('SENDER', 1, QUANTITY * MB + 1)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/contract sells/) });
    const { joinedAt } = await t.db.relaySession.findUniqueOrThrow({ where: { id: sessionId }, select: { joinedAt: true } });
    await expect(submitRelayReceipt(t.db, buyer.id, body('SENDER', 1, 9 * MB), signed(buyer.key, body('SENDER', 1, 9 * MB)), joinedAt!)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/could have carried/) });
    expect(await counts(sessionId)).toEqual({ senderBytes: 0n, senderSeq: 0, receiverBytes: 0n, receiverSeq: 0, state: 'LIVE' });

    // honest receipts, then replays (as sent, re-signed with a higher count) and a count going backwards
    await send('SENDER', 1, 3 * MB);
    await send('RECEIVER', 1, 2 * MB);
    await expect(send('SENDER', 1, 3 * MB)).rejects.toMatchObject({ kind: 'CONFLICT', message: expect.stringMatching(/already counted/) });
    await expect(send('SENDER', 1, 5 * MB)).rejects.toMatchObject({ kind: 'CONFLICT' });
    await expect(send('SENDER', 2, 2 * MB)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/fewer bytes/) });
    await expect(send('RECEIVER', 2, MB)).rejects.toMatchObject({ kind: 'BAD_INPUT', message: expect.stringMatching(/fewer bytes/) });
    expect(await counts(sessionId)).toEqual({ senderBytes: BigInt(3 * MB), senderSeq: 1, receiverBytes: BigInt(2 * MB), receiverSeq: 1, state: 'LIVE' });
    expect(await t.db.relayReceipt.count({ where: { sessionId } })).toBe(2);
    // the receiver cannot switch devices once its end has counted bytes
    const { device: second } = await receiver.caller.device.register({ name: 'tablet', profile: phoneProfile });
    const pk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64url');
    await receiver.caller.device.setKey({ deviceId: second.id, publicKey: pk, algorithm: 'ECDSA-P256' });
    await rejects(receiver.caller.relay.join({ sessionId, deviceId: second.id }), 'CONFLICT', /already counted/);
  });

  it('of 20 concurrent copies of one end’s receipt exactly one counts', async () => {
    const { sessionId, send } = await relay();
    await send('SENDER', 1, MB);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => send('SENDER', 2, 2 * MB + i)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ kind: 'CONFLICT' });
    const row = await counts(sessionId);
    expect(row.senderSeq).toBe(2);
    expect(await t.db.relayReceipt.count({ where: { sessionId } })).toBe(2);
    const accepted = await t.db.relayReceipt.findFirstOrThrow({ where: { sessionId, seq: 2 }, select: { bytes: true } });
    expect(row.senderBytes).toBe(accepted.bytes);
  });

  it('of 24 concurrent ends (sender, receiver, relay, sweeps) with receipts racing them, one settles, paying exactly the min both ends recorded', async () => {
    await endEarlierSessions();
    const { seller, buyer, receiver, contractId, sessionId, at, send, amounts } = await relay();
    await send('SENDER', 1, 5 * MB);
    await send('RECEIVER', 1, 4 * MB);
    const ends = Array.from({ length: 24 }, (_, i) => {
      const by = (['SENDER', 'RECEIVER', 'RELAY'] as const)[i % 3]!;
      return i % 4 === 3 ? sweepRelays(t.db, at(WINDOW_MS)) : endSession(t.db, contractId, by, at(3_000));
    });
    const receipts = [send('RECEIVER', 2, 5 * MB), send('SENDER', 2, 6 * MB), send('RECEIVER', 2, 5 * MB)];
    const [results] = await Promise.all([Promise.allSettled(ends), Promise.allSettled(receipts)]);
    const settledBy = results.filter((r) => r.status === 'fulfilled' && (!('ended' in r.value) || r.value.ended === 1));
    expect(settledBy).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ kind: 'CONFLICT' });
    const row = await t.db.relaySession.findUniqueOrThrow({ where: { id: sessionId }, select: { senderBytes: true, receiverBytes: true, provenBytes: true, state: true } });
    expect(row.state).toBe('ENDED');
    const proven = Number(row.senderBytes < row.receiverBytes ? row.senderBytes : row.receiverBytes);
    expect(Number(row.provenBytes)).toBe(proven);
    expect([4 * MB, 5 * MB]).toContain(proven);
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    const paid = paidFor(amounts, proven);
    expect(await balance(seller)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    expect(await balance(receiver)).toEqual({ available: GRANT, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('settles at the close of the window from both ends’ receipts, once under 20 concurrent sweeps; the market sweep then leaves it alone', async () => {
    await endEarlierSessions();
    const { seller, buyer, contractId, at, send, amounts } = await relay();
    for (let n = 1; n <= 5; n++) {
      await send('SENDER', n, n * 2 * MB);
      await send('RECEIVER', n, n * 2 * MB);
    }
    expect(await sweepRelays(t.db, at(60_000))).toEqual({ ended: 0 });
    const swept = await Promise.all(Array.from({ length: 20 }, () => sweepRelays(t.db, at(WINDOW_MS))));
    expect(swept.reduce((sum, s) => sum + s.ended, 0)).toBe(1);
    await sweepMarket(t.db, at(WINDOW_MS + 1_000));
    const contract = await buyer.caller.contract.get({ contractId });
    expect(contract.state).toBe('SETTLED');
    expect(contract.events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
    expect(contract.events.at(-1)!.note).toMatch(/window closed: 10 MB of 10 MB/);
    expect(await balance(seller)).toEqual({ available: GRANT + amounts.sellerGets, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - amounts.buyerPays, escrow: 0 });
    expect(paidFor(amounts, QUANTITY * MB).paid).toBe(amounts.buyerPays);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
