import { contractSettlesFromProof, isFileLeg, settlesFromProof } from '@/server/delivery/rule';

export { contractSettlesFromProof, isFileLeg, settlesFromProof };

type Side = 'BUYER' | 'SELLER';
type Contract = { id: string; category: string; unit: string; buyer: { handle: string }; seller?: { handle: string } };

/** A NETWORK/MB contract is delivered by the seller's device relaying a file between the buyer's device and another member's (server/relay). */
export function relayScreen(contract: Contract, side: Side): { how: string; href: string; label: string } {
  const seller = contract.seller ? `@${contract.seller.handle}` : "the seller";
  return side === 'BUYER'
    ? {
        how: `${seller}'s device relays a file from your device to another member's, encrypted end to end so it cannot read it. The contract pays for the bytes both devices confirm in signed receipts, pro rata, and settles when the relay ends.`,
        href: `/relay/send/${contract.id}`,
        label: `Send a file through ${seller} to…`,
      }
    : {
        how: `Your device relays encrypted bytes from @${contract.buyer.handle}'s device to another member's once they open the relay; you are paid for the bytes both ends confirm, pro rata.`,
        href: '/relay',
        label: 'Open your relays',
      };
}

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
    case 'NETWORK':
      if (contract.unit === 'MB') return relayScreen(contract, side);
      if (contract.unit === 'PAGE_VIEW') {
        return { how: 'The app delivers this itself: a donor device loads a page of the verified site and the contract pays when its report validates.', href: '/pageviews', label: 'Open page views' };
      }
      return { how: measured, href: null, label: '' };
    case 'STORAGE':
      return side === 'BUYER'
        ? { how: `You use this by storing a file with it: @${contract.seller?.handle ?? 'the seller'}'s device keeps it and answers a challenge each period, and the contract pays for the periods proven, pro rata (all of it comes back if no file uses it before the window closes).`, href: `/storage?contract=${contract.id}`, label: 'Store a file with it' }
        : { how: measured, href: '/storage', label: 'Open storage' };
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
