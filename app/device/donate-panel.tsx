'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState, useSyncExternalStore, type ReactNode } from 'react';
import { ErrorAlert } from '../_components/form';
import type { DonorStatus } from '../_lib/donor';
import { getDonor, loadPrefs, savePrefs, type Donor } from '../_lib/donor';
import { CORE_SHARES, DEFAULT_PREFS, memoryChoices, normalizePrefs, workersFor, type DonorPrefs } from '../_lib/donor-rules';
import { formatCredits, MICRO_PER_CREDIT, parseCredits } from '../_lib/money';
import { useTRPC } from '../_lib/trpc';
import { MeasureSells } from './measure-sells';

const COMMUNITY_KEY = 'swapmesh.donateCommunity';

const OFF: DonorStatus = {
  state: 'off',
  reason: null,
  reasonText: null,
  current: [],
  unitsDone: 0,
  unitsFailed: 0,
  lastUnit: null,
  lastError: null,
  workers: 0,
  nextPollAt: null,
  pausedByYou: false,
};
const noSubscription = () => () => undefined;

/** The donor's live status; OFF until the donor exists (it is made in the browser only). */
function useDonorStatus(donor: Donor | null): DonorStatus {
  return useSyncExternalStore(donor ? donor.subscribe : noSubscription, donor ? donor.getStatus : () => OFF, () => OFF);
}

/** Re-renders every `ms` while `active`, for elapsed times. */
function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}

const KERNEL_TITLES: Record<string, string> = {
  mandelbrot: 'Mandelbrot tile',
  'montecarlo-pi': 'Monte Carlo π',
  'sha256-nonce': 'Hash search',
  'prime-sieve': 'Prime sieve',
  custom: "A member's code",
};
const kernelTitle = (kernel: string) => KERNEL_TITLES[kernel] ?? kernel;
const percent = (x: number) => `${Math.round(x * 100)}%`;

/** An on/off switch: a 60 × 36 track inside a 64 × 48 touch target. */
function Switch({ checked, disabled, onChange, label }: { checked: boolean; disabled?: boolean; onChange: (on: boolean) => void; label: string }) {
  return (
    <button
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      disabled={disabled}
      onClick={() => onChange(!checked)}
      style={{ flex: 'none', width: 64, height: 48, border: 0, padding: '6px 2px', background: 'transparent', cursor: disabled ? 'default' : 'pointer', opacity: disabled ? 0.55 : 1 }}
    >
      <span
        aria-hidden
        style={{ display: 'block', position: 'relative', width: 60, height: 36, borderRadius: 999, background: checked ? 'var(--accent)' : '#d6d3d1', transition: 'background 0.15s' }}
      >
        <span
          style={{
            position: 'absolute',
            top: 3,
            left: checked ? 27 : 3,
            width: 30,
            height: 30,
            borderRadius: '50%',
            background: '#fff',
            boxShadow: '0 1px 3px rgb(0 0 0 / 0.25)',
            transition: 'left 0.15s',
          }}
        />
      </span>
    </button>
  );
}

const STATE_PILL = {
  computing: { className: 'state ACTIVE', text: 'Computing' },
  idle: { className: 'state', text: 'Waiting for work' },
  paused: { className: 'state DELIVERED', text: 'Paused' },
} as const;

/** What the donor is doing, in a few words after the pill. */
function statusText(status: DonorStatus, now: number): string {
  if (status.state === 'computing') {
    const n = status.current.length;
    return `${n === 1 ? '1 unit' : `${n} units`} on ${status.workers === 1 ? '1 core' : `${status.workers} cores`}`;
  }
  if (status.state === 'idle') {
    const wait = status.nextPollAt ? Math.max(0, Math.ceil((status.nextPollAt - now) / 1000)) : null;
    return wait ? `asking again in ${wait} s` : 'asking the coordinator…';
  }
  if (status.state === 'paused') return status.pausedByYou ? 'until you resume' : (status.reasonText ?? '');
  return '';
}

function Figure({ label, value, unit, testId }: { label: string; value: string; unit?: string; testId: string }) {
  return (
    <div style={{ background: 'var(--bg)', borderRadius: 10, padding: '0.55rem 0.7rem', minWidth: 0 }}>
      <div className="muted" style={{ fontSize: '0.8rem' }}>{label}</div>
      <div style={{ overflowWrap: 'anywhere' }}>
        <span data-testid={testId} style={{ fontWeight: 700, fontSize: '1.2rem', fontVariantNumeric: 'tabular-nums' }}>{value}</span>
        {unit ? <span className="muted" style={{ fontSize: '0.8rem' }}> {unit}</span> : null}
      </div>
    </div>
  );
}

const ENGINE_TEXT = { wasm: 'WebAssembly', js: 'JavaScript', sandbox: 'sandbox' } as const;

/** What became of a result, in a few words: SUBMITTED waits for a second device, VALID counts, INVALID disagreed. */
const RESULT_TEXT: Record<string, string> = {
  SUBMITTED: 'done, awaiting confirmation',
  VALID: 'validated',
  INVALID: 'disagreed with other devices, not paid',
};

/** The device's trust, in the donor's words. */
function trustText(t: { trusted: boolean; trustStreak: number; trustAfter: number; spotCheckRate: number }): string {
  if (t.trusted) return `Trusted: most units count without a second device; about ${Math.round(t.spotCheckRate * 100)}% are still checked.`;
  return `Not trusted yet: ${t.trustStreak} of ${t.trustAfter} results confirmed in a row. Until then each result waits for a second device to confirm it.`;
}

/** One line saying what the preferences are, shown on the closed "Preferences". */
function prefsSummary(prefs: DonorPrefs, cores: number | null): string {
  const parts = [
    cores ? `${workersFor(cores, prefs.coreShare)} of ${cores} cores` : `${percent(prefs.coreShare)} of cores`,
    `busy ${percent(prefs.dutyCycle)}`,
  ];
  if (prefs.onlyWhileCharging) parts.push('charging only');
  parts.push(`stops below ${percent(prefs.stopBelowBattery)}`);
  if (prefs.unmeteredOnly) parts.push('no mobile data');
  if (prefs.pauseWhenHidden) parts.push('foreground only');
  return parts.join(' · ');
}

function Preferences({ prefs, cores, onChange }: { prefs: DonorPrefs; cores: number | null; onChange: (prefs: DonorPrefs) => void }) {
  const set = (patch: Partial<DonorPrefs>) => onChange(normalizePrefs({ ...prefs, ...patch }));
  const levels = Array.from({ length: 19 }, (_, i) => (i + 1) * 0.05);
  const workers = cores ? workersFor(cores, prefs.coreShare) : null;
  return (
    <details data-testid="donate-preferences" style={{ borderTop: '1px solid var(--line)', paddingTop: '0.5rem' }}>
      <summary style={{ cursor: 'pointer', minHeight: 44, padding: '0.35rem 0' }}>
        <span style={{ fontWeight: 600 }}>Preferences</span>
        <span className="muted small" style={{ display: 'block', marginLeft: '1.1rem' }}>{prefsSummary(prefs, cores)}</span>
      </summary>
      <div className="stack" style={{ paddingTop: '0.5rem' }}>
        <div className="stack" style={{ gap: '0.3rem' }}>
          <span style={{ fontWeight: 600, fontSize: '0.95rem' }} id="donate-cores">
            Processor cores{' '}
            {workers && cores ? <span className="muted small" style={{ fontWeight: 400 }}>({workers} of {cores})</span> : null}
          </span>
          <div className="segmented" role="group" aria-labelledby="donate-cores">
            {CORE_SHARES.map((share) => (
              <button key={share} type="button" aria-pressed={prefs.coreShare === share} onClick={() => set({ coreShare: share })}>
                {percent(share)}
              </button>
            ))}
          </div>
        </div>
        <label>
          <span className="row spread">
            <span>Busy at most</span>
            <span className="muted" style={{ fontWeight: 400 }}>{percent(prefs.dutyCycle)} of the time</span>
          </span>
          <input
            type="range"
            min={10}
            max={100}
            step={10}
            value={Math.round(prefs.dutyCycle * 100)}
            onChange={(e) => set({ dutyCycle: Number(e.target.value) / 100 })}
            style={{ padding: 0, border: 0, minHeight: 32, accentColor: 'var(--accent)' }}
          />
          <span className="hint">After each unit a core rests in proportion, so the device stays cool and responsive.</span>
        </label>
        <label className="check">
          <input type="checkbox" checked={prefs.onlyWhileCharging} onChange={(e) => set({ onlyWhileCharging: e.target.checked })} />
          Only while charging
        </label>
        <div className="grid2">
          <label>
            Stop below
            <select value={prefs.stopBelowBattery.toFixed(2)} onChange={(e) => set({ stopBelowBattery: Number(e.target.value) })}>
              {levels.map((l) => (
                <option key={l} value={l.toFixed(2)}>{percent(l)} battery</option>
              ))}
            </select>
          </label>
          <label>
            Resume above
            <select value={prefs.resumeAboveBattery.toFixed(2)} onChange={(e) => set({ resumeAboveBattery: Number(e.target.value) })}>
              {[...levels, 1].filter((l) => l > prefs.stopBelowBattery + 0.001).map((l) => (
                <option key={l} value={l.toFixed(2)}>{percent(l)} battery</option>
              ))}
            </select>
          </label>
        </div>
        <label>
          Memory for jobs
          <select value={String(prefs.memoryMb)} onChange={(e) => set({ memoryMb: Number(e.target.value) })} data-testid="donate-memory" aria-describedby="donate-memory-hint">
            {memoryChoices(deviceMemoryGb()).map((mb) => (
              <option key={mb} value={String(mb)}>{mb === 0 ? 'None' : `${mb.toLocaleString()} MB per unit`}</option>
            ))}
          </select>
          <span className="hint" id="donate-memory-hint">Jobs that need room in memory (a hash join) come only to devices that offer it, and pay for it by MB × run time besides the unit.</span>
        </label>
        <label className="check">
          <input type="checkbox" checked={prefs.unmeteredOnly} onChange={(e) => set({ unmeteredOnly: e.target.checked })} />
          Not on mobile data or Data Saver
        </label>
        <label className="check">
          <input type="checkbox" checked={prefs.pauseWhenHidden} onChange={(e) => set({ pauseWhenHidden: e.target.checked })} />
          Pause while the app is in the background
        </label>
      </div>
    </details>
  );
}

/** `navigator.deviceMemory` (GB, Chromium only), undefined where the browser does not tell. */
function deviceMemoryGb(): number | undefined {
  if (typeof navigator === 'undefined') return undefined;
  const gb = (navigator as Navigator & { deviceMemory?: number }).deviceMemory;
  return typeof gb === 'number' ? gb : undefined;
}

/** The memory preference as offered: never more than the device has (the coordinator refuses more than it measured). */
function offeredMemory(mb: number): number {
  const fits = memoryChoices(deviceMemoryGb());
  return fits.includes(mb) ? mb : (fits.at(-1) ?? 0);
}

/** The "Donate" switch of this device, its preferences, and what it is computing now. */
export function DonatePanel({ deviceId, children }: { deviceId: string; children?: ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [donor, setDonor] = useState<Donor | null>(null);
  const [prefs, setPrefs] = useState<DonorPrefs>(DEFAULT_PREFS);
  const [cores, setCores] = useState<number | null>(null);
  const [communityId, setCommunityId] = useState('');
  const [floorText, setFloorText] = useState(String(DEFAULT_PREFS.floorPrice / MICRO_PER_CREDIT));

  useEffect(() => {
    const stored = loadPrefs();
    setPrefs(stored);
    setFloorText(String(stored.floorPrice / MICRO_PER_CREDIT));
    setCores(navigator.hardwareConcurrency || 1);
    setCommunityId(localStorage.getItem(COMMUNITY_KEY) ?? '');
    setDonor(getDonor(deviceId));
  }, [deviceId]);

  const status = useDonorStatus(donor);
  const on = status.state !== 'off';
  const now = useNow(on);

  const communities = useQuery(trpc.community.list.queryOptions({ mine: true }));
  const stats = useQuery({ ...trpc.compute.donorStats.queryOptions({ deviceId }), refetchInterval: on ? 5_000 : false });
  const donatingIn = stats.data?.donatingIn ?? [];
  const items = communities.data?.items ?? [];
  const chosen = items.find((c) => c.id === communityId) ?? items.find((c) => c.id === donatingIn[0]?.communityId) ?? items[0] ?? null;

  // the server still has this device donating (switched on in an earlier visit): carry on
  useEffect(() => {
    if (donor && !donor.isRunning && donatingIn.length > 0) donor.start();
  }, [donor, donatingIn.length]);

  // results arrive one by one: refresh the credits as units complete
  useEffect(() => {
    if (status.unitsDone > 0) void queryClient.invalidateQueries(trpc.compute.donorStats.queryFilter({ deviceId }));
  }, [status.unitsDone]); // eslint-disable-line react-hooks/exhaustive-deps

  const floorPrice = parseCredits(floorText);
  const floorError = floorPrice === null || floorPrice < 1 ? 'Enter a price in credits, like 0.001.' : null;

  const donate = useMutation(trpc.compute.donate.mutationOptions());
  const toggle = useMutation({
    mutationFn: async (turnOn: boolean) => {
      if (!donor) return;
      if (turnOn) {
        if (!chosen) throw new Error('Join a community first: donations are made in a community.');
        if (floorError || floorPrice === null) throw new Error(floorError ?? 'Enter a floor price.');
        await donate.mutateAsync({ communityId: chosen.id, deviceId, on: true, floorPrice, memoryMb: offeredMemory(prefs.memoryMb) });
        localStorage.setItem(COMMUNITY_KEY, chosen.id);
        donor.start();
      } else {
        await donor.stop();
        const where = donatingIn.length > 0 ? donatingIn.map((d) => d.communityId) : chosen ? [chosen.id] : [];
        for (const id of where) await donate.mutateAsync({ communityId: id, deviceId, on: false });
      }
    },
    onSettled: () => queryClient.invalidateQueries(trpc.compute.donorStats.queryFilter({ deviceId })),
  });

  const changePrefs = (next: DonorPrefs) => {
    const normal = normalizePrefs({ ...next, floorPrice: prefs.floorPrice });
    setPrefs(normal);
    savePrefs(normal);
    donor?.setPrefs(normal);
    // the memory offered is part of the donation: a change is posted at once while donating
    if (on && chosen && normal.memoryMb !== prefs.memoryMb) donate.mutate({ communityId: chosen.id, deviceId, on: true, floorPrice: normal.floorPrice, memoryMb: offeredMemory(normal.memoryMb) });
  };

  /** A new floor price is kept, and posted at once when the device is donating. */
  const commitFloor = () => {
    if (floorPrice === null || floorError || floorPrice === prefs.floorPrice) return;
    const normal = normalizePrefs({ ...prefs, floorPrice });
    setPrefs(normal);
    savePrefs(normal);
    if (on && chosen) donate.mutate({ communityId: chosen.id, deviceId, on: true, floorPrice: normal.floorPrice, memoryMb: offeredMemory(normal.memoryMb) });
  };

  const busy = toggle.isPending || !donor;
  const earned = stats.data?.earned ?? 0;
  return (
    <section className="card stack" data-testid="donate-panel" aria-labelledby="donate-title">
      <div className="row spread" style={{ alignItems: 'flex-start' }}>
        <div>
          <h2 id="donate-title" style={{ margin: 0 }}>Donate compute</h2>
          <p className="muted small" style={{ margin: '0.25rem 0 0' }}>
            Run other members&rsquo; jobs in the background and earn credits for every result that checks out.
          </p>
        </div>
        <Switch label="Donate" checked={on} disabled={busy || (!on && !chosen)} onChange={(v) => toggle.mutate(v)} />
      </div>

      <ErrorAlert error={toggle.error ?? donate.error} />
      {children}

      {communities.isSuccess && items.length === 0 ? (
        <div className="alert info">
          Donations are made in a community. <Link href="/communities">Join one</Link> first.
        </div>
      ) : (
        <>
          <label>
            Community
            <select value={chosen?.id ?? ''} disabled={on || busy} onChange={(e) => setCommunityId(e.target.value)}>
              {items.map((c) => (
                <option key={c.id} value={c.id}>{c.name}</option>
              ))}
            </select>
          </label>
          <label htmlFor="donate-floor">
            Floor price
            <span className="hint">The least a work unit must pay; jobs that pay less are left to others.</span>
            <span className="row">
              <input
                id="donate-floor"
                inputMode="decimal"
                value={floorText}
                aria-invalid={floorError ? true : undefined}
                aria-describedby={floorError ? 'donate-floor-error' : undefined}
                onChange={(e) => setFloorText(e.target.value)}
                onBlur={commitFloor}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') commitFloor();
                }}
                style={{ flex: 1, minWidth: 0 }}
              />
              <span className="muted" style={{ fontWeight: 400, whiteSpace: 'nowrap' }}>credits / unit</span>
            </span>
            {floorError ? <span className="field-error" id="donate-floor-error">{floorError}</span> : null}
          </label>
        </>
      )}

      {on ? (
        <div data-testid="donate-status" style={{ background: 'var(--bg)', borderRadius: 12, padding: '0.6rem 0.75rem' }}>
          <div className="row spread">
            <div className="row" style={{ flexWrap: 'wrap', gap: '0.4rem', minWidth: 0 }}>
              {status.state !== 'off' ? (
                <span className={STATE_PILL[status.state].className} style={status.state === 'idle' ? { background: '#e7e5e4' } : undefined}>
                  {STATE_PILL[status.state].text}
                </span>
              ) : null}
              <span className="muted small">{statusText(status, now)}</span>
            </div>
            <button
              type="button"
              className="button secondary"
              style={{ flex: 'none', minHeight: 44, padding: '0.35rem 1.1rem' }}
              onClick={() => (status.pausedByYou ? donor?.resume() : donor?.pause())}
            >
              {status.pausedByYou ? 'Resume' : 'Pause'}
            </button>
          </div>
          {status.current.length > 0 ? (
            <ul className="list" data-testid="donate-current" style={{ marginTop: '0.35rem' }}>
              {status.current.map((u) => (
                <li key={u.leaseId} className="row spread" style={{ padding: '0.4rem 0', borderColor: '#e0dedb' }}>
                  <span style={{ minWidth: 0 }}>
                    <strong>{kernelTitle(u.kernel)}</strong>
                    <span className="muted small"> · unit {u.unitIndex + 1} · job …{u.jobId.slice(-6)}</span>
                  </span>
                  <span className="muted small" style={{ fontVariantNumeric: 'tabular-nums' }}>{Math.max(0, Math.floor((now - u.startedAt) / 1000))} s</span>
                </li>
              ))}
            </ul>
          ) : null}
          {status.lastUnit && status.current.length === 0 ? (
            <p className="muted small" data-testid="donate-last" style={{ margin: '0.35rem 0 0' }}>
              Last: {kernelTitle(status.lastUnit.kernel)}, unit {status.lastUnit.unitIndex + 1}, {Math.round(status.lastUnit.ms)} ms in {ENGINE_TEXT[status.lastUnit.engine]}
              {RESULT_TEXT[status.lastUnit.status] && (status.lastUnit.status !== 'SUBMITTED' || (stats.data?.awaitingConfirmation ?? 0) > 0) ? (
                <> — <span data-testid="donate-last-verdict">{RESULT_TEXT[status.lastUnit.status]}</span></>
              ) : null}
            </p>
          ) : null}
          {status.lastError ? (
            <p className="small" role="status" style={{ color: 'var(--danger)', margin: '0.35rem 0 0' }}>{status.lastError}</p>
          ) : null}
        </div>
      ) : null}

      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(3, 1fr)', gap: '0.5rem' }}>
        <Figure label="Units done" value={String(status.unitsDone)} testId="donate-units-done" />
        <Figure label="Validated" value={String(stats.data?.validResults ?? 0)} testId="donate-validated" />
        <Figure label="Earned" value={formatCredits(earned)} unit="cr" testId="donate-earned" />
      </div>
      {stats.data && stats.data.awaitingConfirmation > 0 ? (
        <p className="small" style={{ margin: 0, color: '#92400e' }} data-testid="donate-awaiting">
          {stats.data.awaitingConfirmation} {stats.data.awaitingConfirmation === 1 ? 'result' : 'results'} done, awaiting confirmation by a second device: paid once confirmed.
        </p>
      ) : null}
      {stats.data && (stats.data.validResults > 0 || stats.data.awaitingConfirmation > 0 || stats.data.trusted) ? (
        <p className="muted small" style={{ margin: 0 }} data-testid="donate-trust">{trustText(stats.data)}</p>
      ) : null}
      {stats.data && stats.data.invalidResults > 0 ? (
        <p className="muted small" style={{ margin: 0 }}>{stats.data.invalidResults} results disagreed with other devices and were not paid.</p>
      ) : null}

      {on && chosen ? <MeasureSells deviceId={deviceId} communityId={chosen.id} floorPrice={prefs.floorPrice} memoryMb={offeredMemory(prefs.memoryMb)} /> : null}
      <Preferences prefs={prefs} cores={cores} onChange={changePrefs} />
    </section>
  );
}
