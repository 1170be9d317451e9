/**
 * End-to-end encryption between the two ends of a relay session: each end makes an ECDH P-256 key pair for the
 * session, signs its public key with its device key (so the relay that carries it cannot swap it), checks the
 * other end's signature against that end's registered device key, and derives an AES-GCM key. Frames carry
 * ciphertext only: the relay forwards bytes it cannot read or alter unnoticed.
 */
import { base64url } from '../device-keys';
import { relayKeyBytes, type RelayRole } from '@/server/relay/receipt-format';

/** The 4 bytes that open every relay frame ("RLY1"), then a 32-bit frame number, then the ciphertext. */
const MAGIC = [0x52, 0x4c, 0x59, 0x31];
export const FRAME_HEADER = 8;

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export type SessionKeys = { pair: CryptoKeyPair; publicKey: string };

export async function makeSessionKeys(): Promise<SessionKeys> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDH', namedCurve: 'P-256' }, false, ['deriveKey'])) as CryptoKeyPair;
  return { pair, publicKey: base64url(await crypto.subtle.exportKey('raw', pair.publicKey)) };
}

/** Whether `signature` is the other end's device key vouching for `ecdhPublicKey` in this session and role. */
export async function keyVouched(deviceKey: { publicKey: string; algorithm: string }, sessionId: string, role: RelayRole, deviceId: string, ecdhPublicKey: string, signature: string): Promise<boolean> {
  try {
    const spki = fromBase64url(deviceKey.publicKey);
    if (deviceKey.algorithm === 'Ed25519') {
      const key = await crypto.subtle.importKey('spki', spki, { name: 'Ed25519' }, false, ['verify']);
      return await crypto.subtle.verify({ name: 'Ed25519' }, key, fromBase64url(signature), new Uint8Array(relayKeyBytes(sessionId, role, deviceId, ecdhPublicKey)));
    }
    const key = await crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, fromBase64url(signature), new Uint8Array(relayKeyBytes(sessionId, role, deviceId, ecdhPublicKey)));
  } catch {
    return false;
  }
}

export async function deriveSessionKey(own: SessionKeys, otherPublicKey: string): Promise<CryptoKey> {
  const other = await crypto.subtle.importKey('raw', fromBase64url(otherPublicKey), { name: 'ECDH', namedCurve: 'P-256' }, false, []);
  return crypto.subtle.deriveKey({ name: 'ECDH', public: other }, own.pair.privateKey, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** A frame's nonce: never reused under one key, since each session has its own key and frame numbers only go up. */
function iv(frame: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setUint32(8, frame);
  return out;
}

export async function sealFrame(key: CryptoKey, sessionId: string, frame: number, plaintext: Uint8Array): Promise<Uint8Array> {
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: iv(frame), additionalData: new TextEncoder().encode(sessionId) }, key, new Uint8Array(plaintext)));
  const out = new Uint8Array(FRAME_HEADER + sealed.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, frame);
  out.set(sealed, FRAME_HEADER);
  return out;
}

export const isRelayFrame = (data: Uint8Array) => data.length > FRAME_HEADER && MAGIC.every((b, i) => data[i] === b);

/** Opens a frame; throws when it was altered on the way (AES-GCM's tag does not match). */
export async function openFrame(key: CryptoKey, sessionId: string, data: Uint8Array): Promise<{ frame: number; plaintext: Uint8Array }> {
  const frame = new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(4);
  const plaintext = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv(frame), additionalData: new TextEncoder().encode(sessionId) }, key, new Uint8Array(data.subarray(FRAME_HEADER))));
  return { frame, plaintext };
}

export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes instanceof Uint8Array ? new Uint8Array(bytes) : bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
