'use client';

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../../_components/form';
import { formatCredits, MICRO_PER_CREDIT, parseCredits } from '../../_lib/money';
import { useTRPC } from '../../_lib/trpc';

type Community = {
  id: string;
  name: string;
  commissionBps: number;
  startingGrant: number;
  creditLimit: number;
  inviteOnly: boolean;
  inviteCode: string | null;
};

export function CoordinatorSettings({ community }: { community: Community }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [commission, setCommission] = useState(String(community.commissionBps / 100));
  const [grant, setGrant] = useState(String(community.startingGrant / MICRO_PER_CREDIT));
  const [creditLimit, setCreditLimit] = useState(String(community.creditLimit / MICRO_PER_CREDIT));
  const [inviteOnly, setInviteOnly] = useState(community.inviteOnly);
  const [localError, setLocalError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const update = useMutation({
    ...trpc.community.update.mutationOptions(),
    onSuccess: async () => {
      setSaved(true);
      await queryClient.invalidateQueries(trpc.community.pathFilter());
    },
  });
  const members = useQuery(trpc.community.members.queryOptions({ communityId: community.id }));
  const setRole = useMutation({
    ...trpc.community.setRole.mutationOptions(),
    onSuccess: () => queryClient.invalidateQueries(trpc.community.members.pathFilter()),
  });
  const errors = fieldErrors(update.error);

  return (
    <>
      <form
        className="card stack"
        onSubmit={(event) => {
          event.preventDefault();
          setSaved(false);
          const startingGrant = parseCredits(grant);
          const limit = parseCredits(creditLimit);
          const percent = Number(commission);
          if (startingGrant === null || limit === null) return setLocalError('Amounts must be numbers of credits, e.g. 100 or 2.5.');
          if (!Number.isFinite(percent) || commission.trim() === '') return setLocalError('Commission must be a percentage, e.g. 2.5.');
          setLocalError(null);
          update.mutate({ communityId: community.id, commissionBps: Math.round(percent * 100), startingGrant, creditLimit: limit, inviteOnly });
        }}
      >
        <h2>Coordinator settings</h2>
        {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={update.error} />}
        {saved && !update.isPending ? <div className="alert info" role="status">Settings saved.</div> : null}
        <Field label="Commission (%)" name="commission" inputMode="decimal" value={commission} onChange={(e) => setCommission(e.target.value)} error={errors.commissionBps} />
        <Field label="Starting grant (credits)" name="grant" inputMode="decimal" value={grant} onChange={(e) => setGrant(e.target.value)} error={errors.startingGrant} />
        <Field label="Credit limit (credits)" name="creditLimit" inputMode="decimal" hint="How far below zero a member may spend" value={creditLimit} onChange={(e) => setCreditLimit(e.target.value)} error={errors.creditLimit} />
        <label className="check">
          <input type="checkbox" checked={inviteOnly} onChange={(e) => setInviteOnly(e.target.checked)} />
          Invite only
        </label>
        <button className="button block" type="submit" disabled={update.isPending}>Save settings</button>
      </form>

      <div className="card">
        <h2>Members</h2>
        <ErrorAlert error={setRole.error} />
        <ul className="list">
          {members.data?.map((m) => (
            <li key={m.id} className="row spread">
              <span>@{m.handle} {m.role === 'COORDINATOR' ? <span className="pill">coordinator</span> : null}</span>
              <button
                className="button secondary"
                disabled={setRole.isPending}
                onClick={() => setRole.mutate({ communityId: community.id, memberId: m.id, role: m.role === 'COORDINATOR' ? 'MEMBER' : 'COORDINATOR' })}
              >
                {m.role === 'COORDINATOR' ? 'Make member' : 'Make coordinator'}
              </button>
            </li>
          ))}
        </ul>
        <p className="muted small">Starting grant now: {formatCredits(community.startingGrant)} credits.</p>
      </div>
    </>
  );
}
