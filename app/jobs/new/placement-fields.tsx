'use client';

import { useQuery } from '@tanstack/react-query';
import { Field } from '../../_components/form';
import { useStoredDeviceId } from '../../content/_components/content-context';
import { useTRPC } from '../../_lib/trpc';

/** Where a job's code and data come from, and where its results go (server/compute/placement.ts). */
export type PlacementState = { codeItemId: string; dataItemId: string; count: string; keepFile: boolean; url: string; toDeviceId: string };
export const EMPTY_PLACEMENT: PlacementState = { codeItemId: '', dataItemId: '', count: '', keepFile: true, url: '', toDeviceId: '' };

/** The submitJob fields for this state (none when it says nothing beyond the defaults), or a message saying what to fix. */
export function placementInput(p: PlacementState, kernel: string): { source?: { codeItemId?: string; dataItemId?: string; count?: number }; results?: { keepFile: boolean; url?: string; toDeviceId?: string } } | string {
  const out: ReturnType<typeof placementInput> = {};
  const codeItemId = p.codeItemId.trim();
  const dataItemId = p.dataItemId.trim();
  if (kernel === 'custom' && (codeItemId || dataItemId)) {
    const count = Number(p.count);
    if (dataItemId && !(Number.isInteger(count) && count >= 1)) return 'Say how many inputs the data item holds (a whole number, one unit each).';
    out.source = { ...(codeItemId ? { codeItemId } : {}), ...(dataItemId ? { dataItemId, count } : {}) };
  }
  const url = p.url.trim();
  if (url || !p.keepFile || p.toDeviceId) out.results = { keepFile: p.keepFile, ...(url ? { url } : {}), ...(p.toDeviceId ? { toDeviceId: p.toDeviceId } : {}) };
  return out;
}

export function PlacementFields({ kernel, value, onChange }: { kernel: string; value: PlacementState; onChange: (next: PlacementState) => void }) {
  const set = (patch: Partial<PlacementState>) => onChange({ ...value, ...patch });
  const trpc = useTRPC();
  const devices = useQuery(trpc.device.list.queryOptions());
  const here = useStoredDeviceId();
  return (
    <fieldset className="stack" style={{ border: 0, padding: 0, margin: 0 }}>
      {kernel === 'custom' ? (
        <>
          <legend style={{ fontWeight: 600 }}>Code and data from the mesh (optional)</legend>
          <p className="muted small" style={{ margin: 0 }}>
            Name files you published in this community instead of pasting them: donors fetch them from your device and check their fingerprint before running.
          </p>
          <Field label="Code item id" name="codeItemId" hint="A JavaScript module exporting run(input); leave empty to use the code above" value={value.codeItemId} onChange={(e) => set({ codeItemId: e.target.value })} />
          <div className="grid2">
            <Field label="Data item id" name="dataItemId" hint="A JSON array of inputs" value={value.dataItemId} onChange={(e) => set({ dataItemId: e.target.value })} />
            <Field label="Inputs in it" name="count" inputMode="numeric" value={value.count} onChange={(e) => set({ count: e.target.value })} />
          </div>
        </>
      ) : null}
      <legend style={{ fontWeight: 600 }}>Where the results go</legend>
      <label className="row" style={{ minHeight: 48, gap: '0.75rem' }}>
        <input type="checkbox" checked={value.keepFile} onChange={(e) => set({ keepFile: e.target.checked })} style={{ width: 24, height: 24 }} />
        Keep them as one file to download from the job page
      </label>
      <label className="stack" style={{ gap: '0.25rem' }}>
        <span style={{ fontWeight: 500 }}>Send them to one of my devices</span>
        <select data-testid="results-device" aria-label="Send the results to one of my devices" value={value.toDeviceId} onChange={(e) => set({ toDeviceId: e.target.value })} style={{ minHeight: 48 }}>
          <option value="">No, not to a device</option>
          {(devices.data ?? []).map(({ device }) => (
            <option key={device.id} value={device.id}>
              {device.name}
              {device.id === here ? ' (this device)' : ''}
            </option>
          ))}
        </select>
        <span className="muted small">
          When the job completes, another of your devices that is online sends the results file to it directly (WebRTC), checked by its SHA-256. If it is offline, the file arrives when it comes back.
        </span>
      </label>
      <Field
        label="Results URL (optional)"
        name="resultsUrl"
        type="url"
        inputMode="url"
        hint="An http(s) address: the results file is POSTed there when the job completes, signed with a key shown on the job page, and retried if it fails"
        value={value.url}
        onChange={(e) => set({ url: e.target.value })}
      />
    </fieldset>
  );
}
