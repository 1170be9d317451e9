/**
 * `GET /api/compute/results/JOBID` — a completed job's results as one file (server/compute/results-rules.ts
 * `resultsFile`), for its owner only, when the job keeps them for download.
 */
import { memberForSession, readCookie, SESSION_COOKIE } from '@/server/auth/session';
import { getDb } from '@/server/db/client';
import { resultsFileOf } from '@/server/compute/results';

export const runtime = 'nodejs';
export const dynamic = 'force-dynamic';

const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/;

const plain = (status: number, text: string) =>
  new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' } });

export async function GET(request: Request, { params }: { params: Promise<{ jobId: string }> }): Promise<Response> {
  const { jobId } = await params;
  if (!JOB_ID.test(jobId)) return plain(404, 'No such job.');
  const db = getDb();
  const member = await memberForSession(db, readCookie(request.headers.get('cookie'), SESSION_COOKIE));
  if (!member) return plain(401, 'Sign in to download the results.');
  const job = await db.job.findUnique({ where: { id: jobId }, select: { memberId: true } });
  if (!job || job.memberId !== member.id) return plain(404, 'You have no job with that id.');
  const placement = await db.jobPlacement.findUnique({ where: { jobId }, select: { keepFile: true, toDeviceId: true } });
  // results sent to one of the owner's devices are fetched by another of them, which sends them on (results-device.ts)
  if (placement && !placement.keepFile && !placement.toDeviceId) return plain(404, 'This job does not keep its results for download: they went to the places you chose.');
  const file = await resultsFileOf(db, jobId);
  if (!file) return plain(404, 'The results are not ready: the job has not completed.');
  return new Response(file.body, {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${file.name}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'x-swapmesh-sha256': file.sha256,
    },
  });
}
