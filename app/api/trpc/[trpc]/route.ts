/**
 * /api/trpc under `next dev`. `npm start` serves /api/trpc from tRPC's Node adapter instead, before Next's
 * request pipeline (server/http/api-server.ts); both go through server/http/trpc-request.ts (guards, HTTPS,
 * context), so the wire contract is one.
 */
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import { clientAddressOf } from '@/server/auth/client-address';
import { MAX_BATCH_CALLS, refusalResponse } from '@/server/auth/http-guards';
import { env } from '@/server/env';
import { isSecure, logTrpcError, refusalOf, requestContext, TRPC_ENDPOINT } from '@/server/http/trpc-request';
import { appRouter } from '@/server/routers/_app';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

function handler(req: Request) {
  const url = new URL(req.url);
  const refusal = refusalOf(req.method, url, req.headers, env.TRUST_PROXY);
  if (refusal) return refusalResponse(refusal);
  return fetchRequestHandler({
    endpoint: TRPC_ENDPOINT,
    req,
    router: appRouter,
    maxBatchSize: MAX_BATCH_CALLS,
    createContext: ({ resHeaders }) =>
      requestContext({
        headers: req.headers,
        resHeaders,
        secure: isSecure(url.protocol === 'https:', req.headers, env.TRUST_PROXY),
        clientAddress: clientAddressOf(req.headers, env.TRUST_PROXY),
      }),
    onError: logTrpcError,
  });
}

export { handler as GET, handler as POST };
