'use client';

import Link from 'next/link';
import { useState } from 'react';
import type { HomeInbox } from '@/server/home/inbox';
import { ErrorAlert, Field, fieldErrors } from '@/app/_components/form';
import { money } from '@/app/_lib/format';
import { slugify, useCreateCommunity } from '@/app/communities/create-community';
import styles from './home.module.css';


/** An address for a new community from its name (at least 3 characters). */
function slugFor(name: string): string {
  const slug = slugify(name);
  return slug.length >= 3 ? slug : `${slug || 'community'}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Creates a community from Home with the usual settings (2% commission, 100 credits to each new member). */
export function QuickCreate() {
  const [name, setName] = useState('');
  const [inviteOnly, setInviteOnly] = useState(true);
  const create = useCreateCommunity();
  const errors = fieldErrors(create.error);
  return (
    <form
      id="create-community"
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        create.mutate({ name, slug: slugFor(name), commissionBps: 200, startingGrant: 100_000_000, inviteOnly });
      }}
    >
      <ErrorAlert error={errors.name || errors.slug ? null : create.error} />
      <Field
        label="Community name"
        name="community-name"
        hint="Your street, club or family"
        value={name}
        onChange={(e) => setName(e.target.value)}
        error={errors.name ?? errors.slug}
        required
      />
      <label className="check">
        <input type="checkbox" checked={inviteOnly} onChange={(e) => setInviteOnly(e.target.checked)} />
        Only people I invite (by link or QR code)
      </label>
      <p className="muted small" style={{ margin: 0 }}>
        Each new member gets 100 credits to start; 2% of each trade goes to the community. You can change both later.
      </p>
      <button className="button block" type="submit" disabled={create.isPending || name.trim().length < 2}>
        {create.isPending ? 'Creating…' : 'Create and invite people'}
      </button>
    </form>
  );
}

type Device = HomeInbox['earned']['devices'][number];

/** What one credit buys, from this member's own device where it has been measured. */
function CreditWorth({ devices }: { devices: Device[] }) {
  const perHour = devices.find((d) => d.computePerHour !== null)?.computePerHour ?? null;
  const minutes = perHour ? Math.round((60 * 1_000_000) / perHour) : null;
  return (
    <p className={styles.credit} data-testid="credit-worth">
      <strong>What a credit buys.</strong> Credits are a community’s money: your devices earn them by computing, storing or
      sending for others, and you spend them on what other members’ devices do for you. Members set the prices on the market.
      {perHour && minutes ? (
        <>
          {' '}At the standard rates an hour of your {devices[0]?.name ?? 'device'}’s computing is worth {money(perHour)} credits, so{' '}
          <strong>1 credit buys about {minutes >= 120 ? `${Math.round(minutes / 60)} hours` : `${minutes} minutes`}</strong> of a device like it.
        </>
      ) : null}
    </p>
  );
}

/** The first steps, in order, each ticked off when done: measure, join or create, then donate, trade or swap. */
export function Onboarding({ steps, devices, offline }: { steps: HomeInbox['steps']; devices: Device[]; offline: boolean }) {
  const [creating, setCreating] = useState(false);
  const step = (done: boolean) => (done ? styles.done : undefined);
  return (
    <section className="card" aria-labelledby="start-heading" data-testid="onboarding">
      <h2 id="start-heading">Get started</h2>
      <ol className={styles.steps}>
        <li className={step(steps.measured)} data-done={steps.measured}>
          <span className={styles.number} aria-hidden="true">{steps.measured ? '✓' : 1}</span>
          <div>
            <span className={styles.stepTitle}>Measure this device</span>
            <span className="muted small">A one-minute test of what it has spare, and what that is worth.</span>
            {steps.measured || offline ? null : (
              <div className={styles.actions}>
                <Link className="button" href="/device">Measure now</Link>
              </div>
            )}
          </div>
        </li>
        <li className={step(steps.joined)} data-done={steps.joined}>
          <span className={styles.number} aria-hidden="true">{steps.joined ? '✓' : 2}</span>
          <div>
            <span className={styles.stepTitle}>Join or create a community</span>
            <span className="muted small">Neighbours, a club, a family: you trade with its members.</span>
            {steps.joined || offline ? null : (
              <>
                <div className={styles.actions}>
                  <Link className={`button${steps.measured ? '' : ' secondary'}`} href="/communities">Find one</Link>
                  <button className="button secondary" type="button" aria-expanded={creating} onClick={() => setCreating((c) => !c)}>
                    Create one
                  </button>
                </div>
                {creating ? <div style={{ marginTop: '0.75rem' }}><QuickCreate /></div> : null}
              </>
            )}
          </div>
        </li>
        <li className={step(steps.started)} data-done={steps.started}>
          <span className={styles.number} aria-hidden="true">{steps.started ? '✓' : 3}</span>
          <div>
            <span className={styles.stepTitle}>Donate, trade or swap</span>
            <span className="muted small">Let this device compute while it charges, buy or sell on the market, or swap files with people nearby.</span>
            {steps.started || offline || !steps.joined ? null : (
              <div className={styles.actions}>
                <Link className="button" href="/device">Donate</Link>
                <Link className="button secondary" href="/market">Trade</Link>
                <Link className="button secondary" href="/content">Swap files</Link>
              </div>
            )}
          </div>
        </li>
      </ol>
      <CreditWorth devices={devices} />
    </section>
  );
}
