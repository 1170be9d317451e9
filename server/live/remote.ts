/**
 * Wakes the other coordinator processes of a PostgreSQL deployment with LISTEN/NOTIFY: after a commit,
 * the keys whose watchers must look again (`m:<memberId or device key>`, `b:<communityId>:<category>`)
 * are sent on the `swapmesh_live` channel, several per notification and never the events themselves
 * (those are read from the database). Each process keeps one dedicated connection from DATABASE_URL,
 * opened when it first sends or when its first subscriber appears; it LISTENs once a subscriber asks,
 * reconnects with backoff, and on every (re)connection wakes every local waiter, so that a notification
 * sent while it was down is not missed. SQLite deployments are one process: nothing to do.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { installRemote, notifyLocal, wakeAll } from './bus';

export const CHANNEL = 'swapmesh_live';
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7_000;

type State = {
  origin: string;
  client: pg.Client | null;
  connecting: Promise<pg.Client> | null;
  listening: boolean;
  wantListen: boolean;
  pending: Set<string>;
  flushing: boolean;
  backoffMs: number;
  retry: ReturnType<typeof setTimeout> | null;
  closed: boolean;
};

// one per process, whichever copy of the server code asks (see bus.ts)
const shared = globalThis as unknown as { swapmeshLiveRemote?: State };
const state = (shared.swapmeshLiveRemote ??= {
  origin: randomBytes(6).toString('base64url'),
  client: null,
  connecting: null,
  listening: false,
  wantListen: false,
  pending: new Set(),
  flushing: false,
  backoffMs: 250,
  retry: null,
  closed: false,
});

const postgresUrl = () => {
  const url = process.env.DATABASE_URL;
  return url && /^postgres(ql)?:/.test(url) ? url : null;
};

/** Bus key → payload item, and back. */
const toItem = (key: string) => (key.startsWith('book:') ? `b:${key.slice(5)}` : `m:${key}`);
const fromItem = (item: string) => (item.startsWith('b:') ? `book:${item.slice(2)}` : item.startsWith('m:') ? item.slice(2) : null);

/** Packs the keys into as few payloads as fit: `<origin> <item> <item> …`. */
export function payloadsFor(origin: string, keys: Iterable<string>, max = MAX_PAYLOAD): string[] {
  const out: string[] = [];
  let current = origin;
  for (const key of keys) {
    const item = toItem(key);
    if (Buffer.byteLength(item) + origin.length + 1 > max) continue; // no key is this long; never send a payload PostgreSQL refuses
    if (Buffer.byteLength(current) + 1 + Buffer.byteLength(item) > max) {
      out.push(current);
      current = origin;
    }
    current += ` ${item}`;
  }
  if (current !== origin) out.push(current);
  return out;
}

/** The keys of a payload, or null when it came from this process. */
export function keysOf(payload: string, origin: string): string[] | null {
  const [from, ...items] = payload.split(' ');
  if (from === origin) return null;
  return items.map(fromItem).filter((k): k is string => k !== null);
}

function connection(): Promise<pg.Client> {
  if (state.client) return Promise.resolve(state.client);
  if (state.connecting) return state.connecting;
  const url = postgresUrl();
  if (!url) return Promise.reject(new Error('live: DATABASE_URL is not a PostgreSQL URL'));
  state.connecting = (async () => {
    const client = new pg.Client({ connectionString: url, application_name: 'swapmesh-live' });
    client.on('error', () => lost(client));
    client.on('end', () => lost(client));
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      const keys = keysOf(message.payload, state.origin);
      if (keys?.length) notifyLocal(keys);
    });
    try {
      await client.connect();
      if (state.wantListen) await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      void client.end().catch(() => {});
      throw error;
    }
    state.client = client;
    state.listening = state.wantListen;
    state.backoffMs = 250;
    // anything sent while nobody here was listening: every waiter looks again
    if (state.listening) wakeAll();
    return client;
  })().finally(() => {
    state.connecting = null;
  });
  return state.connecting;
}

function lost(client: pg.Client) {
  if (state.client !== client) return;
  state.client = null;
  state.listening = false;
  void client.end().catch(() => {});
  if (state.wantListen && !state.closed) scheduleReconnect();
}

function scheduleReconnect() {
  if (state.retry || state.closed) return;
  const delay = state.backoffMs;
  state.backoffMs = Math.min(state.backoffMs * 2, 10_000);
  state.retry = setTimeout(() => {
    state.retry = null;
    connection().catch(() => scheduleReconnect());
  }, delay);
  state.retry.unref?.();
}

async function flush() {
  if (state.flushing) return;
  state.flushing = true;
  try {
    while (state.pending.size > 0) {
      const payloads = payloadsFor(state.origin, state.pending);
      state.pending.clear();
      try {
        const client = await connection();
        await client.query(`SELECT pg_notify('${CHANNEL}', p) FROM unnest($1::text[]) AS p`, [payloads]);
      } catch {
        // the other processes' safety-net poll still finds the change; the next send reconnects
      }
    }
  } finally {
    state.flushing = false;
  }
}

installRemote({
  send(keys) {
    if (state.closed || !postgresUrl()) return;
    for (const key of keys) state.pending.add(key);
    // everything announced in this turn of the event loop goes out together
    if (!state.flushing) setImmediate(() => void flush());
  },
  listen() {
    if (state.closed || !postgresUrl() || state.wantListen) return;
    state.wantListen = true;
    if (state.client) {
      const client = state.client;
      client.query(`LISTEN ${CHANNEL}`).then(
        () => {
          state.listening = true;
          wakeAll();
        },
        () => lost(client),
      );
    } else {
      connection().catch(() => scheduleReconnect());
    }
  },
});

/** Closes this process's live connection (tests, shutdown); the process stops hearing other processes. */
export async function closeRemote(): Promise<void> {
  state.closed = true;
  if (state.retry) clearTimeout(state.retry);
  state.retry = null;
  const client = state.client ?? (await state.connecting?.catch(() => null)) ?? null;
  state.client = null;
  state.wantListen = false;
  state.listening = false;
  if (client) {
    client.removeAllListeners('end');
    await client.end().catch(() => {});
  }
}

/** Reopens after closeRemote (tests). */
export function reopenRemote(): void {
  state.closed = false;
}

/** Resolves once every key announced so far has been sent (a process about to exit; tests). */
export async function flushRemote(): Promise<void> {
  while (state.flushing || state.pending.size > 0) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Whether this process is LISTENing now (tests). */
export const isListening = () => state.listening;
