import { settlesFromProof } from '@/server/delivery/rule';

export { settlesFromProof };

type Side = 'BUYER' | 'SELLER';
type Contract = { id: string; category: string; unit: string; buyer: { handle: string } };

/**
 * How a contract the app delivers itself is delivered and proven, in words for the side reading it, and
 * the screen where that happens; null for goods delivered by hand.
 */
export function deliveryScreen(contract: Contract, side: Side): { how: string; href: string | null; label: string } | null {
  if (!settlesFromProof(contract.category, contract.unit)) return null;
  const buyerDevice = side === 'BUYER' ? 'your device' : `@${contract.buyer.handle}'s device`;
  const measured = `The app delivers this itself and measures it: the contract pays from what ${buyerDevice} proves it received, pro rata, and settles by itself.`;
  switch (contract.category) {
    case 'PERIPHERAL':
      return { how: measured, href: `/peripherals/${contract.id}`, label: 'Open the rental' };
    case 'STORAGE':
      return { how: measured, href: '/storage', label: 'Open storage' };
    case 'NETWORK':
      if (contract.unit === 'PAGE_VIEW') {
        return { how: 'The app delivers this itself: a donor device loads a page of the verified site and the contract pays when its report validates.', href: '/pageviews', label: 'Open page views' };
      }
      return { how: measured, href: null, label: '' };
    case 'COMPUTE':
    case 'MEMORY': {
      const what = contract.category === 'MEMORY' ? "a job whose units use memory (a hash join)" : 'a compute job';
      return side === 'BUYER'
        ? {
            how: `You spend this by running ${what} against it: only the seller's devices run it, the contract pays for what the validated units count, pro rata, and the rest comes back when the job ends (or all of it, if no job spends it before the window closes).`,
            href: `/jobs/new?funding=${contract.id}`,
            label: 'Run a job with it',
          }
        : {
            how: `@${contract.buyer.handle} spends this by running ${what} on your devices: keep donating${contract.category === 'MEMORY' ? ' and offering memory' : ''}, and the contract pays you for what your validated units count, pro rata.`,
            href: '/device',
            label: 'Open your device',
          };
    }
    default:
      return { how: measured, href: null, label: '' };
  }
}
