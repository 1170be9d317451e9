import type { Metadata, Viewport } from 'next';
import { AppShell } from './_components/app-shell';
import { Providers } from './_lib/trpc';
import './globals.css';

export const metadata: Metadata = {
  title: { default: 'Swapmesh', template: '%s · Swapmesh' },
  description: 'Barter what your devices have spare: compute, storage, files, network access.',
  applicationName: 'Swapmesh',
  appleWebApp: { capable: true, title: 'Swapmesh', statusBarStyle: 'default' },
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
  themeColor: '#0f766e',
  viewportFit: 'cover',
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <AppShell>{children}</AppShell>
        </Providers>
      </body>
    </html>
  );
}
