'use client';

import { useMutation } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useEffect, useRef, useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../../_components/form';
import { parseCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';
import { useContent, WithCommunity, type Community } from '../_components/content-context';
import { FilePicker, ImportProgress, useFileImport } from '../_components/file-import';
import { formatBytes, normalizeMediaType, titleFromName } from '../_components/format';
import styles from '../content.module.css';

/** Where the service worker leaves a file shared to Swapmesh from another app (see app/share-target/route.ts). */
const SHARE_CACHE = 'swapmesh-share';
const SHARE_KEY = '/share-target/file';

async function takeSharedFile(): Promise<File | null> {
  if (typeof caches === 'undefined') return null;
  const cache = await caches.open(SHARE_CACHE);
  const response = await cache.match(SHARE_KEY);
  if (!response) return null;
  const blob = await response.blob();
  const name = decodeURIComponent(response.headers.get('x-file-name') ?? 'shared-file');
  return new File([blob], name, { type: response.headers.get('content-type') ?? '' });
}

async function dropSharedFile() {
  if (typeof caches !== 'undefined') await (await caches.open(SHARE_CACHE)).delete(SHARE_KEY);
}

function Publish({ community }: { community: Community }) {
  const trpc = useTRPC();
  const router = useRouter();
  const params = useSearchParams();
  const { deviceId } = useContent();
  const importer = useFileImport();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [audience, setAudience] = useState('');
  const [purpose, setPurpose] = useState('');
  const [environment, setEnvironment] = useState('');
  const [mediaType, setMediaType] = useState('');
  const [mode, setMode] = useState<'GIFT' | 'CREDITS'>('GIFT');
  const [price, setPrice] = useState('');
  const [priceError, setPriceError] = useState<string | null>(null);
  const [sharedNote, setSharedNote] = useState<string | null>(null);
  const sharedTried = useRef(false);

  const pick = async (file: File) => {
    setTitle(titleFromName(file.name));
    setMediaType(normalizeMediaType(file.type));
    return importer.run(file);
  };

  const shared = params.get('shared');
  useEffect(() => {
    if (!shared || sharedTried.current) return;
    sharedTried.current = true;
    if (shared !== '1') {
      setSharedNote('The shared file did not reach Swapmesh: open the app once, then share again — or pick the file here.');
      return;
    }
    void takeSharedFile().then(async (file) => {
      if (!file) return setSharedNote('The shared file is no longer here: pick it below.');
      setSharedNote(`Shared from another app: ${file.name}`);
      if (await pick(file)) await dropSharedFile();
    });
  }, [shared]); // eslint-disable-line react-hooks/exhaustive-deps

  const publish = useMutation(
    trpc.content.publish.mutationOptions({
      onSuccess: (item) => router.push(`/content/items/${item.id}?published=1`),
    }),
  );
  const errors = fieldErrors(publish.error);
  const imported = importer.imported;

  return (
    <>
      <h1>Offer a file</h1>
      {sharedNote ? <div className="alert info">{sharedNote}</div> : null}
      {!imported ? (
        <div className="card stack">
          {importer.progress ? <ImportProgress progress={importer.progress} /> : <FilePicker onFile={(f) => void pick(f)} />}
          {importer.error ? <div className="alert error" role="alert">{importer.error}</div> : null}
          <p className="muted small" style={{ margin: 0 }}>
            Swapmesh fingerprints the file (a SHA-256 for every 64 kB) so that whoever copies it can check every piece as it arrives.
          </p>
        </div>
      ) : (
        <form
          className="card stack"
          onSubmit={(e) => {
            e.preventDefault();
            let pricing: { mode: 'GIFT' } | { mode: 'CREDITS'; price: number } = { mode: 'GIFT' };
            if (mode === 'CREDITS') {
              const micro = parseCredits(price);
              if (!micro) return setPriceError('Enter a price in credits, like 2 or 0.5.');
              pricing = { mode: 'CREDITS', price: micro };
            }
            setPriceError(null);
            const { manifest } = imported;
            publish.mutate({
              communityId: community.id,
              deviceId,
              header: {
                title,
                description,
                audience,
                purpose,
                environment,
                mediaType,
                sizeBytes: manifest.sizeBytes,
                sha256: manifest.sha256,
                chunkSize: manifest.chunkSize,
                chunkHashes: manifest.chunkHashes,
              },
              pricing,
            });
          }}
        >
          <div className="row spread">
            <div>
              <strong>{imported.file.name}</strong>
              <div className="muted small">
                {formatBytes(imported.manifest.sizeBytes)} · {imported.manifest.chunkHashes.length} chunks · SHA-256{' '}
                <span className={styles.mono} data-testid="published-sha">{imported.manifest.sha256.slice(0, 12)}…</span>
              </div>
            </div>
            <button type="button" className="button secondary" onClick={importer.reset}>Change</button>
          </div>
          <ErrorAlert error={publish.error && !Object.keys(errors).length ? publish.error : null} />
          <Field label="Title" name="title" value={title} onChange={(e) => setTitle(e.target.value)} maxLength={120} required error={errors['header.title'] ?? errors.title} />
          <label htmlFor="description">
            Description
            <textarea id="description" className={styles.textarea} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={2000} />
          </label>
          <Field label="Audience" hint="Who is it for? (students, cyclists, everyone…)" name="audience" value={audience} onChange={(e) => setAudience(e.target.value)} maxLength={200} />
          <Field label="Purpose" hint="What is it for?" name="purpose" value={purpose} onChange={(e) => setPurpose(e.target.value)} maxLength={200} />
          <Field label="Environment" hint="What it needs to open or run (Android 12, VLC, a PDF reader…)" name="environment" value={environment} onChange={(e) => setEnvironment(e.target.value)} maxLength={200} />
          <Field label="Media type" name="mediaType" value={mediaType} onChange={(e) => setMediaType(e.target.value)} maxLength={100} error={errors['header.mediaType']} />
          <div className="segmented" role="group" aria-label="Pricing">
            <button type="button" aria-pressed={mode === 'GIFT'} onClick={() => setMode('GIFT')}>Free (gift)</button>
            <button type="button" aria-pressed={mode === 'CREDITS'} onClick={() => setMode('CREDITS')}>For credits</button>
          </div>
          {mode === 'CREDITS' ? (
            <Field
              label="Price (credits)"
              name="price"
              inputMode="decimal"
              value={price}
              onChange={(e) => setPrice(e.target.value)}
              error={priceError ? [priceError] : errors['pricing.price']}
              hint="Paid into escrow when someone requests it, released to you once their copy checks out."
            />
          ) : null}
          <button className="button block" type="submit" disabled={publish.isPending}>
            {publish.isPending ? 'Publishing…' : `Offer in ${community.name}`}
          </button>
        </form>
      )}
    </>
  );
}

export default function PublishPage() {
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <WithCommunity>{(community) => <Publish community={community} />}</WithCommunity>
    </Suspense>
  );
}
