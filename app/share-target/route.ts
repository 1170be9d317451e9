/**
 * The Web Share Target of the app manifest (`share_target.action`): another app shares a file to
 * Swapmesh with a multipart POST. The installed app's service worker answers that POST itself — it
 * keeps the file in the Cache Storage entry `swapmesh-share` → `/share-target/file` (the file never
 * leaves the device) and redirects to `/content/publish?shared=1`, where the file is offered.
 *
 * This route only runs when no service worker answered (the app was never opened since install, or
 * the worker is being updated): it reads nothing and sends the person to the publish screen, which
 * explains what happened.
 *
 * The Location is a path, which the browser resolves against the address it sent the request to: under
 * `next start`, `request.url` is built from the address the server listens on (e.g. http://localhost:3000),
 * not from the address the person used, so an absolute URL made from it would send them elsewhere.
 */
export const dynamic = 'force-dynamic';

const seeOther = (path: string) => new Response(null, { status: 303, headers: { Location: path, 'Cache-Control': 'no-store' } });

export function POST() {
  return seeOther('/content/publish?shared=0');
}

export function GET() {
  return seeOther('/content/publish');
}
