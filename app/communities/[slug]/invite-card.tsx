'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { ErrorAlert } from '../../_components/form';
import { useTRPC } from '../../_lib/trpc';

type Community = { id: string; slug: string; name: string; inviteOnly: boolean; inviteCode: string | null; role: string | null };

/** The path of an invitation: the join screen for the community, with its code when it is invite-only. */
export function invitePath(slug: string, code: string | null): string {
  const params = new URLSearchParams({ c: slug });
  if (code) params.set('code', code);
  return `/communities/join?${params.toString()}`;
}

/**
 * An invitation as a link and a QR code of it (the `qrcode` package is loaded only here). A member of an open
 * community can invite anyone; an invite-only community's link carries its code, which only its coordinator sees.
 */
export function InviteCard({ community }: { community: Community }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [origin, setOrigin] = useState('');
  const [svg, setSvg] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [canShare, setCanShare] = useState(false);
  const rotate = useMutation({
    ...trpc.community.update.mutationOptions(),
    onSuccess: () => queryClient.invalidateQueries(trpc.community.pathFilter()),
  });
  const code = community.inviteOnly ? community.inviteCode : null;
  const mayInvite = !community.inviteOnly || Boolean(community.inviteCode);
  const link = origin ? `${origin}${invitePath(community.slug, code)}` : '';

  useEffect(() => {
    setOrigin(window.location.origin);
    setCanShare(typeof navigator.share === 'function');
  }, []);
  useEffect(() => {
    if (!link || !mayInvite) return;
    let live = true;
    void import('qrcode').then((qr) => qr.toString(link, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' })).then((markup) => {
      if (live) setSvg(markup);
    });
    return () => {
      live = false;
    };
  }, [link, mayInvite]);

  if (!mayInvite) return null;
  return (
    <section className="card stack" aria-labelledby="invite-heading" data-testid="invite">
      <h2 id="invite-heading">Invite people</h2>
      <p className="muted small" style={{ margin: 0 }}>
        {community.inviteOnly
          ? 'Send this link, or let them scan the code: it opens Swapmesh, signs them up and joins them. A new link stops the old one working.'
          : 'Send this link, or let them scan the code: it opens Swapmesh, signs them up and joins them.'}
      </p>
      <div
        data-testid="invite-qr"
        role="img"
        aria-label={`QR code of the invitation to ${community.name}`}
        style={{ width: 'min(240px, 70vw)', aspectRatio: '1', margin: '0 auto', background: '#fff' }}
        dangerouslySetInnerHTML={svg ? { __html: svg } : undefined}
      />
      <input readOnly aria-label="Invitation link" value={link} data-testid="invite-link" onFocus={(e) => e.currentTarget.select()} />
      <div className="grid2">
        <button
          className="button"
          type="button"
          disabled={!link}
          onClick={() => {
            void navigator.clipboard?.writeText(link).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? 'Copied' : 'Copy link'}
        </button>
        {canShare ? (
          <button className="button secondary" type="button" onClick={() => void navigator.share({ title: `Join ${community.name} on Swapmesh`, url: link }).catch(() => undefined)}>
            Share…
          </button>
        ) : (
          <a className="button secondary" href={`mailto:?subject=${encodeURIComponent(`Join ${community.name} on Swapmesh`)}&body=${encodeURIComponent(link)}`}>
            Email it
          </a>
        )}
      </div>
      {community.inviteOnly && community.role === 'COORDINATOR' ? (
        <>
          <ErrorAlert error={rotate.error} />
          <div className="row spread">
            <span className="small">
              Code <code style={{ fontSize: '1.1rem', letterSpacing: '0.12em' }} data-testid="invite-code">{community.inviteCode}</code>
            </span>
            <button className="button secondary" type="button" onClick={() => rotate.mutate({ communityId: community.id, rotateInviteCode: true })} disabled={rotate.isPending}>
              New link
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}
