import type { Metadata } from 'next';

// The service worker precaches this page and shows it for any page that is neither saved on the
// device nor reachable, so it must stay static (no cookies(), headers() or data fetching).
export const dynamic = 'force-static';

export const metadata: Metadata = {
  title: 'Offline',
  robots: { index: false },
};

export default function OfflinePage() {
  return (
    <section className="card center" style={{ marginTop: '0.5rem', padding: '2rem 1.25rem' }}>
      <svg viewBox="0 0 24 24" width="56" height="56" aria-hidden="true" fill="none"
        stroke="#0f766e" strokeWidth={1.8} strokeLinecap="round" strokeLinejoin="round"
        style={{ display: 'block', margin: '0 auto 1rem' }}>
        <path d="M2 2l20 20" />
        <path d="M8.5 16.5a5 5 0 0 1 7 0" />
        <path d="M5 12.9a10 10 0 0 1 5.2-2.8" />
        <path d="M19 12.9a10 10 0 0 0-2.3-1.6" />
        <path d="M2 8.8a15 15 0 0 1 4.2-2.6" />
        <path d="M22 8.8A15 15 0 0 0 10.7 5" />
        <path d="M12 20h.01" />
      </svg>
      <h1>You&apos;re offline</h1>
      <p>
        This device has no internet connection, and this page hasn&apos;t been saved on it yet.
      </p>
      <p className="muted">
        Pages you have opened before still work. Connect to Wi-Fi or mobile data and try again.
      </p>
      <div style={{ display: 'grid', gap: '0.75rem', marginTop: '1.25rem' }}>
        {/* A GET form with no action reloads the address the user asked for, with no script. */}
        <form method="get">
          <button type="submit" className="button block">Try again</button>
        </form>
        <a href="/" className="button secondary block">Go to the home screen</a>
      </div>
    </section>
  );
}
