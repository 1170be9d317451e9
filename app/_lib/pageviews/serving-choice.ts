/** Which device and community this browser serves page views for, so that serving goes on on every screen. */
const KEY = 'swapmesh.pageviews.serving';

export type ServingChoice = { deviceId: string; communityId: string };

export function readServing(): ServingChoice[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((c): c is ServingChoice => typeof c?.deviceId === 'string' && typeof c?.communityId === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberServing(deviceId: string, communityId: string): void {
  const rest = readServing().filter((c) => !(c.deviceId === deviceId && c.communityId === communityId));
  localStorage.setItem(KEY, JSON.stringify([...rest, { deviceId, communityId }]));
}

export function forgetServing(deviceId: string, communityId: string): void {
  localStorage.setItem(KEY, JSON.stringify(readServing().filter((c) => !(c.deviceId === deviceId && c.communityId === communityId))));
}
