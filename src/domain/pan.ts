/**
 * Card numbers (PANs) never leave the provider client whole: money-safety rule 4. These helpers cut
 * a PAN to its last four digits and find anything that looks like one in free text.
 */

/** The Luhn check every real card number passes. */
export function isLuhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i += 1) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** Runs of 13–19 digits, allowing the spaces or dashes people write card numbers with. */
const panLike = /\d(?:[ -]?\d){12,18}/g;

/** Every Luhn-valid 13–19 digit number in `text` (what a card-data scan looks for). */
export function findPans(text: string): string[] {
  return [...text.matchAll(panLike)].map((m) => m[0].replace(/[ -]/g, '')).filter(isLuhnValid);
}

/** `text` with every Luhn-valid card number replaced by a mask that keeps the last four digits. */
export function maskPans(text: string): string {
  return text.replace(panLike, (match) => {
    const digits = match.replace(/[ -]/g, '');
    return isLuhnValid(digits) ? `****${digits.slice(-4)}` : match;
  });
}

/** The last four digits of a card number, full or masked ("438045******2708" → "2708"). */
export function lastFour(cardNumber: string): string | undefined {
  const digits = cardNumber.replace(/\D/g, '');
  return digits.length >= 4 ? digits.slice(-4) : undefined;
}
