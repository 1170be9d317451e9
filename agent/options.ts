/** The agent's command line (`npm run agent -- --help`). */
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export const MICRO_PER_CREDIT = 1_000_000;

export const USAGE = `usage: npm run agent -- --url URL --handle H --password P [--community SLUG] [--threads N] [--floor CREDITS]
       [--max-units N] [--idle-exit S] [--max-time S] [--cheat] [--allow-custom] [--sign-up] [--invite CODE]
       [--name NAME] [--device-id ID] [--storage-dir DIR --storage-mb MB [--storage-price CREDITS] [--storage-hours H]]
       [--no-compute] [--quiet]

  --url URL             coordinator (default http://127.0.0.1:3000)
  --handle H --password P   the member to act as (--sign-up creates the member if needed)
  --community SLUG      work in this community (repeatable; joins it if needed, --invite CODE);
                        default: every community the member belongs to
  --threads N           compute threads (default: 2, at most the processors)
  --floor CREDITS       the least a unit must pay (default 0.001)
  --name NAME           device name (default "agent@HOSTNAME"); --device-id ID re-measures that device
  --max-units N         exit after N units have been computed
  --idle-exit S         exit after S seconds with no work (compute or storage)
  --max-time S          exit after S seconds in all
  --cheat               corrupt every output (still well-formed) before submitting, for tests and demos
  --allow-custom        run members' own code in a Node vm (not a sandbox: only for code you trust)
  --storage-dir DIR     sell storage: keep others' encrypted shards as files in DIR
  --storage-mb MB       how much of DIR to lend (required with --storage-dir)
  --storage-price CREDITS   asking price per MB·hour (default 0.001)
  --storage-hours H     how long the offer stands (default 720)
  --no-compute          do not donate compute (a storage-only node)
  --quiet               print only errors and the summary
The last line printed is AGENT_SUMMARY {json}. Exit codes: 0 done or stopped, 1 fatal error, 2 bad arguments.`;

export type AgentOptions = {
  origin: string;
  handle: string;
  password: string;
  communities: string[];
  invite: string | undefined;
  threads: number;
  floorPrice: number;
  name: string;
  deviceId: string | undefined;
  maxUnits: number | null;
  idleExitMs: number | null;
  maxTimeMs: number | null;
  cheat: boolean;
  allowCustom: boolean;
  signUp: boolean;
  quiet: boolean;
  compute: boolean;
  storage: { dir: string; mb: number; price: number; hours: number } | null;
};

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseOptions(argv: string[]): AgentOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        url: { type: 'string', default: 'http://127.0.0.1:3000' },
        handle: { type: 'string' },
        password: { type: 'string' },
        community: { type: 'string', multiple: true },
        invite: { type: 'string' },
        threads: { type: 'string' },
        floor: { type: 'string', default: '0.001' },
        name: { type: 'string' },
        'device-id': { type: 'string' },
        'max-units': { type: 'string' },
        'idle-exit': { type: 'string' },
        'max-time': { type: 'string' },
        cheat: { type: 'boolean', default: false },
        'allow-custom': { type: 'boolean', default: false },
        'sign-up': { type: 'boolean', default: false },
        'storage-dir': { type: 'string' },
        'storage-mb': { type: 'string' },
        'storage-price': { type: 'string', default: '0.001' },
        'storage-hours': { type: 'string', default: '720' },
        'no-compute': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (parsed.help) return 'help';
  if (!parsed.handle || !parsed.password) throw new UsageError('--handle and --password are required');
  const positive = (name: string, text: string | undefined, integer = true): number | null => {
    if (text === undefined) return null;
    const n = Number(text);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
    return n;
  };
  let url: URL;
  try {
    url = new URL(parsed.url);
  } catch {
    throw new UsageError('--url is not a URL');
  }
  const credits = (name: string, text: string) => {
    const micro = Math.round(positive(name, text, false)! * MICRO_PER_CREDIT);
    if (micro < 1) throw new UsageError(`--${name} must be at least 0.000001 credits`);
    return micro;
  };
  const floorPrice = credits('floor', parsed.floor);
  let storage: AgentOptions['storage'] = null;
  if (parsed['storage-dir'] !== undefined || parsed['storage-mb'] !== undefined) {
    const mb = positive('storage-mb', parsed['storage-mb']);
    if (!parsed['storage-dir'] || mb === null) throw new UsageError('--storage-dir and --storage-mb go together');
    storage = { dir: resolve(parsed['storage-dir']), mb, price: credits('storage-price', parsed['storage-price']), hours: positive('storage-hours', parsed['storage-hours'])! };
  }
  if (parsed['no-compute'] && !storage) throw new UsageError('--no-compute leaves nothing to do without --storage-dir');
  const cpus = availableParallelism();
  return {
    origin: url.origin,
    handle: parsed.handle,
    password: parsed.password,
    communities: parsed.community ?? [],
    invite: parsed.invite,
    threads: Math.min(positive('threads', parsed.threads) ?? Math.min(2, cpus), 64),
    floorPrice,
    name: (parsed.name ?? `agent@${hostname()}`).slice(0, 60),
    deviceId: parsed['device-id'],
    maxUnits: positive('max-units', parsed['max-units']),
    idleExitMs: (positive('idle-exit', parsed['idle-exit'], false) ?? 0) * 1000 || null,
    maxTimeMs: (positive('max-time', parsed['max-time'], false) ?? 0) * 1000 || null,
    cheat: parsed.cheat,
    allowCustom: parsed['allow-custom'],
    signUp: parsed['sign-up'],
    quiet: parsed.quiet,
    compute: !parsed['no-compute'],
    storage,
  };
}
