import { createPublicKey, verify } from 'node:crypto';

/**
 * Whether `signature` (base64url) is a device key's signature of `data`: the key as registered with the device
 * (`device.setKey`: SPKI, base64url) and its algorithm, ECDSA P-256 over SHA-256 in WebCrypto's IEEE P1363 form
 * (r‖s), or Ed25519. Anything malformed is simply not a valid signature.
 */
export function signatureValid(publicKey: string, algorithm: string, data: Uint8Array, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64url'), format: 'der', type: 'spki' });
    const sig = Buffer.from(signature, 'base64url');
    return algorithm === 'Ed25519' ? verify(null, data, key, sig) : verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}
