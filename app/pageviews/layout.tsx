import type { Metadata } from 'next';

export const metadata: Metadata = { title: 'Page views' };

export default function PageViewsLayout({ children }: { children: React.ReactNode }) {
  return children;
}
