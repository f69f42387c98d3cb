/**
 * An operator's approve, reject or cancel: who decided and why, both optional, for the record, and
 * the refund it is for (the API always names it; a run refuses a decision naming another refund).
 * The API validates it with its schema (src/domain/schemas/operator.ts); a run checks it again with
 * `operatorInputProblems` (an update may come from the Web UI or `temporal workflow update`), both
 * from the limits here.
 */
export interface OperatorInput {
  refundId?: string;
  /** Who decided (e.g. an operator's name). */
  by?: string;
  reason?: string;
}

export const operatorInputLimits = { refundId: 64, by: 200, reason: 500 } as const;

/** What is wrong with an update's argument, field by field; none for a good one or none given. */
export function operatorInputProblems(input: unknown): string[] {
  if (input === undefined || input === null) return [];
  if (typeof input !== 'object' || Array.isArray(input)) return ['input must be an object: {"by": "…", "reason": "…"}'];
  const problems: string[] = [];
  for (const [field, value] of Object.entries(input)) {
    if (!Object.hasOwn(operatorInputLimits, field)) {
      problems.push(`input has a field it does not take: ${field}`);
      continue;
    }
    const max = operatorInputLimits[field as keyof typeof operatorInputLimits];
    if (typeof value !== 'string') problems.push(`${field} must be a string`);
    else if (field !== 'reason' && value.length === 0) problems.push(`${field} must not be empty`);
    else if (value.length > max) problems.push(`${field} must be at most ${max} characters`);
  }
  return problems;
}
