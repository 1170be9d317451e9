/**
 * Where to go after signing in: the `next` parameter when it is a path of this site, else the home page.
 * Only a single leading slash followed by a path qualifies: `//host`, `/\host` (browsers read `\` as `/`),
 * absolute URLs (`https:`, `javascript:`…), control characters (which URL parsers drop, so `/\t/host` becomes
 * `//host`) and anything that resolves to another origin all go home.
 */
export function safeNextPath(next: string | null | undefined): string {
  if (!next || next.length > 2048) return '/';
  if (!next.startsWith('/') || next.startsWith('//') || next.includes('\\')) return '/';
  if (/[\u0000-\u001f\u007f-\u009f\s]/.test(next)) return '/';
  const base = 'https://swapmesh.invalid';
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return '/';
  }
  if (url.origin !== base) return '/';
  return `${url.pathname}${url.search}${url.hash}`;
}
