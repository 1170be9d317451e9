'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../_components/form';
import { money, unitPrice, when } from '../_lib/format';
import { parseCredits } from '../_lib/money';
import { encrypt, newKey, pack, prepareChallenges, sha256Hex, split, type BundleFile } from '../_lib/storage/bundle';
import { type PlanView, type StorageAgent } from '../_lib/storage/agent';
import { getStorageAgent } from '../_lib/storage/page-agent';
import { useTRPC } from '../_lib/trpc';
import { ContentShell, useContent, WithCommunity, type Community } from '../content/_components/content-context';
import { formatBytes } from '../content/_components/format';
import { challengesNeeded } from '@/server/storage/domain';

const KEY_PREFIX = 'swapmesh.storageKey.';

function useAgent(agent: StorageAgent) {
  return useSyncExternalStore(agent.subscribe, agent.getSnapshot, agent.getSnapshot);
}

const COPY_WORDS: Record<string, string> = {
  PENDING: 'copying',
  STORED: 'kept',
  MOVING: 'moving away',
  MOVED: 'moved',
  LOST: 'lost',
  ENDED: 'ended',
};

async function readFiles(list: FileList | null): Promise<BundleFile[]> {
  const files = [...(list ?? [])];
  return Promise.all(files.map(async (f) => ({ path: f.webkitRelativePath || f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

function StoreForm({ community, agent, onStored }: { community: Community; agent: StorageAgent; onStored: (planId: string, recoveryKey: string) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { deviceId } = useContent();
  const [files, setFiles] = useState<FileList | null>(null);
  const [folder, setFolder] = useState<FileList | null>(null);
  const [copies, setCopies] = useState('2');
  const [periodSeconds, setPeriodSeconds] = useState('3600');
  const [periods, setPeriods] = useState('24');
  const [maxPrice, setMaxPrice] = useState('0.01');
  const [step, setStep] = useState<string | null>(null);
  // from a storage contract's page (a barter's storage leg): keep the file under that contract, one copy, nothing more to pay
  const [contractId, setContractId] = useState<string | null>(null);
  useEffect(() => setContractId(new URLSearchParams(window.location.search).get('contract')), []);
  const held = useQuery({ ...trpc.contract.get.queryOptions({ contractId: contractId ?? '' }), enabled: !!contractId });
  const storeCall = useMutation(trpc.storage.store.mutationOptions());

  const store = useMutation({
    mutationFn: async () => {
      const chosen = [...(await readFiles(folder)), ...(await readFiles(files))];
      if (!chosen.length) throw new Error('Choose a file or a folder first.');
      const price = contractId ? 1 : parseCredits(maxPrice);
      if (price === null || price <= 0) throw new Error('Enter the most you pay per MB-hour, in credits.');
      const replicas = contractId ? 1 : Number(copies);
      const count = Number(periods);
      setStep('Encrypting on this device');
      const bundle = pack(chosen);
      const { key, recoveryKey } = await newKey();
      const { iv, ciphertext } = await encrypt(bundle, key);
      const shards = split(ciphertext);
      setStep('Preparing the proofs');
      const hashes = await Promise.all(shards.map((s) => sha256Hex(s)));
      const challenges = await prepareChallenges(shards, challengesNeeded(count, replicas));
      setStep('Finding room on other devices');
      const name = folder?.[0]?.webkitRelativePath.split('/')[0] || chosen[0]!.path;
      const plan = await storeCall.mutateAsync({
        communityId: community.id, deviceId, name: chosen.length > 1 && !folder?.length ? `${chosen.length} files` : name,
        meta: { iv, format: 'SMPK1', files: chosen.length, bytes: bundle.length },
        replicas, periodSeconds: Number(periodSeconds), periods: count, maxPrice: price,
        shards: shards.map((s, index) => ({ index, sizeBytes: s.length, sha256: hashes[index]! })),
        challenges,
        ...(contractId ? { contractId } : {}),
      });
      localStorage.setItem(KEY_PREFIX + plan.id, recoveryKey);
      await agent.keepForUpload(plan.shards.map((s) => ({ id: s.id, bytes: shards[s.index]! })));
      return { plan, recoveryKey };
    },
    onSuccess: async ({ plan, recoveryKey }) => {
      onStored(plan.id, recoveryKey);
      setFiles(null);
      setFolder(null);
      await queryClient.invalidateQueries(trpc.storage.pathFilter());
      await queryClient.invalidateQueries(trpc.ledger.pathFilter());
    },
    onSettled: () => setStep(null),
  });
  const errors = fieldErrors(store.error);

  return (
    <form
      className="card stack"
      onSubmit={(e) => {
        e.preventDefault();
        store.mutate();
      }}
    >
      <h2>Keep a file or folder on others’ devices</h2>
      <p className="muted">It is encrypted on this device first; only your devices hold the key. Each piece is kept by several members, who prove they still have it.</p>
      <label htmlFor="store-files">
        Files
        <input id="store-files" type="file" multiple onChange={(e) => setFiles(e.target.files)} />
      </label>
      <label htmlFor="store-folder">
        Or a folder
        <input id="store-folder" type="file" multiple {...{ webkitdirectory: '' }} onChange={(e) => setFolder(e.target.files)} />
      </label>
      {contractId ? (
        <p className="alert info" data-testid="store-under-contract">
          {held.data
            ? `Kept by @${held.data.seller.handle}'s device under your storage contract (${held.data.quantity.toLocaleString()} MB·hours), one copy: its escrow pays for the periods proven, nothing more is bought.`
            : 'Kept under your storage contract, one copy: its escrow pays for the periods proven.'}
        </p>
      ) : (
        <>
          <Field label="Copies" hint="members keeping each piece" name="copies" type="number" min={1} max={5} inputMode="numeric" value={copies} onChange={(e) => setCopies(e.target.value)} error={errors.replicas} />
          <Field label="Most you pay per MB-hour (credits)" name="maxPrice" inputMode="decimal" value={maxPrice} onChange={(e) => setMaxPrice(e.target.value)} error={errors.maxPrice} />
        </>
      )}
      <details>
        <summary>How long, and how often it is proven</summary>
        <div className="stack">
          <Field label="Proof period (seconds)" hint="each copy is challenged once per period" name="periodSeconds" type="number" min={10} inputMode="numeric" value={periodSeconds} onChange={(e) => setPeriodSeconds(e.target.value)} error={errors.periodSeconds} />
          <Field label="Periods" hint="how many periods to keep it" name="periods" type="number" min={1} max={1000} inputMode="numeric" value={periods} onChange={(e) => setPeriods(e.target.value)} error={errors.periods} />
        </div>
      </details>
      <ErrorAlert error={store.error} />
      {step ? <p className="muted" role="status">{step}…</p> : null}
      <button className="button block" type="submit" disabled={store.isPending}>
        {store.isPending ? 'Storing…' : 'Encrypt and store'}
      </button>
    </form>
  );
}

function RecoveryKey({ recoveryKey, onDone }: { recoveryKey: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="card stack" role="region" aria-label="Recovery key">
      <h2>Save your recovery key</h2>
      <p className="muted">To restore from another device you need this key. Swapmesh never sees it and cannot give it back.</p>
      <code data-testid="recovery-key" style={{ wordBreak: 'break-all', fontSize: '1rem' }}>{recoveryKey}</code>
      <div className="row">
        <button
          className="button secondary"
          type="button"
          onClick={() => void navigator.clipboard?.writeText(recoveryKey).then(() => setCopied(true), () => setCopied(false))}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
        <button className="button" type="button" onClick={onDone}>
          I saved it
        </button>
      </div>
    </div>
  );
}

function Restore({ plan, agent }: { plan: PlanView; agent: StorageAgent }) {
  const [key, setKey] = useState('');
  const [progress, setProgress] = useState<string | null>(null);
  useEffect(() => setKey(localStorage.getItem(KEY_PREFIX + plan.id) ?? ''), [plan.id]);
  const restore = useMutation({
    mutationFn: () => agent.restore(plan, key, (done, total) => setProgress(`${done} of ${total} pieces fetched and verified`)),
    onSettled: () => setProgress(null),
  });
  const links = useMemo(() => restore.data?.files.map((f) => ({ path: f.path, size: f.bytes.length, url: URL.createObjectURL(new Blob([f.bytes])) })) ?? [], [restore.data]);
  useEffect(() => () => links.forEach((l) => URL.revokeObjectURL(l.url)), [links]);
  return (
    <div className="stack">
      <Field label="Recovery key" name={`key-${plan.id}`} value={key} onChange={(e) => setKey(e.target.value)} autoComplete="off" />
      <button className="button secondary" type="button" disabled={!key.trim() || restore.isPending} onClick={() => restore.mutate()}>
        {restore.isPending ? 'Restoring…' : 'Restore here'}
      </button>
      {progress ? <p className="muted" role="status">{progress}</p> : null}
      <ErrorAlert error={restore.error} />
      {restore.data ? (
        <div className="alert info" role="status">
          Restored {restore.data.files.length} {restore.data.files.length === 1 ? 'file' : 'files'}, verified. Fingerprint (SHA-256):{' '}
          <code data-testid="restored-sha256" style={{ wordBreak: 'break-all' }}>{restore.data.sha256}</code>
          <ul className="list">
            {links.map((l) => (
              <li key={l.path}>
                <a href={l.url} download={l.path.split('/').pop()}>{l.path}</a> <span className="muted">{formatBytes(l.size)}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </div>
  );
}

function PlanCard({ plan, agent }: { plan: PlanView; agent: StorageAgent }) {
  const [open, setOpen] = useState(false);
  const copies = plan.shards.flatMap((s) => s.copies);
  const kept = plan.shards.filter((s) => s.copies.some((c) => c.status === 'STORED' || c.status === 'MOVING')).length;
  const fully = plan.shards.filter((s) => s.copies.filter((c) => c.status === 'STORED' || c.status === 'MOVING').length >= plan.replicas).length;
  const passed = copies.reduce((n, c) => n + c.passed, 0);
  const failed = copies.reduce((n, c) => n + c.failed, 0);
  return (
    <li data-testid="storage-plan" data-plan-id={plan.id}>
      <div className="row spread">
        <strong>{plan.name}</strong>
        <span className="pill">{plan.status === 'ACTIVE' ? 'kept' : 'ended'}</span>
      </div>
      <p className="muted">
        {formatBytes(plan.sizeBytes)} in {plan.shards.length} {plan.shards.length === 1 ? 'piece' : 'pieces'}, {plan.replicas} copies each · until {when(plan.windowEnd)}
      </p>
      <p data-testid="plan-summary">
        {fully} of {plan.shards.length} pieces fully copied{kept < plan.shards.length ? ` · ${plan.shards.length - kept} not yet kept anywhere` : ''} · proofs passed {passed}
        {failed ? `, failed or missed ${failed}` : ''}
      </p>
      <details>
        <summary>Where it is</summary>
        <ul className="list">
          {plan.shards.map((s) => (
            <li key={s.id}>
              Piece {s.index + 1} <span className="muted">({formatBytes(s.sizeBytes)})</span>
              <ul>
                {s.copies.map((c) => (
                  <li key={c.placementId} data-testid="copy">
                    @{c.seller.handle}: {COPY_WORDS[c.status] ?? c.status.toLowerCase()}
                    {c.online ? '' : ' (offline)'} · proofs {c.passed} passed{c.failed ? `, ${c.failed} failed` : ''}
                    {c.repair === 'WANTED' && c.repairNote ? <span className="muted"> · {c.repairNote}</span> : null}
                  </li>
                ))}
              </ul>
            </li>
          ))}
        </ul>
      </details>
      {open ? (
        <Restore plan={plan} agent={agent} />
      ) : (
        <button className="button secondary" type="button" onClick={() => setOpen(true)}>
          Restore…
        </button>
      )}
    </li>
  );
}

function Lending({ community, agent }: { community: Community; agent: StorageAgent }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { deviceId } = useContent();
  const view = useQuery(trpc.storage.lending.queryOptions({ deviceId }, { refetchInterval: 10_000 }));
  const snapshot = useAgent(agent);
  const [mb, setMb] = useState('1000');
  const [hours, setHours] = useState('720');
  const [price, setPrice] = useState('0.01');
  const refresh = () => Promise.all([queryClient.invalidateQueries(trpc.storage.pathFilter()), queryClient.invalidateQueries(trpc.ledger.pathFilter())]);
  const lend = useMutation(trpc.storage.lend.mutationOptions({ onSuccess: refresh }));
  const stop = useMutation(trpc.storage.stopLending.mutationOptions({ onSuccess: refresh }));
  const data = view.data;
  const errors = fieldErrors(lend.error);
  return (
    <section className="card stack" aria-labelledby="lending-title">
      <h2 id="lending-title">What this device lends</h2>
      {data ? (
        <>
          <p data-testid="lending-summary">
            Keeps {data.copies.length} {data.copies.length === 1 ? 'piece' : 'pieces'} ({formatBytes(data.keptBytes)}) for others · proofs passed {data.proofs.passed}
            {data.proofs.failed ? `, failed or missed ${data.proofs.failed}` : ''}
          </p>
          {data.asks.length ? (
            <ul className="list">
              {data.asks.map((a) => (
                <li key={a.orderId}>
                  Offering {a.remainingMbHours.toLocaleString()} of {a.mbHours.toLocaleString()} MB-hours at {unitPrice(a.price)} per MB-hour, until {when(a.windowEnd)}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">Not lending room now.</p>
          )}
        </>
      ) : null}
      <p className="muted">
        This session: {snapshot.fetched} pieces taken in, {snapshot.answered} challenges answered, {snapshot.served} pieces sent.
        {snapshot.activity.length ? ` ${snapshot.activity[0]}.` : ''}
      </p>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const micro = parseCredits(price);
          lend.mutate({ communityId: community.id, deviceId, mb: Number(mb), hours: Number(hours), price: micro ?? 0 });
        }}
      >
        <Field label="Room to lend (MB)" name="mb" type="number" min={1} inputMode="numeric" value={mb} onChange={(e) => setMb(e.target.value)} error={errors.mb} />
        <Field label="For (hours)" name="hours" type="number" min={1} inputMode="numeric" value={hours} onChange={(e) => setHours(e.target.value)} error={errors.hours} />
        <Field label="Price per MB-hour (credits)" name="price" inputMode="decimal" value={price} onChange={(e) => setPrice(e.target.value)} error={errors.price} />
        <ErrorAlert error={lend.error} />
        <button className="button block" type="submit" disabled={lend.isPending}>
          Lend room
        </button>
      </form>
      {data && (data.asks.length > 0 || data.copies.length > 0) ? (
        <button
          className="button danger block"
          type="button"
          disabled={stop.isPending}
          onClick={() => {
            if (window.confirm('Stop lending? The pieces this device keeps are copied to other members first, then released.')) stop.mutate({ deviceId });
          }}
        >
          Stop lending
        </button>
      ) : null}
      {stop.data ? <p role="status">Stopped: {stop.data.copiesMoving} pieces are moving to other members.</p> : null}
      <ErrorAlert error={stop.error} />
    </section>
  );
}

function StorageScreen({ community }: { community: Community }) {
  const trpc = useTRPC();
  const { deviceId } = useContent();
  const agent = getStorageAgent(deviceId);
  useEffect(() => agent.start(), [agent]);
  const plans = useQuery(trpc.storage.plans.queryOptions(undefined, { refetchInterval: 5_000 }));
  const balance = useQuery(trpc.ledger.balance.queryOptions({ communityId: community.id }));
  const [fresh, setFresh] = useState<string | null>(null);
  return (
    <>
      <h1>Storage</h1>
      {balance.data ? (
        <p className="muted">
          Available {money(balance.data.available)} · in escrow {money(balance.data.escrow)} credits
        </p>
      ) : null}
      {fresh ? <RecoveryKey recoveryKey={fresh} onDone={() => setFresh(null)} /> : null}
      <StoreForm community={community} agent={agent} onStored={(_id, key) => setFresh(key)} />
      <section className="card" aria-labelledby="stored-title">
        <h2 id="stored-title">What I store</h2>
        {plans.data?.length ? (
          <ul className="list">
            {plans.data.map((p) => (
              <PlanCard key={p.id} plan={p} agent={agent} />
            ))}
          </ul>
        ) : (
          <p className="muted">Nothing yet.</p>
        )}
      </section>
      <Lending community={community} agent={agent} />
    </>
  );
}

export default function StoragePage() {
  return <ContentShell>{<WithCommunity>{(community) => <StorageScreen community={community} />}</WithCommunity>}</ContentShell>;
}
