import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { clientAddressOf } from '@/server/auth/client-address';
import { MAX_BATCH_CALLS, refusalResponse, refuseTrpcRequest } from '@/server/auth/http-guards';
import { createContext } from '@/server/context';
import { getDb } from '@/server/db/client';
import { env } from '@/server/env';
import { appRouter } from '@/server/routers/_app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

function handler(req: Request) {
  const refusal = refuseTrpcRequest(req.method, new URL(req.url), req.headers, env.TRUST_PROXY);
  if (refusal) return refusalResponse(refusal);
  return fetchRequestHandler({
    endpoint: '/api/trpc',
    req,
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ resHeaders }) =>
      createContext({
        db: getDb(),
        headers: req.headers,
        resHeaders,
        secure: new URL(req.url).protocol === 'https:' || req.headers.get('x-forwarded-proto') === 'https',
        clientAddress: clientAddressOf(req.headers, env.TRUST_PROXY),
      }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`tRPC ${path ?? '?'} failed:`, error.cause ?? error);
    },
  });
}

export { handler as GET, handler as POST };
