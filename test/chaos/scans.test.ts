import { describe, expect, it } from 'vitest';
import { cardNumbersIn } from './scans.js';

describe('the card-number scan', () => {
  it('finds card numbers as people and systems write them', () => {
    expect(cardNumbersIn('card 4242 4242 4242 4242, or 4242-4242-4242-4242')).toEqual(['4242424242424242', '4242424242424242']);
    expect(cardNumbersIn('{"cardNum":"4012888888881881"}')).toEqual(['4012888888881881']);
    expect(cardNumbersIn('JCB 3530111333300000 and Amex 378282246310005')).toEqual(['3530111333300000', '378282246310005']);
    expect(cardNumbersIn('Mastercard 2223003122003222')).toEqual(['2223003122003222']);
  });

  it('leaves identifiers, timestamps and non-Luhn numbers alone', () => {
    // A millisecond timestamp that passes Luhn, in an outcome event id; MWD's trade number; a Luhn
    // failure; a masked number.
    expect(cardNumbersIn('RF-1.succeeded.1795588123459')).toEqual([]);
    expect(cardNumbersIn('1795588123459')).toEqual([]);
    expect(cardNumbersIn('4202611250000000020')).toEqual([]); // 19 digits, Luhn fails
    expect(cardNumbersIn('providerReference MW202611250000000020')).toEqual([]);
    expect(cardNumbersIn('4242424242424241')).toEqual([]);
    expect(cardNumbersIn('card ****4242')).toEqual([]);
    // A request id whose digit groups add up to a Luhn-valid run (seen in a chaos run's history).
    expect(cardNumbersIn('"requestId":"40041234-5678-4113-ad19-5258c31d8d78"')).toEqual([]);
    expect(cardNumbersIn('Amex 3782 822463 10005, Diners 3056 930902 5904')).toEqual(['378282246310005', '30569309025904']);
  });
});
