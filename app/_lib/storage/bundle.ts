/**
 * What the buyer's device does to a file or folder before it leaves: pack the files into one bundle, encrypt
 * it with AES-GCM under a key that never leaves the member's devices (shown once as a recovery key), split the
 * ciphertext into shards, and prepare the challenges the coordinator will put to the sellers. And back:
 * check shards, join, decrypt, unpack. WebCrypto only, so it runs in the browser and under Node alike.
 */

export const PACK_MAGIC = 'SMPK1';
/** Shards of at most 4 MiB: small enough to keep in memory while they travel, several per folder to spread. */
export const SHARD_BYTES = 4 * 1024 * 1024;
/** Bytes hashed by one challenge. */
export const CHALLENGE_BYTES = 4096;

export type BundleFile = { path: string; bytes: Uint8Array<ArrayBuffer> };

const subtle = () => globalThis.crypto.subtle;
const encoder = new TextEncoder();

export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (const b of view) out += b.toString(16).padStart(2, '0');
  return out;
}

export function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const toB64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
function fromB64url(text: string): Uint8Array<ArrayBuffer> {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  if (parts.length === 1) return toHex(await subtle().digest('SHA-256', parts[0]! as Uint8Array<ArrayBuffer>));
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    joined.set(p, at);
    at += p.length;
  }
  return toHex(await subtle().digest('SHA-256', joined));
}

/**
 * One bundle from files, the same bytes for the same files whatever order they came in: the magic, a 4-byte
 * header length, a JSON header `{ files: [{ path, size }] }` sorted by path, then each file's bytes in that order.
 */
export function pack(files: BundleFile[]): Uint8Array<ArrayBuffer> {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const header = encoder.encode(JSON.stringify({ files: sorted.map((f) => ({ path: f.path, size: f.bytes.length })) }));
  const magic = encoder.encode(PACK_MAGIC);
  const total = magic.length + 4 + header.length + sorted.reduce((n, f) => n + f.bytes.length, 0);
  const out = new Uint8Array(total);
  out.set(magic, 0);
  new DataView(out.buffer).setUint32(magic.length, header.length);
  out.set(header, magic.length + 4);
  let at = magic.length + 4 + header.length;
  for (const f of sorted) {
    out.set(f.bytes, at);
    at += f.bytes.length;
  }
  return out;
}

export function unpack(bundle: Uint8Array<ArrayBuffer>): BundleFile[] {
  const magic = new TextDecoder().decode(bundle.subarray(0, PACK_MAGIC.length));
  if (magic !== PACK_MAGIC) throw new Error('This is not a Swapmesh bundle.');
  const length = new DataView(bundle.buffer, bundle.byteOffset).getUint32(PACK_MAGIC.length);
  const headerAt = PACK_MAGIC.length + 4;
  const header = JSON.parse(new TextDecoder().decode(bundle.subarray(headerAt, headerAt + length))) as { files: { path: string; size: number }[] };
  let at = headerAt + length;
  return header.files.map((f) => {
    const bytes = bundle.slice(at, at + f.size);
    at += f.size;
    return { path: f.path, bytes };
  });
}

/** A new AES-GCM key and its recovery key (base64url of the raw key): the member keeps it; the coordinator never sees it. */
export async function newKey(): Promise<{ key: CryptoKey; recoveryKey: string }> {
  const raw = globalThis.crypto.getRandomValues(new Uint8Array(32));
  return { key: await importRecoveryKey(toB64url(raw)), recoveryKey: toB64url(raw) };
}

export async function importRecoveryKey(recoveryKey: string): Promise<CryptoKey> {
  const text = recoveryKey.trim();
  const raw = /^[A-Za-z0-9_-]{43}$/.test(text) ? fromB64url(text) : new Uint8Array(0);
  if (raw.length !== 32) throw new Error('A recovery key is 43 characters: check that it was copied whole.');
  return subtle().importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

export async function encrypt(bundle: Uint8Array<ArrayBuffer>, key: CryptoKey): Promise<{ iv: string; ciphertext: Uint8Array<ArrayBuffer> }> {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  return { iv: toHex(iv), ciphertext: new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv }, key, bundle)) };
}

export async function decrypt(ciphertext: Uint8Array<ArrayBuffer>, key: CryptoKey, ivHex: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: fromHex(ivHex) }, key, ciphertext));
  } catch {
    throw new Error('This recovery key does not open this file (or a shard was damaged).');
  }
}

/** Cuts the ciphertext into shards of at most `size` bytes, as even as possible. */
export function split(ciphertext: Uint8Array<ArrayBuffer>, size = SHARD_BYTES): Uint8Array<ArrayBuffer>[] {
  const count = Math.max(1, Math.ceil(ciphertext.length / size));
  const each = Math.ceil(ciphertext.length / count);
  return Array.from({ length: count }, (_, i) => ciphertext.slice(i * each, Math.min(ciphertext.length, (i + 1) * each)));
}

export function join(shards: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(shards.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of shards) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

export type Challenge = { shardIndex: number; offset: number; length: number; nonce: string; expected: string };

/** The answer to a challenge: SHA-256 of the nonce's bytes followed by the asked range of the shard. */
export function answer(nonceHex: string, range: Uint8Array): Promise<string> {
  return sha256Hex(fromHex(nonceHex), range);
}

/** `perShard` challenges for each shard: a random range and a fresh 16-byte nonce each, with the expected answer. */
export async function prepareChallenges(shards: Uint8Array[], perShard: number): Promise<Challenge[]> {
  const out: Challenge[] = [];
  const random = new Uint32Array(1);
  for (let shardIndex = 0; shardIndex < shards.length; shardIndex++) {
    const shard = shards[shardIndex]!;
    const length = Math.min(CHALLENGE_BYTES, shard.length);
    for (let i = 0; i < perShard; i++) {
      globalThis.crypto.getRandomValues(random);
      const offset = shard.length === length ? 0 : random[0]! % (shard.length - length + 1);
      const nonce = toHex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
      out.push({ shardIndex, offset, length, nonce, expected: await answer(nonce, shard.subarray(offset, offset + length)) });
    }
  }
  return out;
}
