/**
 * Barter without the coordinator (issue 11, item 6): two devices agree a swap face to face, both sign the
 * receipt with their WebCrypto device keys, and either submits it later. A valid receipt settles once, with the
 * community's commission, and the ledger balances; forged, altered and replayed receipts (one after another or
 * 24 at once, from both sides) pay nothing. On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReceipt, receiptBytes, receiptHash, type SwapReceipt, type SwapSide } from '@/app/_lib/barter/receipt';
import { base64url } from '@/app/_lib/device-keys';
import { ledgerTotals } from '@/server/ledger/repository';
import { legValue } from '@/server/barter/unit-values';
import { splitCommission } from '@/server/market/commission';
import { resolveRates } from '@/server/valuation';
import { rejects } from '../support/assertions';
import { signUp, type Caller } from '../support/callers';
import { databaseKinds, freshDatabase, type TestDatabase } from '../support/database';
import { phoneProfile } from '../support/fixtures';

const CREDIT = 1_000_000;
const BPS = 250;
const sha = (seed: string) => seed.repeat(64 / seed.length);

type Party = { caller: Caller; memberId: string; deviceId: string; sign: (r: SwapReceipt) => Promise<string> };

describe.each(databaseKinds)('offline barter receipts on %s', (kind) => {
  let t: TestDatabase;
  let communityId: string;
  let seq = 0;
  /** The value of one FILE/ITEM at the community's rates: the price of a file leg. */
  let fileValue: number;

  /** A member of the community with a registered device whose key is a WebCrypto ECDSA P-256 pair, as in the browser. */
  const party = async (): Promise<Party> => {
    const m = await signUp(t.db, `ob-${kind}-${++seq}`);
    await m.caller.community.join({ slug: 'offline-town' });
    const { device } = await m.caller.device.register({ name: `phone ${seq}`, profile: phoneProfile });
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
    await m.caller.device.setKey({ deviceId: device.id, publicKey: base64url(await crypto.subtle.exportKey('spki', keys.publicKey)), algorithm: 'ECDSA-P256' });
    const sign = async (r: SwapReceipt) => base64url(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, receiptBytes(r)));
    return { caller: m.caller, memberId: m.member.id, deviceId: device.id, sign };
  };
  const swap = async (a: Party, b: Party, aGives: SwapSide, bGives: SwapSide) => {
    const receipt = buildReceipt({ communityId, proposer: { deviceId: a.deviceId, gives: aGives }, accepter: { deviceId: b.deviceId, gives: bGives } });
    const signatures = [{ deviceId: a.deviceId, signature: await a.sign(receipt) }, { deviceId: b.deviceId, signature: await b.sign(receipt) }];
    return { receipt, signatures };
  };
  const fileSide = (name: string, seed: string, sizeBytes = 1_234_567): SwapSide => ({ kind: 'file', file: { name, sha256: sha(seed), sizeBytes } });
  const available = async (p: Party) => (await p.caller.ledger.balance({ communityId })).available;
  const commissionAccount = async () => Number((await t.db.account.findFirstOrThrow({ where: { communityId, kind: 'COMMISSION', memberId: null } })).balance);
  const snapshot = async (ps: Party[]) => ({ balances: await Promise.all(ps.map(available)), commission: await commissionAccount(), contracts: await t.db.contract.count(), receipts: await t.db.barterReceipt.count() });

  beforeAll(async () => {
    t = await freshDatabase(kind);
    const coordinator = (await signUp(t.db, `ob-${kind}-coordinator`)).caller;
    ({ id: communityId } = await coordinator.community.create({ name: 'Offline town', slug: 'offline-town', commissionBps: BPS, startingGrant: 20 * CREDIT, inviteOnly: false }));
    const community = await t.db.community.findUniqueOrThrow({ where: { id: communityId }, select: { valuationRates: true } });
    fileValue = legValue({ category: 'FILE', unit: 'ITEM', quantity: 1 }, resolveRates(community.valuationRates));
    expect(fileValue).toBeGreaterThan(0);
  });
  afterAll(() => t?.drop());

  it('a file for credits settles once: the giver gets the credits, the receiver pays them and the commission', async () => {
    const [ann, ben] = [await party(), await party()];
    const before = await snapshot([ann, ben]);
    const { receipt, signatures } = await swap(ann, ben, fileSide('holiday.jpg', 'a1'), { kind: 'credits', credits: 5 });
    const hash = await receiptHash(receipt);
    expect(await ann.caller.barter.receipt({ hash })).toEqual({ settled: false });

    const posted = await ben.caller.barter.submitReceipt({ receipt, signatures });
    expect(posted.hash).toBe(hash);
    expect(posted.contractIds).toHaveLength(1);
    const commission = splitCommission(fileValue, BPS).total;
    expect(commission).toBeGreaterThan(0);
    const after = await snapshot([ann, ben]);
    expect(after.balances).toEqual([before.balances[0]! + 5 * CREDIT, before.balances[1]! - 5 * CREDIT - commission]);
    expect(after.commission - before.commission).toBe(commission);
    expect((await ann.caller.contract.get({ contractId: posted.contractIds[0]! })).state).toBe('SETTLED');

    // both parties read the same settlement, each from their side
    const forAnn = await ann.caller.barter.receipt({ hash });
    const forBen = await ben.caller.barter.receipt({ hash });
    expect(forAnn).toMatchObject({ settled: true, net: 5 * CREDIT, legs: [{ category: 'FILE', unit: 'ITEM', quantity: 1, mine: 'GAVE', credits: 5 * CREDIT, commission, state: 'SETTLED' }] });
    expect(forBen).toMatchObject({ settled: true, net: -(5 * CREDIT + commission), legs: [{ mine: 'GOT', credits: 5 * CREDIT, commission }] });
    // a stranger learns nothing
    const stranger = await signUp(t.db, `ob-${kind}-stranger-${++seq}`);
    expect(await stranger.caller.barter.receipt({ hash })).toEqual({ settled: false });
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('a file for a file: each side pays the commission on the file it receives', async () => {
    const [ann, ben] = [await party(), await party()];
    const before = await snapshot([ann, ben]);
    const { receipt, signatures } = await swap(ann, ben, fileSide('song.mp3', 'b2'), fileSide('map.pdf', 'c3'));
    const posted = await ann.caller.barter.submitReceipt({ receipt, signatures });
    expect(posted.contractIds).toHaveLength(2);
    const commission = splitCommission(fileValue, BPS).total;
    const after = await snapshot([ann, ben]);
    expect(after.balances).toEqual([before.balances[0]! - commission, before.balances[1]! - commission]);
    expect(after.commission - before.commission).toBe(2 * commission);
    expect(await ann.caller.barter.receipt({ hash: posted.hash })).toMatchObject({ settled: true, net: -commission });
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('forged and altered receipts are refused and pay nothing', async () => {
    const [ann, ben, cat] = [await party(), await party(), await party()];
    const { receipt, signatures } = await swap(ann, ben, fileSide('report.pdf', 'd4'), { kind: 'credits', credits: 3 });
    const before = await snapshot([ann, ben, cat]);
    const refused = async (r: SwapReceipt, sigs: typeof signatures, by = ann) =>
      rejects(by.caller.barter.submitReceipt({ receipt: r, signatures: sigs }), 'BAD_REQUEST', /does not verify: the receipt was altered or not signed by that device/);

    // a signature that is not one
    await refused(receipt, [signatures[0]!, { deviceId: ben.deviceId, signature: 'A'.repeat(86) }]);
    // Ben's signature made with a key registered to another device (Cat's), not Ben's
    await refused(receipt, [signatures[0]!, { deviceId: ben.deviceId, signature: await cat.sign(receipt) }]);
    // Ann signing for both
    await refused(receipt, [signatures[0]!, { deviceId: ben.deviceId, signature: signatures[0]!.signature }]);
    // fields altered after both signed: more credits, fewer credits, another file, another community member's device
    const p = receipt.parties;
    await refused({ ...receipt, parties: [p[0], { ...p[1], gives: [{ category: 'MONEY', unit: 'CREDIT', quantity: 30 }] }] }, signatures);
    await refused({ ...receipt, parties: [p[0], { ...p[1], gives: [{ category: 'MONEY', unit: 'CREDIT', quantity: 1 }] }] }, signatures, ben);
    await refused({ ...receipt, parties: [{ ...p[0], files: [{ ...p[0].files![0]!, sha256: sha('e5') }] }, p[1]] }, signatures);
    await refused({ ...receipt, nonce: sha('0f').slice(0, 32) }, signatures);
    // the signatures of another receipt
    const other = await swap(ann, ben, fileSide('report.pdf', 'd4'), { kind: 'credits', credits: 3 });
    await refused(receipt, other.signatures);
    // a receipt whose file list and FILE legs disagree is malformed
    await rejects(ann.caller.barter.submitReceipt({ receipt: { ...receipt, parties: [{ ...p[0], gives: [{ category: 'FILE', unit: 'ITEM', quantity: 2 }] }, p[1]] }, signatures }), 'BAD_REQUEST', /exactly that many FILE items/);
    // Cat, no party to it, cannot submit it
    await rejects(cat.caller.barter.submitReceipt({ receipt, signatures }), 'FORBIDDEN', /Only a party/);
    expect(await snapshot([ann, ben, cat])).toEqual(before);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });

  it('a replayed receipt is refused with "already settled", by either side', async () => {
    const [ann, ben] = [await party(), await party()];
    const { receipt, signatures } = await swap(ann, ben, fileSide('clip.mp4', 'f6'), { kind: 'credits', credits: 2 });
    await ann.caller.barter.submitReceipt({ receipt, signatures });
    const settled = await snapshot([ann, ben]);
    await rejects(ann.caller.barter.submitReceipt({ receipt, signatures }), 'CONFLICT', /already settled: nothing was paid again/);
    await rejects(ben.caller.barter.submitReceipt({ receipt, signatures }), 'CONFLICT', /already settled/);
    // the same receipt with its signatures in the other order is the same receipt
    await rejects(ben.caller.barter.submitReceipt({ receipt, signatures: [signatures[1]!, signatures[0]!] }), 'CONFLICT', /already settled/);
    expect(await snapshot([ann, ben])).toEqual(settled);
  });

  it('24 concurrent submissions of one receipt, from both sides, settle it exactly once', async () => {
    const [ann, ben] = [await party(), await party()];
    const { receipt, signatures } = await swap(ann, ben, { kind: 'credits', credits: 7 }, fileSide('album.zip', '7a'));
    const before = await snapshot([ann, ben]);
    const results = await Promise.allSettled(Array.from({ length: 24 }, (_, i) => (i % 2 ? ben : ann).caller.barter.submitReceipt({ receipt, signatures })));
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    expect(fulfilled).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(String((r.reason as Error).message)).toMatch(/already settled/);
    const commission = splitCommission(fileValue, BPS).total;
    const after = await snapshot([ann, ben]);
    expect(after.balances).toEqual([before.balances[0]! - 7 * CREDIT - commission, before.balances[1]! + 7 * CREDIT]);
    expect(after.commission - before.commission).toBe(commission);
    expect(after.contracts - before.contracts).toBe(1);
    expect(after.receipts - before.receipts).toBe(1);
    expect(await t.db.barterDeal.count({ where: { kind: 'RECEIPT', communityId, acceptedBy: { equals: [ann.memberId, ben.memberId] } } })).toBe(1);
    expect(await ledgerTotals(t.db, communityId)).toEqual({ balances: 0, postings: 0 });
  });
});
