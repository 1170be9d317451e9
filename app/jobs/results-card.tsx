'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorAlert } from '../_components/form';
import { whenShort } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';

const short = (sha: string | null) => (sha ? `${sha.slice(0, 12)}…` : '');
const STATUS_TEXT: Record<string, string> = { PENDING: 'Sending', DELIVERED: 'Delivered', FAILED: 'Gave up' };
const TO_DEVICE_TEXT: Record<string, string> = { WAITING: 'When the job completes', PENDING: 'Waiting for another of your devices', OFFERED: 'On its way', DELIVERED: 'Delivered, fingerprint checked' };
const TO_DEVICE_HINT: Record<string, string> = {
  WAITING: 'Another of your devices sends the results file to it directly.',
  PENDING: 'Open Swapmesh on another of your devices (not the one receiving): it fetches the file and sends it.',
  OFFERED: 'It copies as soon as both devices are online; the receiving device checks the SHA-256 of every part and of the whole file.',
  DELIVERED: 'The device checked the whole file against its SHA-256 and keeps it in its Files.',
};

/** The owner's view of where the job's code and data come from and where its results go, with every delivery attempt. */
export function ResultsCard({ jobId, open }: { jobId: string; open: boolean }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const placement = useQuery({
    ...trpc.compute.placement.queryOptions({ jobId }),
    // while the job runs, and after it until its results URL has an answer
    refetchInterval: (q) => {
      const d = q.state.data;
      return open || (d?.resultsUrl && (!d.delivery || d.delivery.status === 'PENDING')) || (d?.toDevice && d.toDevice.status !== 'DELIVERED') ? 2_000 : false;
    },
  });
  // the job's end makes the file ready at once, not at the next poll
  const refetch = placement.refetch;
  useEffect(() => {
    if (!open) void refetch();
  }, [open, refetch]);
  const send = useMutation({ ...trpc.compute.sendResults.mutationOptions(), onSettled: () => queryClient.invalidateQueries(trpc.compute.placement.queryFilter({ jobId })) });
  const [showKey, setShowKey] = useState(false);
  if (!placement.data) return placement.isError ? <ErrorAlert error={placement.error} /> : null;
  const p = placement.data;
  const d = p.delivery;
  return (
    <div className="card stack" data-testid="job-results">
      {p.codeItem || p.dataItem ? (
        <>
          <h2 style={{ margin: 0 }}>From the mesh</h2>
          {[['Code', p.codeItem], ['Data', p.dataItem]].map(([label, item]) =>
            item && typeof item === 'object' ? (
              <p key={label as string} className="small" style={{ margin: 0 }} data-testid={`job-source-${(label as string).toLowerCase()}`}>
                {label as string}: item <code>{item.itemId}</code> · SHA-256 <code>{short(item.sha256)}</code>
                {item.mismatchReports > 0 ? <strong style={{ color: 'var(--danger)' }}> · {item.mismatchReports} {item.mismatchReports === 1 ? 'donor' : 'donors'} got other bytes</strong> : null}
              </p>
            ) : null,
          )}
          <p className="muted small" style={{ margin: 0 }}>Donors fetch these from your device and check the SHA-256 before running: keep the device online while the job runs.</p>
        </>
      ) : null}
      <h2 style={{ margin: 0 }}>Where the results go</h2>
      {p.keepFile ? (
        p.fileReady ? (
          <a className="button block" href={`/api/compute/results/${encodeURIComponent(jobId)}`} download data-testid="results-download">Download the results file</a>
        ) : (
          <p className="muted small" style={{ margin: 0 }}>The results file can be downloaded here once every unit is validated.</p>
        )
      ) : (
        <p className="muted small" style={{ margin: 0 }}>Not kept for download: the results go only to the places below.</p>
      )}
      {p.toDevice ? (
        <div className="stack" style={{ gap: '0.25rem' }} data-testid="results-to-device">
          <p className="small" style={{ margin: 0 }}>
            Sent to your device <strong>{p.toDevice.deviceName}</strong> over WebRTC
          </p>
          <p style={{ margin: 0 }}>
            <strong data-testid="results-device-status">{TO_DEVICE_TEXT[p.toDevice.status ?? 'WAITING']}</strong>
            {p.toDevice.status === 'DELIVERED' && p.toDevice.deliveredAt ? ` ${whenShort(p.toDevice.deliveredAt)}` : ''}
            {p.toDevice.senderName && p.toDevice.status !== 'PENDING' ? ` · from ${p.toDevice.senderName}` : ''}
          </p>
          <p className="muted small" style={{ margin: 0 }}>{TO_DEVICE_HINT[p.toDevice.status ?? 'WAITING']}</p>
          {p.toDevice.sha256 ? <p className="muted small" style={{ margin: 0 }}>SHA-256 <code>{short(p.toDevice.sha256)}</code></p> : null}
        </div>
      ) : null}
      {p.resultsUrl ? (
        <>
          <p className="small" style={{ margin: 0, overflowWrap: 'anywhere' }}>
            Sent to <code data-testid="results-url">{p.resultsUrl}</code>
          </p>
          <p className="muted small" style={{ margin: 0 }}>
            Each POST carries <code>x-swapmesh-timestamp</code> and <code>x-swapmesh-signature: sha256=HMAC(key, timestamp + &quot;.&quot; + body)</code>.
          </p>
          <button type="button" className="button secondary block" onClick={() => setShowKey(!showKey)} data-testid="results-key-toggle">{showKey ? 'Hide the signing key' : 'Show the signing key'}</button>
          {showKey ? <code className="small" style={{ overflowWrap: 'anywhere' }} data-testid="results-key">{p.secret}</code> : null}
          {d ? (
            <div className="stack" data-testid="results-delivery">
              <p style={{ margin: 0 }}>
                <strong data-testid="results-delivery-status">{STATUS_TEXT[d.status] ?? d.status}</strong>
                {d.status === 'DELIVERED' && d.deliveredAt ? ` ${whenShort(d.deliveredAt)}` : ''}
                {d.status === 'PENDING' && d.nextAttemptAt && d.attempts > 0 ? ` · next try ${whenShort(d.nextAttemptAt)}` : ''}
                {` · ${d.attempts} ${d.attempts === 1 ? 'attempt' : 'attempts'}`}
              </p>
              <ol className="small" style={{ margin: 0, paddingLeft: '1.2rem' }}>
                {d.log.map((a) => (
                  <li key={a.attempt} data-testid="results-attempt">
                    {whenShort(a.at)} — {a.ok ? `accepted (${a.httpStatus})` : a.error ?? 'failed'}
                  </li>
                ))}
              </ol>
              {d.status !== 'DELIVERED' ? (
                <button type="button" className="button secondary block" disabled={send.isPending} onClick={() => send.mutate({ jobId })}>{send.isPending ? 'Sending…' : 'Send now'}</button>
              ) : null}
              <ErrorAlert error={send.error} />
            </div>
          ) : (
            <p className="muted small" style={{ margin: 0 }}>Sent when the job completes.</p>
          )}
        </>
      ) : null}
    </div>
  );
}
