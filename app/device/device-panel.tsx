'use client';

import Link from 'next/link';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { ErrorAlert, Field } from '../_components/form';
import { unitPrice, whenShort } from '../_lib/format';
import { useTRPC } from '../_lib/trpc';
import dynamic from 'next/dynamic';
import { useAveragedValuation } from './use-measurements';
import { ValuationChart } from './valuation-chart';
import { roundForDisplay } from './valuation-figures';
import { WaitingJobs } from './waiting-jobs';

const DEVICE_ID_KEY = 'swapmesh.deviceId';

// the donor loop (compute pool, kernels, WebRTC for mesh code) and the benchmark load with the screen's use of them
const DonatePanel = dynamic(() => import('./donate-panel').then((m) => m.DonatePanel), {
  ssr: false,
  loading: () => <div className="card" style={{ minHeight: 160 }} aria-busy="true" />,
});

function defaultDeviceName(): string {
  const ua = navigator.userAgent;
  if (/Android/i.test(ua)) return 'My Android phone';
  if (/iPhone|iPad/i.test(ua)) return 'My iPhone';
  if (/Mac OS X/i.test(ua)) return 'My Mac';
  if (/Windows/i.test(ua)) return 'My Windows PC';
  return 'This browser';
}

/** This device: its measurement and valuation, donation and the member's other devices. */
export function DevicePanel() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [deviceId, setDeviceId] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [step, setStep] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    setDeviceId(localStorage.getItem(DEVICE_ID_KEY));
    setName((current) => current || defaultDeviceName());
    return () => abort.current?.abort();
  }, []);

  const devices = useQuery(trpc.device.list.queryOptions());
  const thisDevice = devices.data?.find((d) => d.device.id === deviceId) ?? null;
  useEffect(() => {
    if (thisDevice) setName(thisDevice.device.name);
  }, [thisDevice?.device.id]); // eslint-disable-line react-hooks/exhaustive-deps

  const register = useMutation(trpc.device.register.mutationOptions());
  const measureAndRegister = useMutation({
    mutationFn: async () => {
      abort.current?.abort();
      abort.current = new AbortController();
      const { measureProfile } = await import('./measure-profile');
      const profile = await measureProfile({ signal: abort.current.signal, onStep: setStep });
      setStep('Valuing with the coordinator');
      const known = thisDevice ? thisDevice.device.id : undefined;
      return register.mutateAsync({ deviceId: known, name: name.trim() || defaultDeviceName(), profile });
    },
    onSuccess: async (result) => {
      localStorage.setItem(DEVICE_ID_KEY, result.device.id);
      setDeviceId(result.device.id);
      await queryClient.invalidateQueries(trpc.device.pathFilter());
    },
    onSettled: () => setStep(null),
  });

  const shown = measureAndRegister.data ?? thisDevice;
  const averaged = useAveragedValuation(shown);
  const measureForm = (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        measureAndRegister.mutate();
      }}
    >
      {thisDevice ? <h2 style={{ margin: 0 }}>Measure again</h2> : <h1>This device</h1>}
      <p className="muted" style={{ margin: 0 }}>
        Swapmesh measures what this device can offer — processor, memory, storage, screen and sensors, network —
        and the coordinator values it. Nothing leaves the device but the figures.
      </p>
      <ErrorAlert error={measureAndRegister.error} />
      <Field label="Device name" name="deviceName" value={name} onChange={(e) => setName(e.target.value)} maxLength={60} />
      <button className="button block" type="submit" disabled={measureAndRegister.isPending}>
        {measureAndRegister.isPending ? step ?? 'Measuring…' : thisDevice ? 'Measure again' : 'Measure and register'}
      </button>
      {measureAndRegister.isPending ? <p className="muted small center" role="status">{step}</p> : null}
    </form>
  );
  return (
    <>
      {thisDevice ? <h1 style={{ margin: '0 0 0.75rem' }}>{thisDevice.device.name}</h1> : measureForm}

      {thisDevice ? (
        <DonatePanel deviceId={thisDevice.device.id}>
          <WaitingJobs />
        </DonatePanel>
      ) : null}

      {shown && averaged ? (
        <div className="card" data-testid="valuation">
          <div className="row spread">
            <h2 style={{ margin: 0 }}>Worth per hour</h2>
            <strong data-testid="total-per-hour">{unitPrice(roundForDisplay(averaged.totalPerHour))} credits</strong>
          </div>
          <p className="muted small" data-testid="valuation-basis" style={{ margin: '0.35rem 0 0.5rem' }}>
            {averaged.count === 1
              ? `From 1 measurement (${whenShort(averaged.latestAt!)}). Measure again now and then: the figures become the median of your last measurements, so one slow or fast run does not move them.`
              : `Median of your last ${averaged.count} measurements (the newest ${whenShort(averaged.latestAt!)}); single runs gave ${unitPrice(roundForDisplay(averaged.range!.low))} to ${unitPrice(roundForDisplay(averaged.range!.high))} credits/h.`}{' '}
            At the default rates.
          </p>
          <ValuationChart averaged={averaged} />
        </div>
      ) : null}

      {thisDevice ? measureForm : null}

      <div className="card stack">
        <h2 style={{ margin: 0 }}>Camera, microphone and screen</h2>
        <p className="muted small" style={{ margin: 0 }}>
          Rent them out by the hour, or rent another member&apos;s: they stream live to the buyer, who pays for the seconds received.
        </p>
        <Link className="button secondary block" href="/peripherals">
          Peripheral rentals
        </Link>
      </div>

      <div className="card stack">
        <h2 style={{ margin: 0 }}>Broadcasts</h2>
        <p className="muted small" style={{ margin: 0 }}>
          Go live with your camera to a community, watch others, and earn by relaying the stream to other viewers.
        </p>
        <Link className="button secondary block" href="/broadcast">
          Broadcasts
        </Link>
      </div>

      <div className="card stack">
        <h2 style={{ margin: 0 }}>Page views</h2>
        <p className="muted small" style={{ margin: 0 }}>
          Load verified sites&apos; pages for their owners and earn per view, or order views of your own site to see how fast it loads.
        </p>
        <Link className="button secondary block" href="/pageviews">
          Page views
        </Link>
      </div>

      {devices.data && devices.data.some((d) => d.device.id !== deviceId) ? (
        <div className="card">
          <h2>Your other devices</h2>
          <ul className="list">
            {devices.data
              .filter((d) => d.device.id !== deviceId)
              .map((d) => (
                <li key={d.device.id} className="row spread">
                  <span>{d.device.name}</span>
                  <span className="muted">{unitPrice(roundForDisplay(d.totalPerHour))} credits/h</span>
                </li>
              ))}
          </ul>
        </div>
      ) : null}
    </>
  );
}
