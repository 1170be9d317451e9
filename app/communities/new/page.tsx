'use client';

import { useState } from 'react';
import { ErrorAlert, Field, fieldErrors } from '../../_components/form';
import { RequireMember } from '../../_components/require-member';
import { parseCredits } from '../../_lib/money';
import { slugify, useCreateCommunity } from '../create-community';


function CreateCommunityForm() {
  const [name, setName] = useState('');
  const [slug, setSlug] = useState('');
  const [slugEdited, setSlugEdited] = useState(false);
  const [commission, setCommission] = useState('2');
  const [grant, setGrant] = useState('100');
  const [inviteOnly, setInviteOnly] = useState(false);
  const [localError, setLocalError] = useState<string | null>(null);
  const create = useCreateCommunity();
  const errors = fieldErrors(create.error);
  return (
    <form
      className="card stack"
      onSubmit={(event) => {
        event.preventDefault();
        const startingGrant = parseCredits(grant);
        const percent = Number(commission);
        if (startingGrant === null) return setLocalError('The starting grant must be a number of credits, e.g. 100 or 2.5.');
        if (!Number.isFinite(percent) || commission.trim() === '') return setLocalError('Commission must be a percentage, e.g. 2.5.');
        setLocalError(null);
        create.mutate({ name, slug, commissionBps: Math.round(percent * 100), startingGrant, inviteOnly });
      }}
    >
      <h1>New community</h1>
      {localError ? <div className="alert error" role="alert">{localError}</div> : <ErrorAlert error={create.error} />}
      <Field
        label="Name"
        name="name"
        value={name}
        onChange={(e) => {
          setName(e.target.value);
          if (!slugEdited) setSlug(slugify(e.target.value));
        }}
        error={errors.name}
        required
      />
      <Field
        label="Address"
        name="slug"
        hint="Part of the link people join with"
        value={slug}
        autoCapitalize="none"
        onChange={(e) => {
          setSlugEdited(true);
          setSlug(e.target.value);
        }}
        error={errors.slug}
        required
      />
      <Field label="Commission (%)" name="commission" inputMode="decimal" hint="Taken from each trade for the community" value={commission} onChange={(e) => setCommission(e.target.value)} error={errors.commissionBps} />
      <Field label="Starting grant (credits)" name="grant" inputMode="decimal" hint="Credited to each member when they join" value={grant} onChange={(e) => setGrant(e.target.value)} error={errors.startingGrant} />
      <label className="check">
        <input type="checkbox" checked={inviteOnly} onChange={(e) => setInviteOnly(e.target.checked)} />
        Invite only (people need a code to join)
      </label>
      <button className="button block" type="submit" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create community'}
      </button>
    </form>
  );
}

export default function NewCommunityPage() {
  return <RequireMember what="create a community">{() => <CreateCommunityForm />}</RequireMember>;
}
