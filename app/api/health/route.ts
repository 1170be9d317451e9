import { getDb } from '@/server/db/client';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

export async function GET() {
  try {
    await getDb().$queryRaw`SELECT 1`;
    return Response.json({ ok: true }, { headers: { 'cache-control': 'no-store' } });
  } catch (error) {
    console.error('health check: database unreachable:', error);
    return Response.json({ ok: false, error: 'database unreachable' }, { status: 503, headers: { 'cache-control': 'no-store' } });
  }
}
