import { settlesFromProof } from '@/server/delivery/rule';

export { settlesFromProof };

/** Where a contract the app delivers itself is delivered (the rental screen, …); null for goods delivered by hand. */
export function deliveryScreen(contract: { id: string; category: string; unit: string }): { href: string; label: string } | null {
  if (!settlesFromProof(contract.category, contract.unit)) return null;
  if (contract.category === 'PERIPHERAL') return { href: `/peripherals/${contract.id}`, label: 'Open the rental' };
  if (contract.category === 'STORAGE') return { href: '/storage', label: 'Open storage' };
  if (contract.category === 'NETWORK' && contract.unit === 'PAGE_VIEW') return { href: '/pageviews', label: 'Open page views' };
  return null;
}
