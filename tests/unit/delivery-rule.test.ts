import { describe, expect, it } from 'vitest';
import { deliveryScreen } from '@/app/_lib/delivery';
import { DomainError } from '@/server/errors';
import { refuseSellersWord, settlesFromProof } from '@/server/delivery/rule';

const contract = (category: string, unit: string) => ({ id: 'c1', category, unit, buyer: { handle: 'ann' }, seller: { handle: 'bob' } });

describe('the delivery rule', () => {
  it('lists every pair the system delivers and measures, relays (NETWORK/MB) included', () => {
    for (const [category, unit] of [
      ['COMPUTE', 'GFLOP'], ['COMPUTE', 'CPU_SECOND'], ['COMPUTE', 'WORK_UNIT'], ['MEMORY', 'MB_HOUR'], ['STORAGE', 'MB_HOUR'],
      ['PERIPHERAL', 'DEVICE_HOUR'], ['NETWORK', 'PAGE_VIEW'], ['NETWORK', 'MB'],
    ] as const) {
      expect(settlesFromProof(category, unit), `${category}/${unit}`).toBe(true);
    }
  });

  it('leaves files (items and MB) to the seller’s word and the buyer’s sign-off', () => {
    expect(settlesFromProof('FILE', 'ITEM')).toBe(false);
    expect(settlesFromProof('FILE', 'MB')).toBe(false);
    expect(() => refuseSellersWord({ category: 'FILE', unit: 'ITEM' })).not.toThrow();
  });

  it('refuses the seller’s word for a relay contract, with a reason for the person', () => {
    let thrown: unknown;
    try {
      refuseSellersWord({ category: 'NETWORK', unit: 'MB' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect(thrown).toMatchObject({ kind: 'PRECONDITION', message: expect.stringMatching(/measured delivery/) });
  });

  it('a relay contract’s page says how it is delivered and links each side to its screen; a storage contract’s buyer stores a file under it', () => {
    const buyer = deliveryScreen(contract('NETWORK', 'MB'), 'BUYER');
    expect(buyer).toMatchObject({ href: '/relay/send/c1', label: 'Send a file through @bob to…' });
    expect(buyer!.how).toMatch(/relays a file from your device.*encrypted end to end.*bytes both devices confirm/);
    const seller = deliveryScreen(contract('NETWORK', 'MB'), 'SELLER');
    expect(seller).toMatchObject({ href: '/relay', label: 'Open your relays' });
    expect(seller!.how).toMatch(/@ann's device/);
    // page views keep their own words and link
    expect(deliveryScreen(contract('NETWORK', 'PAGE_VIEW'), 'BUYER')).toMatchObject({ href: '/pageviews' });
    // a storage contract's buyer stores a file under it; its seller keeps the storage screen
    expect(deliveryScreen(contract('STORAGE', 'MB_HOUR'), 'BUYER')).toMatchObject({ href: '/storage?contract=c1', label: 'Store a file with it' });
    expect(deliveryScreen(contract('STORAGE', 'MB_HOUR'), 'SELLER')).toMatchObject({ href: '/storage', label: 'Open storage' });
    // goods delivered by hand have no delivery screen
    expect(deliveryScreen(contract('FILE', 'ITEM'), 'SELLER')).toBeNull();
  });
});
