/**
 * `GET /api/compute/sandbox/JOBID` — a member's own code (a `custom` job), served as the module
 * worker that donors run it in. Only for signed-in members of the job's community.
 *
 * The worker is three modules from this one path, all sent with `cache-control: no-store` and
 *   Content-Security-Policy: default-src 'none'; script-src HOST/api/compute/sandbox/JOBID
 * so that inside the worker fetch, XHR, WebSocket, EventSource, WebTransport, workers, eval and
 * WebAssembly compilation are all blocked (connect-src, worker-src and script-src fall back to
 * 'none'), and the only scripts it may load are its own three parts (CSP path matching ignores
 * the query):
 *   1. `?part=lockdown`, evaluated first: strips from the global scope everything but the
 *      ECMAScript built-ins and a few pure helpers (text codecs, URL, crypto, timers...), which
 *      takes away what the policy cannot block: storage of the app's origin (IndexedDB, Cache
 *      Storage, OPFS via navigator.storage, the legacy file system), BroadcastChannel, Web Locks,
 *      devices (USB, HID, serial). It fails closed: if any of these survives, it throws and the
 *      member's code never runs. Being its own module, nothing the member declares can shadow it.
 *   2. `?part=code`: the member's code, unchanged, as a module exporting `run(input)` (sync or async;
 *      a default export that is a function, or an object with `run`, also works).
 *   3. the path itself, the worker's entry: imports 1 then 2 (so 1 is evaluated first) and
 *      answers each `{ type: 'run', id, codeSha256, input }` with
 *      `{ type: 'result', id, ok: true, output } | { type: 'result', id, ok: false, error }`.
 */
import { createHash } from 'node:crypto';
import { memberForSession, readCookie, SESSION_COOKIE } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { env } from '@/server/env';
import { customParamsSchema } from '@/workers/kernels/custom';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** What a CSP host-source can name (no IPv6 literals: a sandbox served on one fails closed). */
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

const plain = (status: number, text: string) =>
  new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });

export async function GET(request: Request, { params }: { params: Promise<{ jobId: string }> }): Promise<Response> {
  const { jobId } = await params;
  if (!JOB_ID.test(jobId)) return plain(404, 'No such job.');
  const part = new URL(request.url).searchParams.get('part');
  if (part !== null && part !== 'lockdown' && part !== 'code') return plain(404, 'No such part.');
  // a client-sent X-Forwarded-Host is believed only behind a configured proxy
  const host = (env.TRUST_PROXY > 0 ? request.headers.get('x-forwarded-host') : null) ?? request.headers.get('host') ?? '';
  if (!HOST.test(host)) return plain(400, 'Unusable Host header.');

  const db = getDb();
  const member = await memberForSession(db, readCookie(request.headers.get('cookie'), SESSION_COOKIE));
  if (!member) return plain(401, 'Sign in to run this code.');
  const job = await db.job.findUnique({
    where: { id: jobId },
    select: { kernel: true, params: true, community: { select: { memberships: { where: { memberId: member.id }, select: { role: true } } } } },
  });
  if (!job || job.kernel !== 'custom') return plain(404, 'No custom job has that id.');
  if (job.community.memberships.length === 0) return plain(403, "Only members of the job's community can run its code.");
  const parsed = customParamsSchema.safeParse(job.params);
  if (!parsed.success) return plain(404, 'This job has no usable code.');
  const { code, codeItem } = parsed.data;

  const self = `/api/compute/sandbox/${jobId}`;
  // code from a content item never reaches the coordinator: the donor hands it to the sandbox, which checks its
  // SHA-256 against the job's and imports it from a blob: URL (the only extra source the policy allows)
  if (part === 'code' && code === undefined) return plain(404, "This job's code comes from a content item in the mesh.");
  const body =
    part === 'lockdown' ? LOCKDOWN_MODULE
    : part === 'code' ? (code ?? '')
    : codeItem ? meshEntryModule(self, codeItem.sha256)
    : entryModule(self, createHash('sha256').update(code ?? '').digest('hex'));
  return new Response(body, {
    headers: {
      'content-type': 'text/javascript; charset=utf-8',
      'content-security-policy': `default-src 'none'; script-src ${host}${self}${codeItem ? ' blob:' : ''}`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}

/**
 * The entry of a job whose code is a content item: the first `run` message carries the code (fetched peer to
 * peer by the donor); it runs only if its SHA-256 is the job's, imported from a blob: URL made in the lockdown.
 */
function meshEntryModule(self: string, codeSha256: string): string {
  return `// Swapmesh sandbox: the worker's entry for code from the mesh (see app/api/compute/sandbox/[jobId]/route.ts).
import { onRun, post, moduleUrl } from ${JSON.stringify(`${self}?part=lockdown`)};

const CODE_SHA256 = ${JSON.stringify(codeSha256)};
let loading = null;
const describe = (err) => {
  try {
    return String(err instanceof Error ? err.name + ': ' + err.message : err).slice(0, 500);
  } catch {
    return 'The code failed.';
  }
};
const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
async function load(code) {
  const digest = hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(code)));
  if (digest !== CODE_SHA256) throw new Error("The code does not match the job's SHA-256: it was not run.");
  const member = await import(moduleUrl(code));
  const fn = typeof member.run === 'function' ? member.run
    : typeof member.default === 'function' ? member.default
    : member.default && typeof member.default.run === 'function' ? member.default.run.bind(member.default)
    : null;
  if (!fn) throw new Error('The code exports no run(input) function.');
  return fn;
}

onRun(async (data) => {
  if (typeof data !== 'object' || data === null || data.type !== 'run') return;
  const id = typeof data.id === 'number' ? data.id : 0;
  const reply = (message) => {
    try {
      post({ type: 'result', id, ...message });
    } catch (err) {
      post({ type: 'result', id, ok: false, error: 'The output cannot be sent back: ' + describe(err) });
    }
  };
  if (data.codeSha256 !== CODE_SHA256) {
    reply({ ok: false, error: 'This unit was made for other code than the job has.' });
    return;
  }
  if (!loading) {
    if (typeof data.code !== 'string') {
      reply({ ok: false, error: "The job's code was not handed to the sandbox." });
      return;
    }
    loading = load(data.code);
  }
  let fn;
  try {
    fn = await loading;
  } catch (err) {
    reply({ ok: false, error: describe(err) });
    return;
  }
  try {
    const output = await fn(data.input);
    if (output === undefined) reply({ ok: false, error: 'run(input) returned nothing.' });
    else reply({ ok: true, output });
  } catch (err) {
    reply({ ok: false, error: describe(err) });
  }
});
`;
}

function entryModule(self: string, codeSha256: string): string {
  return `// Swapmesh sandbox: the worker's entry (see app/api/compute/sandbox/[jobId]/route.ts).
import { onRun, post } from ${JSON.stringify(`${self}?part=lockdown`)};
import * as member from ${JSON.stringify(`${self}?part=code`)};

const CODE_SHA256 = ${JSON.stringify(codeSha256)};
const fn = typeof member.run === 'function' ? member.run
  : typeof member.default === 'function' ? member.default
  : member.default && typeof member.default.run === 'function' ? member.default.run.bind(member.default)
  : null;
const describe = (err) => {
  try {
    return String(err instanceof Error ? err.name + ': ' + err.message : err).slice(0, 500);
  } catch {
    return 'The code failed.';
  }
};

onRun(async (data) => {
  if (typeof data !== 'object' || data === null) return;
  if (data.type !== 'run' && !(data.type === undefined && 'input' in data)) return;
  const id = typeof data.id === 'number' ? data.id : 0;
  const reply = (message) => {
    try {
      post({ type: 'result', id, ...message });
    } catch (err) {
      post({ type: 'result', id, ok: false, error: 'The output cannot be sent back: ' + describe(err) });
    }
  };
  if (typeof data.codeSha256 === 'string' && data.codeSha256 !== CODE_SHA256) {
    reply({ ok: false, error: 'This unit was made for other code than the job has.' });
    return;
  }
  if (!fn) {
    reply({ ok: false, error: 'The code exports no run(input) function.' });
    return;
  }
  try {
    const output = await fn(data.input);
    if (output === undefined) reply({ ok: false, error: 'run(input) returned nothing.' });
    else reply({ ok: true, output });
  } catch (err) {
    reply({ ok: false, error: describe(err) });
  }
});
`;
}

const LOCKDOWN_MODULE = `// Swapmesh sandbox: the lockdown, evaluated before the member's code (see app/api/compute/sandbox/[jobId]/route.ts).
const G = globalThis;
const post = G.postMessage.bind(G);
// for code from the mesh: a module URL for checked text (taken before Blob is removed)
const moduleUrl = ((B, create) => (text) => create(new B([text], { type: 'text/javascript' })))(G.Blob, G.URL.createObjectURL.bind(G.URL));
export { moduleUrl };

// Messages that arrive before the entry module has registered its handler wait here.
let handler = null;
const backlog = [];
G.addEventListener('message', (event) => {
  if (handler) handler(event.data);
  else backlog.push(event.data);
});
export function onRun(fn) {
  handler = fn;
  for (const data of backlog.splice(0)) fn(data);
}
export { post };

const KEEP = new Set([
  // ECMAScript
  'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Infinity', 'NaN', 'undefined', 'Boolean',
  'String', 'Symbol', 'Date', 'Promise', 'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError',
  'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'SuppressedError', 'globalThis', 'JSON', 'Math', 'Intl',
  'ArrayBuffer', 'SharedArrayBuffer', 'Atomics', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array',
  'Int32Array', 'BigUint64Array', 'BigInt64Array', 'Uint8ClampedArray', 'Float32Array', 'Float64Array',
  'Float16Array', 'DataView', 'Map', 'BigInt', 'Set', 'Iterator', 'WeakMap', 'WeakSet', 'Proxy', 'Reflect',
  'FinalizationRegistry', 'WeakRef', 'DisposableStack', 'AsyncDisposableStack', 'decodeURI',
  'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'eval', 'isFinite', 'isNaN',
  'Temporal', 'constructor',
  // pure helpers
  'console', 'TextEncoder', 'TextDecoder', 'URL', 'URLSearchParams', 'atob', 'btoa', 'structuredClone',
  'queueMicrotask', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'crypto',
  'Crypto', 'SubtleCrypto', 'CryptoKey', 'DOMException', 'Event', 'EventTarget', 'MessageEvent', 'ErrorEvent',
  'PromiseRejectionEvent', 'SecurityPolicyViolationEvent', 'AbortController', 'AbortSignal', 'reportError',
  'self', 'navigator', 'location',
  // the network, left to the content security policy (which blocks every request)
  'fetch', 'Request', 'Response', 'Headers', 'XMLHttpRequest', 'WebSocket', 'EventSource', 'importScripts',
]);
const KEEP_NAVIGATOR = new Set([
  'constructor', 'hardwareConcurrency', 'appCodeName', 'appName', 'appVersion', 'platform', 'product', 'userAgent',
  'language', 'languages', 'onLine',
]);

function strip(object, keep) {
  for (const name of Reflect.ownKeys(object)) {
    if (typeof name !== 'string' || keep.has(name)) continue;
    if (Reflect.deleteProperty(object, name)) continue;
    // what cannot be removed must be a constant (TEMPORARY, PERSISTENT): a primitive data property
    const left = Reflect.getOwnPropertyDescriptor(object, name);
    const value = left && 'value' in left ? left.value : object;
    if (!left || left.get || left.set || (typeof value === 'object' && value !== null) || typeof value === 'function') {
      throw new Error('sandbox lockdown: cannot remove ' + name);
    }
  }
}
for (let o = G; o && o !== EventTarget.prototype && o !== Object.prototype; o = Object.getPrototypeOf(o)) strip(o, KEEP);
for (let o = G.navigator; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) strip(o, KEEP_NAVIGATOR);

// fail closed
for (const name of ['indexedDB', 'caches', 'BroadcastChannel', 'MessageChannel', 'Worker', 'SharedWorker',
  'webkitRequestFileSystem', 'webkitRequestFileSystemSync', 'WebTransport', 'WebAssembly', 'close', 'onmessage']) {
  if (name in G) throw new Error('sandbox lockdown: ' + name + ' is still reachable');
}
for (const name of ['storage', 'locks', 'serviceWorker', 'usb', 'hid', 'serial', 'bluetooth', 'storageBuckets', 'permissions', 'gpu']) {
  if (name in G.navigator) throw new Error('sandbox lockdown: navigator.' + name + ' is still reachable');
}
`;
