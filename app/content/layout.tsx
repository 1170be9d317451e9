import type { Metadata } from 'next';
import { ContentNav } from './_components/content-nav';
import { ContentShell } from './_components/content-context';

export const metadata: Metadata = { title: 'Files' };

export default function ContentLayout({ children }: { children: React.ReactNode }) {
  return (
    <ContentShell>
      <ContentNav />
      {children}
    </ContentShell>
  );
}
