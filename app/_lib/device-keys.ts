'use client';

/**
 * This browser's device key: an ECDSA P-256 key pair made with WebCrypto, its private half non-extractable,
 * kept in IndexedDB (a CryptoKey survives there as an object, never as bytes), one per device id. The public
 * half is registered with the coordinator once per device (`device.setKey`); the coordinator checks what the
 * device signs (server/device/signature.ts). WebCrypto's ECDSA signature is r‖s (IEEE P1363), the form the
 * coordinator verifies.
 */
import { request, singleStore } from './idb';

const DB_NAME = 'swapmesh-device-keys';
const STORE = 'keys';
export const KEY_ALGORITHM = 'ECDSA-P256' as const;
const PARAMS: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

type Stored = { deviceId: string; keys: CryptoKeyPair; publicKey: string; registered: boolean };

const database = singleStore(DB_NAME, STORE, 'deviceId');

async function read(deviceId: string): Promise<Stored | undefined> {
  const db = await database();
  return request(db.transaction(STORE, 'readonly').objectStore(STORE).get(deviceId) as IDBRequest<Stored | undefined>);
}

async function write(entry: Stored): Promise<void> {
  const db = await database();
  await request(db.transaction(STORE, 'readwrite').objectStore(STORE).put(entry));
}

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (const b of view) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** One key pair per device; made on first use (concurrent first uses share one). */
const making = new Map<string, Promise<Stored>>();
function keyEntry(deviceId: string): Promise<Stored> {
  let entry = making.get(deviceId);
  if (!entry) {
    const make = async () => {
      const existing = await read(deviceId);
      if (existing) return existing;
      const keys = await crypto.subtle.generateKey(PARAMS, false, ['sign', 'verify']);
      const publicKey = base64url(await crypto.subtle.exportKey('spki', keys.publicKey));
      const made: Stored = { deviceId, keys, publicKey, registered: false };
      await write(made);
      return made;
    };
    // one tab at a time, so two tabs opened together never make two different keys for one device
    entry = (async () => (typeof navigator !== 'undefined' && navigator.locks ? await navigator.locks.request(`swapmesh-device-key:${deviceId}`, make) : await make()))();
    entry.catch(() => making.delete(deviceId));
    making.set(deviceId, entry);
  }
  return entry;
}

/**
 * Makes sure the coordinator knows this device's public key, registering it once (again only if the browser's
 * storage was cleared and a new pair made). `register` is `device.setKey`.
 */
export async function ensureDeviceKey(deviceId: string, register: (input: { deviceId: string; publicKey: string; algorithm: typeof KEY_ALGORITHM }) => Promise<unknown>): Promise<string> {
  const entry = await keyEntry(deviceId);
  if (!entry.registered) {
    await register({ deviceId, publicKey: entry.publicKey, algorithm: KEY_ALGORITHM });
    entry.registered = true;
    await write(entry);
  }
  return entry.publicKey;
}

/** The device's public key (SPKI, base64url), made if need be, without reaching the coordinator. */
export async function devicePublicKey(deviceId: string): Promise<string> {
  return (await keyEntry(deviceId)).publicKey;
}

/** Signs bytes with the device's private key: the signature as base64url (r‖s, 64 bytes for P-256). */
export async function signWithDeviceKey(deviceId: string, bytes: Uint8Array): Promise<string> {
  const { keys } = await keyEntry(deviceId);
  const data = new Uint8Array(bytes); // a plain ArrayBuffer-backed copy for WebCrypto
  return base64url(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keys.privateKey, data));
}
