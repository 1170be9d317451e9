'use client';

import { trpcClient, type AppClient } from '../trpc-client';

/** The page's tRPC client, for the rental sessions, which live outside React. */
export function peripheralClient(): AppClient {
  return trpcClient();
}

/** What a rental's kind is called on screen. */
export const KIND_WORDS = { CAMERA: 'camera', MICROPHONE: 'microphone', SCREEN: 'screen' } as const;
