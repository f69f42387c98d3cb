import { describe, expect, it } from 'vitest';
import { findPans, isLuhnValid, lastFour, maskPans } from '../../src/domain/pan.js';

describe('card number handling', () => {
  it('knows a Luhn-valid number from one that is not', () => {
    for (const card of ['4242424242424242', '4000000000002503', '5200000000002151']) {
      expect(isLuhnValid(card)).toBe(true);
    }
    expect(isLuhnValid('4242424242424241')).toBe(false);
    // Oen's failure test card, as its document prints it, does not pass the Luhn check.
    expect(isLuhnValid('4012888818888333')).toBe(false);
  });

  it('finds card numbers written with or without separators, and nothing else', () => {
    const text = 'paid with 4242 4242 4242 4242, refund ref 20240412075446755 and card 4000-0000-0000-2503';
    expect(findPans(text)).toEqual(['4242424242424242', '4000000000002503']);
    expect(findPans('order 202008170002, trade MW202008175703400013, amount 5500')).toEqual([]);
  });

  it('masks card numbers to their last four digits and leaves other numbers alone', () => {
    expect(maskPans('card 4242424242424242 refused (order 202008170002)')).toBe('card ****4242 refused (order 202008170002)');
  });

  it('takes the last four digits of a full or masked number', () => {
    expect(lastFour('4242424242424242')).toBe('4242');
    expect(lastFour('438045******2708')).toBe('2708');
    expect(lastFour('**')).toBeUndefined();
  });
});
