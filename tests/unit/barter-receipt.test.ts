/**
 * Offline barter receipts: the form the browser builds and signs is the form the coordinator checks. A receipt
 * signed with a WebCrypto ECDSA P-256 key (non-extractable, as app/_lib/device-keys.ts makes it) verifies with
 * server/device/signature.ts; any altered field, another key or a damaged signature does not.
 */
import { describe, expect, it } from 'vitest';
import { buildReceipt, receiptBytes, receiptHash, sideOf, verifyReceipt, type SwapReceipt } from '@/app/_lib/barter/receipt';
import { base64url } from '@/app/_lib/device-keys';
import { receiptBytes as serverBytes, receiptHash as serverHash, receiptSchema } from '@/server/barter/receipts';
import { signatureValid } from '@/server/device/signature';

const file = (name: string, seed: string, sizeBytes: number) => ({ name, sha256: seed.repeat(64 / seed.length), sizeBytes });

async function deviceKey() {
  const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  const publicKey = base64url(await crypto.subtle.exportKey('spki', keys.publicKey));
  const sign = async (r: SwapReceipt) => base64url(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, receiptBytes(r)));
  return { publicKey, sign };
}

const fileForFile = () =>
  buildReceipt({
    communityId: 'community-1',
    proposer: { deviceId: 'device-a', gives: { kind: 'file', file: file('holiday.jpg', 'ab', 3_145_745) } },
    accepter: { deviceId: 'device-b', gives: { kind: 'file', file: file('song.mp3', 'c4', 2_097_157) } },
    now: new Date('2026-12-06T11:00:00.000Z'),
  });

describe('offline barter receipt', () => {
  it('has one canonical form: sorted keys, no spaces, the bytes and hash the coordinator computes', async () => {
    const receipt = fileForFile();
    const text = new TextDecoder().decode(receiptBytes(receipt));
    expect(text.startsWith('{"communityId":"community-1","createdAt":"2026-12-06T11:00:00.000Z","nonce":"')).toBe(true);
    expect(text).toContain('"parties":[{"deviceId":"device-a","files":[{"name":"holiday.jpg","sha256":"abab');
    expect(text).not.toMatch(/\s/);
    expect(text.endsWith('"version":1}')).toBe(true);
    // the coordinator parses it unchanged and serializes it to the same bytes
    const parsed = receiptSchema.parse(JSON.parse(text));
    expect(Buffer.from(receiptBytes(receipt)).equals(serverBytes(parsed))).toBe(true);
    expect(await receiptHash(receipt)).toBe(serverHash(parsed));
    // key order in the object the browser holds does not matter
    const shuffled = JSON.parse(JSON.stringify({ version: receipt.version, parties: receipt.parties, nonce: receipt.nonce, createdAt: receipt.createdAt, communityId: receipt.communityId })) as SwapReceipt;
    expect(await receiptHash(shuffled)).toBe(await receiptHash(receipt));
  });

  it('a file for credits names the file on one side and whole credits on the other; nonces differ', () => {
    const make = () =>
      buildReceipt({ communityId: 'c', proposer: { deviceId: 'a', gives: { kind: 'credits', credits: 5 } }, accepter: { deviceId: 'b', gives: { kind: 'file', file: file('a.pdf', '01', 10) } } });
    const receipt = make();
    expect(receipt.parties[0]).toEqual({ deviceId: 'a', gives: [{ category: 'MONEY', unit: 'CREDIT', quantity: 5 }] });
    expect(sideOf(receipt.parties[0])).toEqual({ kind: 'credits', credits: 5 });
    expect(sideOf(receipt.parties[1])).toEqual({ kind: 'file', file: file('a.pdf', '01', 10) });
    expect(receipt.nonce).toMatch(/^[0-9a-f]{32}$/);
    expect(make().nonce).not.toBe(receipt.nonce);
    expect(receiptSchema.safeParse(receipt).success).toBe(true);
    expect(() => buildReceipt({ communityId: 'c', proposer: { deviceId: 'a', gives: { kind: 'credits', credits: 5 } }, accepter: { deviceId: 'b', gives: { kind: 'credits', credits: 2 } } })).toThrow(/at least one file/);
    expect(() => buildReceipt({ communityId: 'c', proposer: { deviceId: 'a', gives: { kind: 'credits', credits: 1.5 } }, accepter: { deviceId: 'b', gives: { kind: 'file', file: file('a', '01', 1) } } })).toThrow(/whole credits/);
    expect(() => buildReceipt({ communityId: 'c', proposer: { deviceId: 'a', gives: { kind: 'credits', credits: 1 } }, accepter: { deviceId: 'a', gives: { kind: 'file', file: file('a', '01', 1) } } })).toThrow(/two different devices/);
  });

  it('a WebCrypto signature verifies with the coordinator’s code; altered fields, another key or damaged bytes do not', async () => {
    const [a, b] = [await deviceKey(), await deviceKey()];
    const receipt = fileForFile();
    const signature = await a.sign(receipt);
    expect(signature).toMatch(/^[A-Za-z0-9_-]{86}$/); // r‖s, 64 bytes
    const parsed = receiptSchema.parse(receipt);
    expect(signatureValid(a.publicKey, 'ECDSA-P256', serverBytes(parsed), signature)).toBe(true);
    expect(await verifyReceipt(receipt, a.publicKey, signature)).toBe(true);

    // another device's key
    expect(signatureValid(b.publicKey, 'ECDSA-P256', serverBytes(parsed), signature)).toBe(false);
    expect(await verifyReceipt(receipt, b.publicKey, signature)).toBe(false);
    // every field altered in turn
    const altered: SwapReceipt[] = [
      { ...receipt, communityId: 'community-2' },
      { ...receipt, nonce: receipt.nonce.replace(/^./, (c) => (c === '0' ? '1' : '0')) },
      { ...receipt, createdAt: '2026-12-06T11:00:01.000Z' },
      { ...receipt, parties: [{ ...receipt.parties[0], files: [file('holiday.jpg', 'ab', 3_145_746)] }, receipt.parties[1]] },
      { ...receipt, parties: [{ ...receipt.parties[0], files: [file('holiday.jpg', 'ac', 3_145_745)] }, receipt.parties[1]] },
      { ...receipt, parties: [receipt.parties[0], { ...receipt.parties[1], deviceId: 'device-c' }] },
      { ...receipt, parties: [receipt.parties[1], receipt.parties[0]] },
    ];
    for (const r of altered) {
      expect(signatureValid(a.publicKey, 'ECDSA-P256', serverBytes(receiptSchema.parse(r)), signature)).toBe(false);
      expect(await verifyReceipt(r, a.publicKey, signature)).toBe(false);
    }
    // a damaged signature, or garbage, is simply not valid
    const damaged = (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1);
    expect(signatureValid(a.publicKey, 'ECDSA-P256', serverBytes(parsed), damaged)).toBe(false);
    expect(signatureValid(a.publicKey, 'ECDSA-P256', serverBytes(parsed), 'not-a-signature')).toBe(false);
    expect(await verifyReceipt(receipt, 'not-a-key', signature)).toBe(false);
  });
});
