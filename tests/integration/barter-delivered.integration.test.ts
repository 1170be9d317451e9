/**
 * Barter legs delivered through the same mechanisms as market contracts, each leg's escrow released from its own
 * proofs: a storage leg kept by a storage plan (challenges answered), a file leg by verified transfers, a network
 * leg by a relay (both ends' signed receipts), compute and memory legs spent by jobs the giver's device runs.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepFileLegs } from '@/server/content/file-legs';
import { settleJob } from '@/server/compute/settle';
import { ledgerTotals } from '@/server/ledger/repository';
import { proRataAmounts } from '@/server/market/contract-state';
import { sweepMarket } from '@/server/market/lifecycle';
import { endRental, startRental, submitReceipt } from '@/server/peripheral/rentals';
import { receiptBytes, type ReceiptBody } from '@/server/peripheral/receipt-format';
import { relayReceiptBytes, type RelayReceipt, type RelayRole } from '@/server/relay/receipt-format';
import { submitRelayReceipt } from '@/server/relay/sessions';
import { challengesNeeded } from '@/server/storage/domain';
import { sweepStorage } from '@/server/storage/proofs';
import { getKernel, type AnyKernel, type Json } from '@/workers/kernels';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const BPS = 200;
const GRANT = 100 * CREDIT;
const CHUNK = 64 * 1024;
const PERIOD_S = 60;
const PERIODS = 3;
const sha = (...parts: Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
type Leg = { category: 'COMPUTE' | 'MEMORY' | 'STORAGE' | 'PERIPHERAL' | 'FILE' | 'NETWORK' | 'MONEY'; unit: string; quantity: number };
const leg = (category: Leg['category'], unit: string, quantity: number): Leg => ({ category, unit, quantity });
type Member = { id: string; handle: string; caller: Caller; deviceId: string; key: KeyObject };

/** One shard of random bytes and the challenges its owner's device prepares for it. */
function prepare(periods = PERIODS, replicas = 1) {
  const bytes = randomBytes(150_000);
  const challenges = Array.from({ length: challengesNeeded(periods, replicas) }, () => {
    const nonce = randomBytes(16);
    const offset = Math.floor(Math.random() * (bytes.length - 4096));
    return { shardIndex: 0, offset, length: 4096, nonce: nonce.toString('hex'), expected: sha(nonce, bytes.subarray(offset, offset + 4096)) };
  });
  return { bytes, shards: [{ index: 0, sizeBytes: bytes.length, sha256: sha(bytes) }], challenges };
}

/** A content header for `size` bytes of `fill`. */
function header(title: string, size: number, fill: number) {
  const bytes = Buffer.alloc(size, fill);
  const chunkHashes: string[] = [];
  for (let at = 0; at < size; at += CHUNK) chunkHashes.push(sha(bytes.subarray(at, at + CHUNK)));
  return { title, description: 'Bartered', audience: 'everyone', purpose: 'swap', environment: 'any', mediaType: 'image/png', sizeBytes: size, sha256: sha(bytes), chunkSize: CHUNK, chunkHashes };
}

describe.each(databaseKinds)('barter legs delivered on %s', (kind) => {
  let t: TestDatabase;
  let coordinator: Member;
  let communityId: string;
  let seq = 0;

  const member = async (prefix: string): Promise<Member> => {
    const m = await signUp(t.db, `${prefix}-${++seq}`);
    if (communityId) await m.caller.community.join({ slug: 'delivered-town' });
    const { device } = await m.caller.device.register({ name: `${prefix} phone`, profile: phoneProfile });
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await m.caller.device.setKey({ deviceId: device.id, publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), algorithm: 'ECDSA-P256' });
    return { id: m.member.id, handle: m.member.handle, caller: m.caller, deviceId: device.id, key: privateKey };
  };
  const offer = (m: Member, give: Leg[], want: Leg[], extra: Record<string, unknown> = {}) =>
    m.caller.barter.offer({ communityId, give, want, toleranceBps: 10_000, ...extra } as Parameters<Caller['barter']['offer']>[0]);
  const closed = async (first: Member, give: Leg[], want: Leg[], second: Member, extra: Record<string, unknown> = {}) => {
    await offer(first, give, want, extra);
    const { deals } = await offer(second, want, give);
    expect(deals).toEqual([{ dealId: expect.any(String), status: 'CLOSED' }]);
    return t.db.contract.findMany({ where: { barterDealId: deals[0]!.dealId }, orderBy: { category: 'asc' } });
  };
  const balance = (m: Member) => m.caller.ledger.balance({ communityId });
  const pool = async () => Number((await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION', memberId: null } })).balance);
  /** What a leg's proofs release: `part` of `whole` of its escrow to the seller (its commission pro rata), the rest back. */
  const released = (c: { escrowed: bigint; buyerCommission: bigint }, part: number, whole: number) => proRataAmounts(Number(c.escrowed), Number(c.buyerCommission), part, whole);
  const lastEvent = async (contractId: string) => (await t.db.contractEvent.findMany({ where: { contractId }, orderBy: { createdAt: 'desc' }, take: 1 }))[0];

  beforeAll(async () => {
    t = await freshDatabase(kind);
    coordinator = await member('dl-coordinator');
    ({ id: communityId } = await coordinator.caller.community.create({ name: 'Delivered town', slug: 'delivered-town', commissionBps: BPS, startingGrant: GRANT, inviteOnly: false }));
    await coordinator.caller.admin.fundPool({ communityId, amount: 50 * CREDIT });
  });
  afterAll(() => t?.drop());

  it("a barter's storage leg keeps a stored file: the plan uses the leg's contract, the lender's device proves it, and the leg's credits pay from the proofs", async () => {
    const [lender, buyer] = [await member('dl-lender'), await member('dl-keeper')];
    await lender.caller.storage.lend({ communityId, deviceId: lender.deviceId, mb: 100, hours: 24, price: CREDIT });
    // the buyer gives 2 credits for 2,000,000 MB·hours of the lender's storage
    const [storage] = await closed(lender, [leg('STORAGE', 'MB_HOUR', 2_000_000)], [leg('MONEY', 'CREDIT', 2)], buyer);
    expect(storage).toMatchObject({ category: 'STORAGE', sellerId: lender.id, buyerId: buyer.id });
    expect(Number(storage!.escrowed)).toBe(2 * CREDIT + Number(storage!.buyerCommission));
    const prepared = prepare();
    const base = { communityId, deviceId: buyer.deviceId, name: 'tax papers', meta: { iv: 'x' }, replicas: 1, periodSeconds: PERIOD_S, periods: PERIODS, maxPrice: 1, shards: prepared.shards, challenges: prepared.challenges };

    // only the leg's buyer, one copy, within the contract's window and MB·hours
    await rejects(lender.caller.storage.store({ ...base, deviceId: lender.deviceId, contractId: storage!.id }), 'NOT_FOUND', /no contract with that id/);
    const twice = prepare(PERIODS, 2);
    await rejects(buyer.caller.storage.store({ ...base, replicas: 2, shards: twice.shards, challenges: twice.challenges, contractId: storage!.id }), 'BAD_REQUEST', /keep 1 copy/);
    await rejects(buyer.caller.storage.store({ ...base, periodSeconds: 7 * 86_400, periods: 2, challenges: prepare(2).challenges, contractId: storage!.id }), 'BAD_REQUEST', /window ends/);

    const plan = await buyer.caller.storage.store({ ...base, contractId: storage!.id });
    expect(plan.shards[0]!.copies).toEqual([expect.objectContaining({ deviceId: lender.deviceId, seller: { id: lender.id, handle: lender.handle }, contract: expect.objectContaining({ id: storage!.id, state: 'MATCHED' }) })]);
    // no room was bought on the market: the only contract of the buyer is the leg's, and nothing more is held
    expect(await t.db.contract.count({ where: { buyerId: buyer.id } })).toBe(1);
    expect(await balance(buyer)).toEqual({ available: GRANT - Number(storage!.escrowed), escrow: Number(storage!.escrowed) });
    // the seller's word is refused for it
    await rejects(lender.caller.contract.reportDelivered({ contractId: storage!.id }), 'PRECONDITION_FAILED', /measured delivery/);
    // a contract keeps one file
    await rejects(buyer.caller.storage.store({ ...base, contractId: storage!.id }), 'CONFLICT', /already uses that contract/);

    // the lender's device fetches its copy and answers every challenge from the bytes
    const work = await lender.caller.storage.work({ deviceId: lender.deviceId });
    for (const copy of work.incoming) await lender.caller.storage.stored({ deviceId: lender.deviceId, placementId: copy.placementId });
    const start = Date.parse(plan.windowStart);
    for (let p = 0; p < PERIODS; p++) {
      await sweepStorage(t.db, new Date(start + p * PERIOD_S * 1000 + (PERIOD_S * 1000) / 2));
      const { challenges } = await lender.caller.storage.work({ deviceId: lender.deviceId });
      expect(challenges).toHaveLength(1);
      for (const c of challenges) {
        const proof = sha(Buffer.from(c.nonce, 'hex'), prepared.bytes.subarray(c.offset, c.offset + c.length));
        expect(await lender.caller.storage.answer({ deviceId: lender.deviceId, challengeId: c.id, shardId: c.shardId, proof })).toMatchObject({ passed: true });
      }
    }
    await sweepStorage(t.db, new Date(start + PERIODS * PERIOD_S * 1000 + 1));
    const settled = await buyer.caller.contract.get({ contractId: storage!.id });
    expect(settled.state).toBe('SETTLED');
    expect(settled.events.at(-1)).toMatchObject({ action: 'SETTLE_PROVEN', note: `${PERIODS} of ${PERIODS} storage periods proven by challenges` });
    expect(await balance(lender)).toEqual({ available: GRANT + 2 * CREDIT, escrow: 0 });
    expect(await balance(buyer)).toEqual({ available: GRANT - Number(storage!.escrowed), escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('of 24 concurrent plans on one storage leg exactly one uses it; a lender with no lending device is named', async () => {
    const [lender, buyer] = [await member('dl-lender'), await member('dl-keeper')];
    const [storage] = await closed(lender, [leg('STORAGE', 'MB_HOUR', 1_000_000)], [leg('MONEY', 'CREDIT', 1)], buyer);
    const base = { communityId, deviceId: buyer.deviceId, name: 'photos', meta: {}, replicas: 1, periodSeconds: PERIOD_S, periods: PERIODS, maxPrice: 1, contractId: storage!.id };
    const prepared = prepare();
    await rejects(buyer.caller.storage.store({ ...base, shards: prepared.shards, challenges: prepared.challenges }), 'PRECONDITION_FAILED', new RegExp(`@${lender.handle} lends room from no device`));
    await lender.caller.storage.lend({ communityId, deviceId: lender.deviceId, mb: 10, hours: 24, price: CREDIT });
    const tries = await Promise.allSettled(Array.from({ length: 24 }, () => {
      const p = prepare();
      return buyer.caller.storage.store({ ...base, shards: p.shards, challenges: p.challenges });
    }));
    const made = tries.filter((r) => r.status === 'fulfilled');
    expect(made).toHaveLength(1);
    for (const r of tries) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/already uses that contract/);
    expect(await t.db.storagePlan.count({ where: { memberId: buyer.id } })).toBe(1);
    expect(await t.db.storagePlacement.count({ where: { contractId: storage!.id } })).toBe(1);
    expect(await t.db.contract.count({ where: { buyerId: buyer.id } })).toBe(1);
    expect(await balance(buyer)).toEqual({ available: GRANT - Number(storage!.escrowed), escrow: Number(storage!.escrowed) });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it("a barter's file leg is delivered by transfers of the giver's items: each verified copy proves one, and the leg settles once when all arrived", async () => {
    const [giver, taker, stranger] = [await member('dl-artist'), await member('dl-collector'), await member('dl-other')];
    // the coordinator's pool gives 1 credit for 3 of the member's files
    const contracts = await closed(coordinator, [leg('MONEY', 'CREDIT', 1)], [leg('FILE', 'ITEM', 3)], giver, { fromPool: true });
    const fileLeg = contracts[0]!;
    expect(fileLeg).toMatchObject({ category: 'FILE', unit: 'ITEM', quantity: 3, sellerId: giver.id, buyerId: coordinator.id, escrowed: BigInt(CREDIT) });
    const poolBefore = await pool();
    const items = await Promise.all([1, 2, 3, 4].map((n) => giver.caller.content.publish({ communityId, deviceId: giver.deviceId, header: header(`Sketch ${n}`, 100_000, n), pricing: { mode: 'CREDITS', price: 5 * CREDIT } })));
    const theirs = await stranger.caller.content.publish({ communityId, deviceId: stranger.deviceId, header: header('Not theirs', 10_000, 9) });
    const take = (itemId: string, by = coordinator) => by.caller.content.request({ itemId, deviceId: by.deviceId, contractId: fileLeg.id });
    await rejects(take(items[0]!.id, taker), 'NOT_FOUND', /no contract with that id/);
    await rejects(take(theirs.id), 'BAD_REQUEST', new RegExp(`Only @${giver.handle}'s files`));

    // three at once of the same item: one transfer; then the other two items
    const same = await Promise.allSettled(Array.from({ length: 3 }, () => take(items[0]!.id)));
    expect(same.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const transfers = [(same.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof take>>>).value.transfer];
    for (const item of items.slice(1, 3)) transfers.push((await take(item.id)).transfer);
    // no purchase: the pool's credit for the leg is all that is held, nobody paid the items' price
    expect(transfers.every((tr) => tr.contractId === fileLeg.id)).toBe(true);
    expect(await t.db.contract.count({ where: { buyerId: coordinator.id, category: 'FILE' } })).toBe(1);
    await rejects(take(items[3]!.id), 'CONFLICT', /All 3 files/);

    // a copy that fails leaves the leg open for another item
    await coordinator.caller.content.updateTransfer({ transferId: transfers[2]!.id, deviceId: coordinator.deviceId, verifiedChunks: 0, status: 'FAILED' });
    expect((await t.db.contract.findUniqueOrThrow({ where: { id: fileLeg.id } })).state).toBe('MATCHED');
    transfers[2] = (await take(items[3]!.id)).transfer;

    // each arrives verified; the leg settles with the last one, from the three proofs
    const complete = (tr: { id: string }) => coordinator.caller.content.updateTransfer({ transferId: tr.id, deviceId: coordinator.deviceId, verifiedChunks: 2, status: 'COMPLETED' });
    await complete(transfers[0]!);
    await complete(transfers[1]!);
    expect((await t.db.contract.findUniqueOrThrow({ where: { id: fileLeg.id } })).state).toBe('MATCHED');
    await complete(transfers[2]!);
    const settled = await t.db.contract.findUniqueOrThrow({ where: { id: fileLeg.id } });
    expect(settled.state).toBe('SETTLED');
    expect(await lastEvent(fileLeg.id)).toMatchObject({ action: 'SETTLE_PROVEN', note: "3 of 3 files verified by the receiver's SHA-256" });
    expect(await balance(giver)).toEqual({ available: GRANT + CREDIT, escrow: 0 });
    expect(await pool()).toBe(poolBefore);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('six copies of a file leg completing at once, each reported four times (24 concurrent calls), settle the leg exactly once, in full', async () => {
    const [giver, taker] = [await member('dl-artist'), await member('dl-collector')];
    const fileLeg = (await closed(giver, [leg('FILE', 'ITEM', 6)], [leg('MONEY', 'CREDIT', 3)], taker))[0]!;
    const transfers = [];
    for (let n = 0; n < 6; n++) {
      const item = await giver.caller.content.publish({ communityId, deviceId: giver.deviceId, header: header(`Frame ${n}`, 70_000, 20 + n) });
      transfers.push((await taker.caller.content.request({ itemId: item.id, deviceId: taker.deviceId, contractId: fileLeg.id })).transfer);
    }
    const results = await Promise.allSettled(transfers.flatMap((tr) => Array.from({ length: 4 }, () => taker.caller.content.updateTransfer({ transferId: tr.id, deviceId: taker.deviceId, verifiedChunks: 2, status: 'COMPLETED' }))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(6);
    for (const r of results) if (r.status === 'rejected') expect(String(r.reason)).toMatch(/already completed|changed meanwhile/);
    const events = await t.db.contractEvent.findMany({ where: { contractId: fileLeg.id, action: 'SETTLE_PROVEN' } });
    expect(events).toHaveLength(1);
    expect(events[0]!.note).toBe("6 of 6 files verified by the receiver's SHA-256");
    expect(await balance(giver)).toEqual({ available: GRANT + 3 * CREDIT, escrow: 0 });
    expect(await balance(taker)).toEqual({ available: GRANT - Number(fileLeg.escrowed), escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it("a barter's file leg never settles on the giver's word: \"I have delivered\" is refused (24 at once), the inbox does not ask for it, and a verified copy settles it", async () => {
    const [giver, taker] = [await member('dl-artist'), await member('dl-collector')];
    const fileLeg = (await closed(giver, [leg('FILE', 'ITEM', 1)], [leg('MONEY', 'CREDIT', 1)], taker))[0]!;
    await rejects(giver.caller.contract.reportDelivered({ contractId: fileLeg.id }), 'PRECONDITION_FAILED', /measured delivery/);
    const tries = await Promise.allSettled(Array.from({ length: 24 }, () => giver.caller.contract.reportDelivered({ contractId: fileLeg.id })));
    expect(tries.filter((r) => r.status === 'fulfilled')).toHaveLength(0);
    for (const r of tries) expect(String((r as PromiseRejectedResult).reason)).toMatch(/measured delivery/);
    expect(await t.db.contract.findUniqueOrThrow({ where: { id: fileLeg.id }, select: { state: true, deliveredAt: true } })).toEqual({ state: 'MATCHED', deliveredAt: null });
    expect(await t.db.contractEvent.count({ where: { contractId: fileLeg.id } })).toBe(1);
    // the giver's to-do list does not ask them to deliver it by hand
    const inbox = await giver.caller.home.inbox({ since: new Date(Date.now() - 86_400_000).toISOString() });
    expect(inbox.todo.deliver.items.map((c: { id: string }) => c.id)).not.toContain(fileLeg.id);

    // the receiver takes a copy; its verified hash settles the leg in full
    const item = await giver.caller.content.publish({ communityId, deviceId: giver.deviceId, header: header('Proof only', 70_000, 7) });
    const { transfer } = await taker.caller.content.request({ itemId: item.id, deviceId: taker.deviceId, contractId: fileLeg.id });
    await taker.caller.content.updateTransfer({ transferId: transfer.id, deviceId: taker.deviceId, verifiedChunks: 2, status: 'COMPLETED' });
    expect(await lastEvent(fileLeg.id)).toMatchObject({ action: 'SETTLE_PROVEN', note: "1 of 1 files verified by the receiver's SHA-256" });
    expect(await balance(giver)).toEqual({ available: GRANT + CREDIT, escrow: 0 });
    expect(await balance(taker)).toEqual({ available: GRANT - Number(fileLeg.escrowed), escrow: 0 });

    // a FILE/ITEM contract made on the market, not a barter leg, is still delivered by hand
    const span = { windowStart: new Date().toISOString(), windowEnd: new Date(Date.now() + 3_600_000).toISOString() };
    await giver.caller.market.placeOrder({ communityId, side: 'SELL', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 1, price: CREDIT, ...span });
    const bid = await taker.caller.market.placeOrder({ communityId, side: 'BUY', category: 'FILE', unit: 'ITEM', kind: 'STANDING', quantity: 1, price: CREDIT, ...span });
    expect(await giver.caller.contract.reportDelivered({ contractId: bid.fills[0]!.contractId })).toMatchObject({ state: 'DELIVERED' });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a file leg whose window closes with some files verified pays pro rata, once under 20 concurrent sweeps; one with none is refunded', async () => {
    const [giver, taker] = [await member('dl-artist'), await member('dl-collector')];
    const contracts = await closed(giver, [leg('FILE', 'ITEM', 4)], [leg('MONEY', 'CREDIT', 2)], taker);
    const fileLeg = contracts[0]!;
    const item = await giver.caller.content.publish({ communityId, deviceId: giver.deviceId, header: header('Only one', 70_000, 3) });
    const { transfer } = await taker.caller.content.request({ itemId: item.id, deviceId: taker.deviceId, contractId: fileLeg.id });
    await taker.caller.content.updateTransfer({ transferId: transfer.id, deviceId: taker.deviceId, verifiedChunks: 2, status: 'COMPLETED' });
    const [giver2, taker2] = [await member('dl-artist'), await member('dl-collector')];
    const idle = (await closed(giver2, [leg('FILE', 'ITEM', 4)], [leg('MONEY', 'CREDIT', 2)], taker2))[0]!;

    // both windows closed (the idle leg's, made a moment later, ends last)
    const after = new Date(idle.windowEnd.getTime() + 1);
    const sweeps = await Promise.allSettled(Array.from({ length: 20 }, () => sweepFileLegs(t.db, after)));
    expect(sweeps.filter((s) => s.status === 'rejected')).toEqual([]);
    expect(await lastEvent(fileLeg.id)).toMatchObject({ action: 'SETTLE_PROVEN', note: expect.stringMatching(/^1 of 4 files verified/) });
    const paid = released(fileLeg, 1, 4);
    expect(await balance(giver)).toEqual({ available: GRANT + paid.sellerGets, escrow: 0 });
    expect(await balance(taker)).toEqual({ available: GRANT - paid.paid, escrow: 0 });
    await sweepMarket(t.db, after);
    expect((await t.db.contract.findUniqueOrThrow({ where: { id: idle.id } })).state).toBe('REFUNDED');
    expect(await balance(taker2)).toEqual({ available: GRANT, escrow: 0 });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('patent example 2 delivered: the pool’s credit pays for a member’s files, taken by transfer, and a camera hour, streamed; each leg releases its share from its own proofs', async () => {
    const m = await member('dl-maker');
    const contracts = await closed(coordinator, [leg('MONEY', 'CREDIT', 1)], [leg('FILE', 'ITEM', 2), leg('PERIPHERAL', 'DEVICE_HOUR', 1)], m, { fromPool: true });
    const [files, camera] = [contracts.find((c) => c.category === 'FILE')!, contracts.find((c) => c.category === 'PERIPHERAL')!];
    expect(Number(files.escrowed) + Number(camera.escrowed)).toBe(CREDIT);
    const poolBefore = await pool();

    // the files: the coordinator takes two of the member's items against the leg, both verified
    for (const n of [1, 2]) {
      const item = await m.caller.content.publish({ communityId, deviceId: m.deviceId, header: header(`Plan ${n}`, 70_000, 40 + n) });
      const { transfer } = await coordinator.caller.content.request({ itemId: item.id, deviceId: coordinator.deviceId, contractId: files.id });
      await coordinator.caller.content.updateTransfer({ transferId: transfer.id, deviceId: coordinator.deviceId, verifiedChunks: 2, status: 'COMPLETED' });
    }
    expect(await lastEvent(files.id)).toMatchObject({ action: 'SETTLE_PROVEN', note: "2 of 2 files verified by the receiver's SHA-256" });

    // the camera: the member streams it to the coordinator's device for 60 s, whose signed receipts prove it, and stops
    const t0 = new Date();
    const rental = await startRental(t.db, m.id, { contractId: camera.id, deviceId: m.deviceId, kind: 'CAMERA' }, t0);
    await coordinator.caller.peripheral.join({ contractId: camera.id, deviceId: coordinator.deviceId });
    const body = (n: number): ReceiptBody => ({ version: 1, rentalId: rental.id, deviceId: coordinator.deviceId, seq: n, mediaMs: 5_000, frames: 100, width: 640, height: 480 });
    for (let n = 1; n <= 12; n++) {
      await submitReceipt(t.db, coordinator.id, body(n), sign('sha256', receiptBytes(body(n)), { key: coordinator.key, dsaEncoding: 'ieee-p1363' }).toString('base64url'), new Date(t0.getTime() + n * 5_000));
    }
    expect(await endRental(t.db, camera.id, 'SELLER', new Date(t0.getTime() + 61_000))).toMatchObject({ state: 'ENDED', provenMs: 60_000 });
    expect(await lastEvent(camera.id)).toMatchObject({ action: 'SETTLE_PROVEN' });

    // the member is paid the files' share in full and the camera's pro rata; the rest of the camera's share goes back to the pool
    const cameraPaid = released(camera, 60_000, 3_600_000);
    expect(await balance(m)).toEqual({ available: GRANT + Number(files.escrowed) + cameraPaid.sellerGets, escrow: 0 });
    expect(await pool()).toBe(poolBefore + Number(camera.escrowed) - cameraPaid.paid);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('a job cannot make more work units than the work-unit leg it spends holds: refused with nothing held, and a job within it spends the leg', async () => {
    const [m, owner] = [await member('dl-donor'), await member('dl-owner')];
    const compute = (await closed(m, [leg('COMPUTE', 'WORK_UNIT', 2)], [leg('MONEY', 'CREDIT', 1)], owner))[0]!;
    const before = await balance(owner);
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    const job = (units: number) => owner.caller.compute.submitJob({ communityId, kernel: 'mandelbrot', params: { width: 64, height: 64, maxIterations: 50, view: { centerX: -0.5, centerY: 0, scale: 3 } }, units, replication: 2, quorum: 2, deadline, pricePerUnit: 0, fundingContractId: compute.id });
    // the render rounds 2 tiles up to 4: more than the 2 work units the leg holds
    await rejects(job(2), 'BAD_REQUEST', /make 4 work units, and the contract you spend holds 2: ask for fewer units/);
    await rejects(job(9), 'BAD_REQUEST', /the contract you spend holds 2/);
    expect(await t.db.job.count({ where: { memberId: owner.id } })).toBe(0);
    expect(await t.db.jobTerms.count({ where: { fundingContractId: compute.id } })).toBe(0);
    expect(await balance(owner)).toEqual(before);
    // one tile: within the leg
    const made = await job(1);
    expect(await t.db.jobTerms.findUniqueOrThrow({ where: { jobId: made.id } })).toMatchObject({ fundingContractId: compute.id });
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });

  it('patent example 1 delivered: the pool’s network leg is relayed for the member, and the member’s compute and memory legs are spent by jobs their device runs', async () => {
    const [m, friend] = [await member('dl-donor'), await member('dl-friend')];
    await m.caller.compute.donate({ communityId, deviceId: m.deviceId, on: true, floorPrice: 1_000, memoryMb: 64 });
    const contracts = await closed(coordinator, [leg('NETWORK', 'MB', 20)], [leg('COMPUTE', 'WORK_UNIT', 4), leg('MEMORY', 'MB_HOUR', 1)], m, { fromPool: true });
    const [compute, memory, network] = [contracts.find((c) => c.category === 'COMPUTE')!, contracts.find((c) => c.category === 'MEMORY')!, contracts.find((c) => c.category === 'NETWORK')!];
    expect([compute.sellerId, memory.sellerId, network.sellerId]).toEqual([m.id, m.id, coordinator.id]);
    for (const c of [compute, memory, network]) {
      const seller = c.sellerId === m.id ? m : coordinator;
      await rejects(seller.caller.contract.reportDelivered({ contractId: c.id }), 'PRECONDITION_FAILED', /measured delivery/);
    }

    // the network leg: the member sends through the coordinator's device to a friend; both ends sign their counts
    const session = await m.caller.relay.open({ contractId: network.id, deviceId: m.deviceId, toDeviceId: friend.deviceId });
    await friend.caller.relay.join({ sessionId: session.id, deviceId: friend.deviceId });
    await coordinator.caller.relay.serve({ sessionId: session.id, deviceId: coordinator.deviceId });
    const ends: Record<RelayRole, Member> = { SENDER: m, RECEIVER: friend };
    const t0 = Date.now();
    const receipt = (role: RelayRole, n: number, bytes: number): RelayReceipt => ({ version: 1, sessionId: session.id, deviceId: ends[role].deviceId, role, seq: n, bytes, at: t0 + n * 1_000 });
    const send = (role: RelayRole, n: number, bytes: number) =>
      submitRelayReceipt(t.db, ends[role].id, receipt(role, n, bytes), sign('sha256', relayReceiptBytes(receipt(role, n, bytes)), { key: ends[role].key, dsaEncoding: 'ieee-p1363' }).toString('base64url'), new Date(t0 + n * 1_000));
    await send('SENDER', 1, 5_000_000);
    await send('RECEIVER', 1, 5_000_000);
    const ended = await m.caller.relay.stop({ sessionId: session.id });
    expect(ended).toMatchObject({ state: 'ENDED', provenBytes: 5_000_000, contractState: 'SETTLED' });
    const networkPaid = released(network, 5_000_000, 20_000_000);

    // the compute leg: the pool's coordinator runs a job that spends it; only the member's device computes it
    const sieve: AnyKernel = getKernel('prime-sieve');
    const hashJoin: AnyKernel = getKernel('hash-join');
    const deadline = new Date(Date.now() + 3_600_000).toISOString();
    const runOn = async (jobId: string, kernel: AnyKernel) => {
      const outputs = new Map<number, Json>();
      for (let round = 0; round < 10; round++) {
        for (const l of await m.caller.compute.lease({ deviceId: m.deviceId, max: 16 })) {
          const output = kernel.run(l.input);
          outputs.set(l.unitIndex, output);
          await m.caller.compute.submitResult({ leaseId: l.leaseId, output });
        }
      }
      for (const [unitIndex, output] of outputs) await coordinator.caller.compute.confirm({ jobId, unitIndex, output });
      expect((await coordinator.caller.compute.job({ jobId })).status).toBe('COMPLETED');
      await Promise.all(Array.from({ length: 20 }, () => settleJob(t.db, jobId)));
    };
    const job = await coordinator.caller.compute.submitJob({ communityId, kernel: 'prime-sieve', params: { upTo: 4_000 }, units: 2, replication: 2, quorum: 2, deadline, pricePerUnit: 0, fundingContractId: compute.id });
    await runOn(job.id, sieve);
    expect(await lastEvent(compute.id)).toMatchObject({ action: 'SETTLE_PROVEN', note: expect.stringMatching(new RegExp(`^${job.unitCount} of 4 work units spent`)) });

    // the memory leg: a hash join whose units use 2 MB runs on the member's device, paid MB × run time
    const join = await coordinator.caller.compute.submitJob({ communityId, kernel: 'hash-join', params: { seed: 7, workingSetMb: 2, probePerBuild: 2 }, units: 2, replication: 2, quorum: 2, deadline, pricePerUnit: 1_000, fundingContractId: memory.id });
    await runOn(join.id, hashJoin);
    expect(await lastEvent(memory.id)).toMatchObject({ action: 'SETTLE_PROVEN' });

    // every leg settled from its own proofs, exactly once
    for (const c of [compute, memory, network]) {
      const events = await t.db.contractEvent.findMany({ where: { contractId: c.id } });
      expect(events.filter((e) => e.action === 'SETTLE_PROVEN')).toHaveLength(1);
      expect((await t.db.contract.findUniqueOrThrow({ where: { id: c.id } })).state).toBe('SETTLED');
    }
    // nothing of the member's waits in escrow: the relayed share's commission was charged, the rest came back,
    // and the join's work units were paid on top
    const after = await balance(m);
    expect(after.escrow).toBe(0);
    expect(after.available).toBeGreaterThan(GRANT - networkPaid.paid);
    expect(await ledgerTotals(t.db)).toEqual({ balances: 0, postings: 0 });
  });
});
