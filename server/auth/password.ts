import { randomBytes, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { rateLimited } from '../errors';

// OWASP's scrypt minimum (N=2^17, r=8, p=1) costs ~128 MiB and ~0.3 s per hash.
const PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const maxmem = 256 * 1024 * 1024;

/**
 * Hashing runs in one dedicated worker thread, one hash at a time. Node's asynchronous `scrypt` would run on
 * libuv's threadpool (4 threads), which the database drivers and file access share: a dozen sign-ins at once
 * took every thread and a plain query waited seconds behind them. The worker calls `scryptSync`, so it
 * blocks only itself; at most one core and ~128 MiB go to hashing, whatever the load. Past
 * `MAX_WAITING` queued hashes (about ten seconds of work), new ones are refused with RATE_LIMITED.
 */
export const MAX_WAITING = 32;

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { scryptSync } = require('node:crypto');
parentPort.on('message', ({ id, password, salt, keylen, options }) => {
  try {
    const key = scryptSync(password, Buffer.from(salt), keylen, options);
    parentPort.postMessage({ id, key: new Uint8Array(key) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

type Job = { resolve: (key: Buffer) => void; reject: (error: Error) => void };
type Reply = { id: number; key?: Uint8Array; error?: string };

const state = { worker: null as Worker | null, jobs: new Map<number, Job>(), nextId: 1 };

function hasher(): Worker {
  if (state.worker) return state.worker;
  const worker = new Worker(WORKER_SOURCE, { eval: true, name: 'swapmesh-password-hashing' });
  worker.on('message', (reply: Reply) => {
    const job = state.jobs.get(reply.id);
    if (!job) return;
    state.jobs.delete(reply.id);
    if (state.jobs.size === 0) worker.unref();
    if (reply.key) job.resolve(Buffer.from(reply.key.buffer, reply.key.byteOffset, reply.key.byteLength));
    else job.reject(new Error(`password hashing failed: ${reply.error ?? 'no key'}`));
  });
  const fail = (error: Error) => {
    if (state.worker === worker) state.worker = null;
    for (const job of state.jobs.values()) job.reject(error);
    state.jobs.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the password hashing worker stopped (exit code ${code})`)));
  worker.unref();
  state.worker = worker;
  return worker;
}

/** Hashes queued for the worker (or being hashed), for tests and load reports. */
export const hashesWaiting = () => state.jobs.size;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  if (state.jobs.size >= MAX_WAITING) {
    return Promise.reject(rateLimited('Too many sign-ins are being checked right now: try again in a few seconds.', 5));
  }
  const worker = hasher();
  const id = state.nextId++;
  return new Promise<Buffer>((resolve, reject) => {
    state.jobs.set(id, { resolve, reject });
    worker.ref();
    worker.postMessage({ id, password, salt: new Uint8Array(salt), keylen, options });
  });
}

/** `scrypt$N$r$p$salt$key` (base64url), self-describing so the cost can be raised later. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { ...PARAMS, maxmem });
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem,
  });
  return timingSafeEqual(actual, expected);
}

/** A hash of a random password, verified against when the handle does not exist so both paths cost the same. */
let decoy: Promise<string> | undefined;
export const decoyHash = () => (decoy ??= hashPassword(randomBytes(16).toString('hex')).catch((error: unknown) => {
  decoy = undefined;
  throw error;
}));
