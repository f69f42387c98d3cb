import { describe, expect, it } from 'vitest';
import { isLuhnValid } from '../../src/domain/pan.js';
import { mwdDemo } from '../../src/providers/sandbox-demo.js';

describe("the MWD demo's card token (printed in npm start's banner)", () => {
  it("has MWD's shape, and its 16 digits never pass the Luhn check a card number passes", () => {
    // About one random 16-digit string in ten passes Luhn: 2,000 demos would meet some two hundred.
    for (let i = 0; i < 2_000; i += 1) {
      const { request } = mwdDemo(1000);
      if (request.provider !== 'mwd') throw new Error('an MWD demo');
      const match = /^[0-9a-f-]{36}_(\d{16})$/.exec(request.cardToken);
      expect(match?.[1], request.cardToken).toBeDefined();
      expect(isLuhnValid(match?.[1] ?? ''), request.cardToken).toBe(false);
    }
  });
});
