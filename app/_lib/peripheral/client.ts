'use client';

import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from '@/server/routers/_app';

let client: TRPCClient<AppRouter> | null = null;

/** A plain tRPC client for the rental sessions, which live outside React. */
export function peripheralClient(): TRPCClient<AppRouter> {
  client ??= createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: '/api/trpc' })] });
  return client;
}

/** What a rental's kind is called on screen. */
export const KIND_WORDS = { CAMERA: 'camera', MICROPHONE: 'microphone', SCREEN: 'screen' } as const;
