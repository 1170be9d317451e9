'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useTRPC } from '../_lib/trpc';

/** A community's address from its name: lower-case letters, digits and single dashes, at most 40 characters. */
export const slugify = (name: string) =>
  name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40).replace(/-+$/, '');

/** `community.create`, then every cached query refreshed and the new community's page opened. */
export function useCreateCommunity() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  return useMutation({
    ...trpc.community.create.mutationOptions(),
    onSuccess: async (result) => {
      await queryClient.invalidateQueries();
      router.push(`/communities/${result.slug}`);
    },
  });
}
