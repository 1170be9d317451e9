/**
 * The headless agent: a device with no screen. It signs in over the app's own tRPC client, measures itself
 * and registers as a device, then
 *  - donates compute with the browser's donor loop (app/_lib/donor.ts, the rules of donor-rules.ts) over the
 *    browser's ComputePool, whose slots are Node worker threads running the kernels' own registry
 *    (workers/kernels, through workers/compute-api.ts), and/or
 *  - sells storage from a folder on disk (--storage-dir, --storage-mb) with the browser's storage agent
 *    (app/_lib/storage/agent.ts), shards travelling over WebRTC data channels (node-datachannel).
 * SIGINT/SIGTERM stop it cleanly: running units are abandoned and their leases given back, donating is
 * switched off. The last line printed is `AGENT_SUMMARY {json}`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ComputePool } from '../app/_lib/compute-pool';
import { Donor, trpcDonorApi, type DonorApi, type EnvironmentSource } from '../app/_lib/donor';
import { normalizePrefs } from '../app/_lib/donor-rules';
import { findKernel, KERNEL_NAMES, type KernelName } from '../workers/kernels';
import { corrupt } from './cheat';
import { connect, describe, errorCode } from './http';
import { nodeRunners } from './node-threads';
import { MICRO_PER_CREDIT, parseOptions, USAGE, UsageError, type AgentOptions } from './options';
import { measureProfile } from './profile';
import { startStorageNode, type StorageNode } from './storage-node';

export type AgentHost = {
  /** the project's folder (workers/kernels/wasm lives there) */
  root: string;
  /** the bundled agent/compute-thread.ts */
  threadFile: string;
  /** compiles a member's ES module to a script defining `__member` (esbuild's transform) */
  compile: (code: string) => Promise<string>;
};

type Summary = {
  computed: number;
  submitted: number;
  validated: number;
  failed: number;
  skipped: number;
  abandoned: number;
  cheated: number;
  deviceId: string | null;
  communities: string[];
  storage: { answered: number; fetched: number; served: number; shards: number } | null;
};

/** The device id a storage folder was registered as (written next to its shards). */
const DEVICE_FILE = '.swapmesh-device';
const readRemembered = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

/** A server has no battery, no hidden tab and no metered network: the gate is always open. */
const serverEnvironment: EnvironmentSource = {
  read: () => ({ visible: true, online: true, battery: null, connection: null }),
  subscribe: () => () => undefined,
  ready: Promise.resolve(),
};

export async function main(argv: string[], host: AgentHost): Promise<number> {
  let opts: AgentOptions;
  try {
    const parsed = parseOptions(argv);
    if (parsed === 'help') {
      console.error(USAGE);
      return 2;
    }
    opts = parsed;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`agent: ${err.message}\n${USAGE}`);
    return 2;
  }
  const startedAt = Date.now();
  const stamp = () => `[agent ${new Date().toISOString().slice(11, 19)}]`;
  const log = (...args: unknown[]) => {
    if (!opts.quiet) console.log(stamp(), ...args);
  };
  const warn = (...args: unknown[]) => console.error(stamp(), ...args);
  const coordinator = connect(opts.origin);
  const { client } = coordinator;
  const summary: Summary = { computed: 0, submitted: 0, validated: 0, failed: 0, skipped: 0, abandoned: 0, cheated: 0, deviceId: null, communities: [], storage: null };
  const donating: { id: string; slug: string }[] = [];
  let donor: Donor | null = null;
  let storage: StorageNode | null = null;

  let stopping = false;
  let finished: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finished = resolve));
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping: ${why}`);
    finished();
  };
  let signals = 0;
  const onSignal = (signal: string) => {
    if (++signals > 1) process.exit(130);
    stop(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const cleanup = async () => {
    if (donor) {
      const running = donor.getStatus().current.length;
      summary.abandoned += running;
      await donor.stop(); // aborts running units and gives every lease back
      if (running) log(`gave back ${running} unfinished unit${running === 1 ? '' : 's'}`);
    }
    if (summary.deviceId && coordinator.signedIn) {
      for (const c of donating) {
        await client.compute.donate.mutate({ communityId: c.id, deviceId: summary.deviceId, on: false }).catch((err: unknown) => warn(`could not switch donating off in ${c.slug}: ${describe(err)}`));
      }
      if (donating.length) log('donating switched off');
    }
    if (storage) {
      summary.storage = storage.counts();
      await storage.stop();
    }
  };

  let code = 0;
  try {
    // 1. sign in
    if (opts.signUp) {
      try {
        await client.auth.signUp.mutate({ handle: opts.handle, password: opts.password });
        log(`signed up as ${opts.handle}`);
      } catch (err) {
        if (errorCode(err) !== 'CONFLICT') throw err;
      }
    }
    if (!coordinator.signedIn) await client.auth.signIn.mutate({ handle: opts.handle, password: opts.password });
    log(`signed in to ${opts.origin} as ${opts.handle}`);

    // 2. communities
    let communities: { id: string; slug: string }[] = [];
    if (opts.communities.length) {
      for (const slug of opts.communities) {
        const c = await client.community.get.query({ slug });
        if (!c.role) {
          await client.community.join.mutate({ slug, ...(opts.invite ? { inviteCode: opts.invite } : {}) });
          log(`joined ${slug}`);
        }
        communities.push({ id: c.id, slug: c.slug });
      }
    } else {
      const mine = await client.community.list.query({ mine: true, limit: 100 });
      communities = mine.items.map((c) => ({ id: c.id, slug: c.slug }));
      if (!communities.length) throw new Error('this member belongs to no community: pass --community SLUG');
    }
    summary.communities = communities.map((c) => c.slug);

    // 3. the device
    log('measuring this machine…');
    if (opts.storage) mkdirSync(opts.storage.dir, { recursive: true });
    const profile = await measureProfile(opts.origin, opts.storage?.dir ?? host.root);
    // a storage folder remembers its device, so that a restarted node answers for the shards it keeps
    const remembered = opts.storage ? join(opts.storage.dir, DEVICE_FILE) : null;
    const knownDevice = opts.deviceId ?? (remembered ? readRemembered(remembered) : undefined);
    const register = (id: string | undefined) => client.device.register.mutate({ name: opts.name, profile, ...(id ? { deviceId: id } : {}) });
    const registered = await register(knownDevice).catch((err: unknown) => {
      // a remembered device that is gone (or another member's): this folder becomes a new device
      if (opts.deviceId || !knownDevice || !['NOT_FOUND', 'FORBIDDEN'].includes(errorCode(err) ?? '')) throw err;
      return register(undefined);
    });
    const deviceId = registered.device.id;
    if (remembered && knownDevice !== deviceId) writeFileSync(remembered, `${deviceId}\n`);
    summary.deviceId = deviceId;
    log(`device ${deviceId} (${Math.round(profile.compute.mips ?? 0)} MIPS, ${Math.round(profile.compute.mflops ?? 0)} MFLOPS per thread)`);

    if (opts.maxTimeMs) setTimeout(() => stop(`${opts.maxTimeMs! / 1000} s elapsed`), opts.maxTimeMs).unref();
    let lastWorkAt = Date.now();

    // 4. storage from disk
    if (opts.storage) {
      storage = await startStorageNode({ client, deviceId, dir: opts.storage.dir, capacityBytes: opts.storage.mb * 2 ** 20, log, warn, onWork: () => (lastWorkAt = Date.now()) });
      // one standing ask per community: a restarted node keeps the one it has
      const { asks } = await client.storage.lending.query({ deviceId });
      for (const c of communities) {
        if (asks.some((a) => a.communityId === c.id)) continue;
        await client.storage.lend.mutate({ communityId: c.id, deviceId, mb: opts.storage.mb, hours: opts.storage.hours, price: opts.storage.price });
      }
      log(`lending ${opts.storage.mb} MB of ${opts.storage.dir} in ${summary.communities.join(', ')} at ${opts.storage.price / MICRO_PER_CREDIT} credits per MB·hour`);
    }

    // 5. compute: the browser's donor loop over Node threads
    if (opts.compute) {
      for (const c of communities) {
        await client.compute.donate.mutate({ communityId: c.id, deviceId, on: true, floorPrice: opts.floorPrice });
        donating.push(c);
      }
      log(`donating in ${summary.communities.join(', ')} at ${opts.floorPrice / MICRO_PER_CREDIT} credits per unit or more, ${opts.threads} thread${opts.threads === 1 ? '' : 's'}${opts.cheat ? ' — CHEATING' : ''}`);

      const kernels: KernelName[] = KERNEL_NAMES.filter((k) => k !== 'custom' || opts.allowCustom);
      const remote = trpcDonorApi(client, { kernels });
      const reachedMax = () => opts.maxUnits !== null && summary.computed + summary.failed >= opts.maxUnits;
      const api: DonorApi = {
        async lease(id, max) {
          const inflight = donor?.getStatus().current.length ?? 0;
          const room = opts.maxUnits === null ? max : Math.min(max, opts.maxUnits - summary.computed - summary.failed - inflight);
          if (room <= 0 || stopping) return [];
          const leases = await remote.lease(id, room);
          if (leases.length) lastWorkAt = Date.now();
          return leases;
        },
        async submit(leaseId, output) {
          summary.computed++;
          const lease = donor?.getStatus().current.find((u) => u.leaseId === leaseId);
          let sent = output;
          if (opts.cheat && lease) {
            const kernel = findKernel(lease.kernel);
            const bad = kernel ? corrupt(kernel, output) : null;
            if (bad === null) warn(`unit ${lease.unitIndex} of ${lease.kernel}: found no well-formed wrong output, sending the right one`);
            else {
              sent = bad;
              summary.cheated++;
            }
          }
          const verdict = await remote.submit(leaseId, sent);
          summary.submitted++;
          if (verdict.status === 'VALID') summary.validated++;
          if (lease) log(`unit ${lease.unitIndex} · ${lease.kernel} · job ${lease.jobId.slice(-8)} → ${verdict.status.toLowerCase()}, unit ${verdict.unitStatus.toLowerCase()}`);
          return verdict;
        },
        returnLeases: (id) => remote.returnLeases(id),
      };
      const prefs = normalizePrefs({ coreShare: 1, dutyCycle: 1, onlyWhileCharging: false, unmeteredOnly: false, pauseWhenHidden: false, floorPrice: opts.floorPrice, memoryMb: 0 });
      const runners = nodeRunners({
        threadFile: host.threadFile,
        wasmDir: join(host.root, 'workers/kernels/wasm'),
        fetchCode: opts.allowCustom ? (jobId) => coordinator.text(`/api/compute/sandbox/${encodeURIComponent(jobId)}?part=code`) : null,
        compile: host.compile,
      });
      donor = new Donor({
        deviceId,
        prefs,
        api,
        environment: serverEnvironment,
        cores: opts.threads,
        createPool: (size, dutyCycle) => new ComputePool({ size, dutyCycle, createRunner: runners }),
      });
      let lastFailed = 0;
      let lastError: string | null = null;
      donor.subscribe((status) => {
        if (status.unitsFailed > lastFailed) {
          summary.failed += status.unitsFailed - lastFailed;
          lastFailed = status.unitsFailed;
          warn(status.lastError ?? 'a unit failed');
        } else if (status.lastError && status.lastError !== lastError) warn(status.lastError);
        lastError = status.lastError;
        if (status.current.length) lastWorkAt = Date.now();
        if (reachedMax() && status.current.length === 0) stop(`${opts.maxUnits} units done`);
      });
      donor.start();
    }

    // 6. until stopped: a signal, --max-units, --max-time, or --idle-exit with nothing running
    const idle = opts.idleExitMs;
    const idleTimer = idle
      ? setInterval(() => {
          const busy = (donor?.getStatus().current.length ?? 0) > 0 || (storage?.busy() ?? false);
          if (busy) lastWorkAt = Date.now();
          else if (Date.now() - lastWorkAt >= idle) stop(`no work for ${idle / 1000} s`);
        }, 200)
      : null;
    await done;
    if (idleTimer) clearInterval(idleTimer);
  } catch (err) {
    warn(`fatal: ${describe(err)}`);
    code = 1;
  }
  await cleanup();
  console.log(`AGENT_SUMMARY ${JSON.stringify({ ...summary, seconds: Math.round((Date.now() - startedAt) / 100) / 10 })}`);
  return code;
}
