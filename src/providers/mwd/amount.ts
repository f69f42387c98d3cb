/**
 * MWD amounts are strings with two implied decimals: "5500" is NT$55.00 (docs/providers.md, "MWD";
 * TradeAmount). Our amounts are whole New Taiwan dollars.
 */
export function toMwdAmount(dollars: number): string {
  if (!Number.isSafeInteger(dollars) || dollars <= 0) {
    throw new RangeError(`An MWD amount must be a positive whole number of NT$, not ${dollars}`);
  }
  return String(dollars * 100);
}
