import { describe, expect, it } from 'vitest';
import { humanNote, money, signedMoney, unitPrice } from '@/app/_lib/format';
import { quantityText, unitName } from '@/app/_lib/units';

describe('money for people', () => {
  it('shows two decimals, rounded half away from zero in whole cents, and never hides a tiny amount', () => {
    expect(money(4_455_000)).toBe('4.46');
    expect(money(-4_455_000)).toBe('−4.46');
    expect(money(100_000_000)).toBe('100.00');
    expect(money(1_234_567_890_000)).toBe('1,234,567.89');
    expect(money(0)).toBe('0.00');
    expect(money(3)).toBe('< 0.01');
    expect(signedMoney(1_980_000)).toBe('+1.98');
    expect(signedMoney(-2_020_000)).toBe('−2.02');
  });

  it('prices per unit keep the digits a small price needs', () => {
    expect(unitPrice(2_000_000)).toBe('2.00');
    expect(unitPrice(10_000)).toBe('0.01');
    expect(unitPrice(1_500)).toBe('0.0015');
    expect(unitPrice(12)).toBe('0.000012');
  });

  it('names units for their count, never by their key', () => {
    expect(quantityText(1, 'ITEM')).toBe('1 item');
    expect(quantityText(2, 'ITEM')).toBe('2 items');
    expect(quantityText(1, 'WORK_UNIT')).toBe('1 work unit');
    expect(quantityText(1_024, 'MB')).toBe('1,024 MB');
    expect(unitName('CPU_SECOND', 1)).toBe('CPU second');
    expect(unitName('SOMETHING_NEW')).toBe('something new');
  });

  it('rewrites the coordinator’s notes with credits and unit names', () => {
    expect(humanNote('10 WORK_UNIT at 1500 µcredits (cross), growing with each unit leased')).toBe('10 work units at 0.0015 credits each (the bid met the ask), growing with each unit leased');
    expect(humanNote('1 GFLOP at 2000000 µcredits (auto negotiated)')).toBe('1 GFLOP at 2.00 credits each (agreed by automatic negotiation)');
    expect(humanNote('3 of 4 WORK_UNIT validated')).toBe('3 of 4 work units validated');
    expect(humanNote('Barter leg: 1 ITEM of file; 2.5 credits held for it in escrow')).toBe('Barter leg: 1 item of file; 2.5 credits held for it in escrow');
    expect(humanNote('The window opened')).toBe('The window opened');
  });
});
