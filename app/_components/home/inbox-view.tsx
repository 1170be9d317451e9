'use client';

import Link from 'next/link';
import type { HomeInbox } from '@/server/home/inbox';
import { formatBytes } from '@/app/content/_components/format';
import { money, unitPrice, whenShort } from '@/app/_lib/format';
import { categoryWord, quantityText, unitName } from '@/app/_lib/units';
import { Onboarding } from './onboarding';
import styles from './home.module.css';
import { LastKnownMark } from '../last-known-mark';

const ICONS = {
  deliver: 'M3 7l9-4 9 4-9 4-9-4zm0 0v10l9 4 9-4V7M12 11v10',
  signoff: 'M4 12l5 5L20 6',
  negotiation: 'M7 7h11l-3-3m3 13H6l3 3',
  gift: 'M4 11h16v9H4zM3 7h18v4H3zm9 0v13M12 7c-1.5-3-5-3-5-1s3 1 5 1zm0 0c1.5-3 5-3 5-1s-3 1-5 1z',
  barter: 'M20 11a8 8 0 0 0-14.3-4.9L4 8m0-4v4h4M4 13a8 8 0 0 0 14.3 4.9L20 16m0 4v-4h-4',
};

function Icon({ d, className }: { d: string; className?: string }) {
  return (
    <svg viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" className={className}>
      <path d={d} />
    </svg>
  );
}

function Item({ href, kind, title, sub, testId }: { href: string; kind: keyof typeof ICONS; title: string; sub: string; testId: string }) {
  return (
    <li data-testid={testId}>
      <Link href={href}>
        <span className={`${styles.kind} ${styles[kind.toLowerCase()] ?? ''}`}>
          <Icon d={ICONS[kind]} />
        </span>
        <span className={styles.what}>
          <span className={styles.title}>{title}</span>
          <span className={styles.sub}>{sub}</span>
        </span>
        <Icon d="M9 6l6 6-6 6" className={styles.chevron} />
      </Link>
    </li>
  );
}

/** What waits on the member, most pressing kinds first. */
function ToDo({ todo }: { todo: HomeInbox['todo'] }) {
  const more = todo.deliver.more || todo.signOff.more || todo.negotiations.more || todo.gifts.more || todo.barter.more;
  return (
    <section className="card" aria-labelledby="todo-heading">
      <h2 id="todo-heading">
        Waiting on you
        {todo.total > 0 ? <span className={styles.count} aria-label={`${todo.total} ${todo.total === 1 ? 'thing' : 'things'}`}>{more ? `${todo.total}+` : todo.total}</span> : null}
      </h2>
      {todo.total === 0 ? (
        <p className="muted" style={{ margin: 0 }} data-testid="inbox-empty">
          Nothing waits on you. Deliveries to make, sign-offs, counter-offers and files people send you will show up here.
        </p>
      ) : (
        <ul className={styles.todo} data-testid="inbox">
          {todo.signOff.items.map((c) => (
            <Item
              key={c.id}
              testId="todo-signoff"
              href={`/contracts/${c.id}`}
              kind="signoff"
              title={`Sign off ${quantityText(c.quantity, c.unit)} of ${categoryWord(c.category)}`}
              sub={`Delivered by @${c.counterparty} · ${money(c.total)} credits${c.reviewEndsAt ? ` · pays by itself ${whenShort(c.reviewEndsAt)}` : ''}`}
            />
          ))}
          {todo.deliver.items.map((c) => (
            <Item
              key={c.id}
              testId="todo-deliver"
              href={`/contracts/${c.id}`}
              kind="deliver"
              title={`Deliver ${quantityText(c.quantity, c.unit)} of ${categoryWord(c.category)}`}
              sub={`To @${c.counterparty} · ${money(c.total)} credits · by ${whenShort(c.windowEnd)}`}
            />
          ))}
          {todo.negotiations.items.map((n) => (
            <Item
              key={n.id}
              testId="todo-negotiation"
              href="/trades"
              kind="negotiation"
              title={
                n.countered
                  ? `${n.counterparty ? `@${n.counterparty} offers` : 'They offer'} ${unitPrice(n.theirPrice)} per ${unitName(n.unit, 1)}`
                  : `Make a deal: ${quantityText(n.quantity, n.unit)} of ${categoryWord(n.category)}`
              }
              sub={`${n.side === 'BUYER' ? 'You bid' : 'You ask'} ${unitPrice(n.myPrice)}, they ${n.side === 'BUYER' ? 'ask' : 'bid'} ${unitPrice(n.theirPrice)} · ends ${whenShort(n.expiresAt)}`}
            />
          ))}
          {todo.gifts.items.map((g) => (
            <Item
              key={g.id}
              testId="todo-gift"
              href="/content/nearby"
              kind="gift"
              title={`@${g.from} sent you “${g.title}”`}
              sub={`${formatBytes(g.sizeBytes)} · a gift to ${g.deviceName ?? 'one of your devices'} · take it or decline it`}
            />
          ))}
          {todo.barter.items.map((b) => (
            <Item
              key={b.offerId}
              testId="todo-barter"
              href="/barter"
              kind="barter"
              title={`A barter${b.communityName ? ` in ${b.communityName}` : ''} waits for your yes`}
              sub={`You give ${money(b.giveValue)} credits’ worth for ${money(b.wantValue)} credits’ worth`}
            />
          ))}
        </ul>
      )}
      {more ? <p className={`muted small ${styles.more}`}>More are waiting: see <Link className="text-link" href="/trades">Trades</Link>.</p> : null}
    </section>
  );
}

/** What the member's devices earned since the start of the day. */
function Today({ earned }: { earned: HomeInbox['earned'] }) {
  const active = earned.devices.filter((d) => d.paid > 0 || d.units > 0);
  return (
    <section className="card" aria-labelledby="today-heading" data-testid="earned-today">
      <h2 id="today-heading">Earned today</h2>
      <div className={styles.earned}>
        {money(earned.paid)} <small>credits paid</small>
      </div>
      {earned.units > 0 ? (
        <p className="small" style={{ margin: '0.25rem 0 0' }}>
          Your devices computed {quantityText(earned.units, 'WORK_UNIT')} today, worth {money(earned.pending)} credits once each job checks them.
        </p>
      ) : null}
      {active.length > 0 ? (
        <ul className={styles.devices}>
          {active.map((d) => (
            <li key={d.id}>
              <span>{d.name}</span>
              <span>
                {d.paid > 0 ? `${money(d.paid)} paid` : ''}
                {d.paid > 0 && d.units > 0 ? ' · ' : ''}
                {d.units > 0 ? quantityText(d.units, 'WORK_UNIT') : ''}
              </span>
            </li>
          ))}
        </ul>
      ) : earned.paid === 0 && earned.units === 0 ? (
        <p className="muted small" style={{ margin: '0.25rem 0 0' }}>
          {earned.devices.length > 0 ? (
            <>
              Nothing yet today: let this device earn while it charges.
              <br />
              <Link className="text-link" href="/device" style={{ paddingLeft: 0 }}>Turn on Donate</Link>
            </>
          ) : (
            <>Measure this device to see what it can earn.</>
          )}
        </p>
      ) : null}
    </section>
  );
}

function Communities({ communities, offline }: { communities: HomeInbox['communities']; offline: boolean }) {
  return (
    <section aria-labelledby="communities-heading">
      <h2 id="communities-heading">Your communities</h2>
      {communities.length === 0 ? <p className="card muted">You have not joined a community yet: find one or create one above.</p> : null}
      {communities.map((c) => (
        <Link key={c.id} href={`/communities/${c.slug}`} className={`card ${styles.community}`}>
          <div className="row spread">
            <h3 style={{ margin: 0, fontSize: '1.1rem' }}>{c.name}</h3>
            {c.role === 'COORDINATOR' ? <span className="pill">coordinator</span> : null}
          </div>
          <div className="balance" data-testid="balance-available">
            {money(c.available)} <small>credits</small>
          </div>
          {c.escrow !== 0 ? <div className="muted small">{money(c.escrow)} held in escrow</div> : null}
        </Link>
      ))}
      {communities.length > 0 && !offline ? (
        <div className="grid2">
          <Link className="button secondary" href="/communities">Find more</Link>
          <Link className="button secondary" href="/communities/new">Create one</Link>
        </div>
      ) : null}
    </section>
  );
}

/**
 * Home for a signed-in member: what waits on them, what they earned today, their communities and balances,
 * and, until they have done them, the first steps. `asOf` marks data shown offline (the last known Home).
 */
export function InboxView({ inbox, handle, asOf }: { inbox: HomeInbox; handle: string; asOf: string | null }) {
  const offline = asOf !== null;
  const firstSteps = !(inbox.steps.measured && inbox.steps.joined && inbox.steps.started);
  return (
    <>
      <LastKnownMark asOf={asOf} />
      <h1>Hi @{handle}</h1>
      {/* what waits on the member comes first; a newcomer with nothing waiting sees the first steps first */}
      {inbox.todo.total > 0 ? <ToDo todo={inbox.todo} /> : null}
      {firstSteps ? <Onboarding steps={inbox.steps} devices={inbox.earned.devices} offline={offline} /> : null}
      {inbox.todo.total === 0 ? <ToDo todo={inbox.todo} /> : null}
      <Today earned={inbox.earned} />
      <Communities communities={inbox.communities} offline={offline} />
    </>
  );
}
