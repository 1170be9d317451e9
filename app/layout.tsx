import type { Metadata, Viewport } from 'next';
import { AppShell } from './_components/app-shell';
import { AfterLoadChrome } from './_components/after-load-chrome';
import { memberHintScript } from './_components/member-hint-script';
import { Providers } from './_lib/trpc';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Swapmesh', template: '%s · Swapmesh' },
  description: 'Barter what your devices have spare: compute, storage, files, network access.',
  applicationName: 'Swapmesh',
  appleWebApp: { capable: true, title: 'Swapmesh', statusBarStyle: 'default' },
  icons: {
    icon: [
      { url: '/icons/icon.svg', type: 'image/svg+xml' },
      { url: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
    ],
    apple: [{ url: '/icons/apple-touch-icon.png', sizes: '180x180' }],
  },
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  themeColor: '#0f766e',
  viewportFit: 'cover',
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    // data-member is set by the head's script before the first paint (member-hint.tsx)
    <html lang="en" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: memberHintScript }} />
      </head>
      <body>
        <Providers>
          <AppShell>{children}</AppShell>
        </Providers>
        <AfterLoadChrome />
      </body>
    </html>
  );
}
