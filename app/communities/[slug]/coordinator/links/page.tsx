'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { use, useState } from 'react';
import { ErrorAlert, Field } from '../../../../_components/form';
import { describeError } from '../../../../_lib/errors';
import { money } from '../../../../_lib/format';
import { parseCredits } from '../../../../_lib/money';
import { useTRPC } from '../../../../_lib/trpc';
import { CoordinatorGate, type CoordinatedCommunity } from '../gate';

type Outcome = { ok: boolean; text: string } | null;
type Draft =
  | { kind: 'propose'; toSlug: string; cap: number }
  | { kind: 'accept'; linkId: string; name: string; cap: number }
  | { kind: 'cap'; linkId: string; name: string; from: number; cap: number }
  | { kind: 'acceptCap'; linkId: string; name: string; from: number; cap: number };

const DRAFT_TITLES: Record<Draft['kind'], string> = {
  propose: 'Propose this link?',
  accept: 'Accept this link?',
  cap: 'Propose this cap?',
  acceptCap: 'Accept the new cap?',
};

function Links({ community }: { community: CoordinatedCommunity }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.admin.links.queryOptions({ communityId: community.id }));
  const [toSlug, setToSlug] = useState('');
  const [cap, setCap] = useState('100');
  const [capTexts, setCapTexts] = useState<Record<string, string>>({});
  const [draft, setDraft] = useState<Draft | null>(null);
  const [outcome, setOutcome] = useState<Outcome>(null);
  // the outcome shows in the card where the action was taken
  const [outcomeWhere, setOutcomeWhere] = useState<'list' | 'propose'>('list');
  const done = (text: string) => async () => {
    setOutcome({ ok: true, text });
    setDraft(null);
    await queryClient.invalidateQueries(trpc.admin.links.pathFilter());
  };
  const failed = (error: unknown) => {
    setOutcome({ ok: false, text: describeError(error).message });
    setDraft(null);
  };
  const propose = useMutation({ ...trpc.admin.proposeLink.mutationOptions(), onSuccess: done('Link proposed: it applies once the other community’s coordinator accepts it.'), onError: failed });
  const accept = useMutation({ ...trpc.admin.acceptLink.mutationOptions(), onSuccess: done('Link accepted: members of both communities can trade with each other now.'), onError: failed });
  const proposeCap = useMutation({ ...trpc.admin.proposeLinkCap.mutationOptions(), onSuccess: done('New cap proposed: it applies once the other community accepts it.'), onError: failed });
  const acceptCap = useMutation({ ...trpc.admin.acceptLinkCap.mutationOptions(), onSuccess: done('New cap accepted: it applies now.'), onError: failed });
  const pending = propose.isPending || accept.isPending || proposeCap.isPending || acceptCap.isPending;

  const run = (d: Draft) => {
    setOutcomeWhere(d.kind === 'propose' ? 'propose' : 'list');
    const communityId = community.id;
    if (d.kind === 'propose') propose.mutate({ communityId, toSlug: d.toSlug, cap: d.cap });
    else if (d.kind === 'accept') accept.mutate({ communityId, linkId: d.linkId });
    else if (d.kind === 'cap') proposeCap.mutate({ communityId, linkId: d.linkId, cap: d.cap });
    else acceptCap.mutate({ communityId, linkId: d.linkId });
  };
  const capOf = (text: string) => {
    const micro = parseCredits(text);
    if (micro === null) {
      setOutcome({ ok: false, text: 'A cap is a number of credits, 0 or more, e.g. 100.' });
      return null;
    }
    return micro;
  };

  const feedback = (
    <>
        <div aria-live="polite">
        {outcome ? (
          <div className={`alert ${outcome.ok ? 'info' : 'error'}`} role={outcome.ok ? 'status' : 'alert'} data-testid="links-outcome">{outcome.text}</div>
        ) : null}
      </div>
      {draft ? (
        <div className="card confirm stack" data-testid="links-confirm">
          <h3 style={{ margin: 0 }}>{DRAFT_TITLES[draft.kind]}</h3>
          <dl>
            <dt>With</dt>
            <dd>{draft.kind === 'propose' ? draft.toSlug : draft.name}</dd>
            {draft.kind === 'cap' || draft.kind === 'acceptCap' ? (
              <>
                <dt>Cap now</dt>
                <dd>{money(draft.from)}</dd>
              </>
            ) : null}
            <dt className="total">{draft.kind === 'cap' || draft.kind === 'acceptCap' ? 'New cap' : 'Cap'}</dt>
            <dd className="total">{money(draft.cap)}</dd>
          </dl>
          <p className="muted small" style={{ margin: 0 }}>Up to this many credits may be owed between the two communities through their trades.</p>
          <div className="grid2">
            <button className="button secondary" type="button" onClick={() => setDraft(null)} disabled={pending}>Back</button>
            <button className="button" type="button" onClick={() => run(draft)} disabled={pending}>{pending ? 'Working…' : 'Confirm'}</button>
          </div>
        </div>
      ) : null}
    </>
  );
  const where = draft ? (draft.kind === 'propose' ? 'propose' : 'list') : outcomeWhere;

  return (
    <>
      <div className="card stack" data-testid="links">
        <p className="muted small" style={{ margin: 0 }}>
          Linked communities see each other&rsquo;s books and barter offers. The cap is the most either community may owe the other through the link; trades that would pass it are refused.
        </p>
        {where === 'list' ? feedback : null}
        {links.isError ? <ErrorAlert error={links.error} /> : null}
        {links.data && links.data.length === 0 ? <p className="empty">No links yet.</p> : null}
        <ul className="list" data-testid="link-list">
          {links.data?.map((l) => {
            const name = l.community?.name ?? 'A community';
            const capText = capTexts[l.id] ?? String(l.cap / 1_000_000);
            return (
              <li key={l.id} className="stack" style={{ gap: '0.4rem' }} data-testid="link">
                <div className="row spread">
                  <strong>{name}</strong>
                  <span className={`state ${l.active ? 'ACTIVE' : 'MATCHED'}`}>{l.active ? 'active' : l.incoming ? 'asks to link' : 'proposed'}</span>
                </div>
                <div className="muted small" data-testid="link-cap">
                  Cap {money(l.cap)} credits · owed now {money(Math.abs(l.clearingBalance))}
                  {l.proposedCap !== null ? ` · new cap ${money(l.proposedCap)} proposed ${l.capProposedHere ? 'by you' : 'by them'}` : ''}
                </div>
                {!l.active && l.incoming ? (
                  <button className="button block" type="button" disabled={pending} onClick={() => setDraft({ kind: 'accept', linkId: l.id, name, cap: l.cap })}>Accept link…</button>
                ) : null}
                {l.active && l.proposedCap !== null && l.capProposedHere === false ? (
                  <button className="button block" type="button" disabled={pending} onClick={() => setDraft({ kind: 'acceptCap', linkId: l.id, name, from: l.cap, cap: l.proposedCap! })}>Accept new cap…</button>
                ) : null}
                {l.active ? (
                  <form
                    className="row"
                    style={{ alignItems: 'flex-end' }}
                    onSubmit={(event) => {
                      event.preventDefault();
                      setOutcomeWhere('list');
                      const micro = capOf(capText);
                      if (micro === null) return;
                      setOutcome(null);
                      setDraft({ kind: 'cap', linkId: l.id, name, from: l.cap, cap: micro });
                    }}
                  >
                    <div style={{ flex: 1, minWidth: 0 }}>
                      <Field label="New cap (credits)" name={`cap-${l.id}`} inputMode="decimal" value={capText} onChange={(e) => setCapTexts({ ...capTexts, [l.id]: e.target.value })} />
                    </div>
                    <button className="button secondary" type="submit" style={{ flex: 'none' }}>Propose…</button>
                  </form>
                ) : null}
              </li>
            );
          })}
        </ul>
      </div>

      <form
        className="card stack"
        data-testid="link-propose"
        onSubmit={(event) => {
          event.preventDefault();
          setOutcomeWhere('propose');
          const slug = toSlug.trim().toLowerCase();
          if (slug.length < 3) return setOutcome({ ok: false, text: 'Enter the other community’s address, e.g. river-street.' });
          const micro = capOf(cap);
          if (micro === null) return;
          setOutcome(null);
          setDraft({ kind: 'propose', toSlug: slug, cap: micro });
        }}
      >
        <h2 style={{ margin: 0 }}>Link with another community</h2>
        {where === 'propose' ? feedback : null}
        <Field label="Its address (slug)" name="linkSlug" value={toSlug} onChange={(e) => setToSlug(e.target.value)} autoCapitalize="none" />
        <Field label="Cap (credits)" name="linkCap" inputMode="decimal" value={cap} onChange={(e) => setCap(e.target.value)} />
        <button className="button block" type="submit">Propose link…</button>
      </form>
    </>
  );
}

export default function LinksPage({ params }: { params: Promise<{ slug: string }> }) {
  const { slug } = use(params);
  return <CoordinatorGate slug={slug} title="Federation links">{(c) => <Links community={c} />}</CoordinatorGate>;
}
