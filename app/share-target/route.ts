/**
 * The Web Share Target of the app manifest (`share_target.action`): another app shares a file to
 * Swapmesh with a multipart POST. The installed app's service worker answers that POST itself — it
 * keeps the file in the Cache Storage entry `swapmesh-share` → `/share-target/file` (the file never
 * leaves the device) and redirects to `/content/publish?shared=1`, where the file is offered.
 *
 * This route only runs when no service worker answered (the app was never opened since install, or
 * the worker is being updated): it reads nothing and sends the person to the publish screen, which
 * explains what happened.
 */
export const dynamic = 'force-dynamic';

export function POST(request: Request) {
  return Response.redirect(new URL('/content/publish?shared=0', request.url), 303);
}

export function GET(request: Request) {
  return Response.redirect(new URL('/content/publish', request.url), 303);
}
