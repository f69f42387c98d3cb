/**
 * The checks a workflow makes of its own input, without zod (docs/engine.md, "The workflow bundle"):
 * the shape the workflow code relies on before its first step. A run's input was validated by whoever
 * started it — the API, the CLI — against the schemas in src/domain/schemas/; for a run started by
 * hand (the Web UI's "Start Workflow", `temporal workflow start`) each run's first step validates the
 * whole input against its schema: `openRefund` for a refund (src/activities/ledger.ts),
 * `checkEventData` for an order's or a subscription's cancellation (src/activities/input.ts).
 */

type FieldKind = 'id' | 'text' | 'integer' | 'count' | readonly string[];
type Shape = Record<string, { kind: FieldKind; optional?: true }>;

const req = (kind: FieldKind) => ({ kind });
const opt = (kind: FieldKind) => ({ kind, optional: true as const });

/** The problems of `input` against `shape`, each naming its field; none when it has the shape. */
export function shapeProblems(input: unknown, shape: Shape): string[] {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return ['(input): must be an object'];
  const fields = input as Record<string, unknown>;
  return Object.entries(shape).flatMap(([field, { kind, optional }]) => {
    const value = fields[field];
    if (value === undefined) return optional ? [] : [`${field}: is required`];
    if (Array.isArray(kind)) return kind.includes(value) ? [] : [`${field}: must be ${kind.map((k) => `"${k}"`).join(' or ')}`];
    if (kind === 'id') return typeof value === 'string' && value.length > 0 ? [] : [`${field}: must be a non-empty string`];
    if (kind === 'text') return typeof value === 'string' ? [] : [`${field}: must be a string`];
    if (kind === 'integer') return Number.isSafeInteger(value) && (value as number) > 0 ? [] : [`${field}: must be a positive whole number`];
    return Number.isSafeInteger(value) && (value as number) >= 0 ? [] : [`${field}: must be a whole number, 0 or more`];
  });
}

const refundCommon = { refundId: req('id'), orderId: req('id'), amount: req('integer'), reason: opt('text') };

/** A refund request: the fields the refund run reads before its first step validates the rest. */
export function refundRequestProblems(input: unknown): string[] {
  const provider = shapeProblems(input, { provider: req(['oen', 'mwd']) });
  if (provider.length > 0) return provider;
  const { provider: name } = input as { provider: 'oen' | 'mwd' };
  return shapeProblems(input, name === 'oen' ? { ...refundCommon, transactionHid: req('id') } : { ...refundCommon, cardToken: req('id') });
}

export const orderCancelledProblems = (input: unknown) =>
  shapeProblems(input, { orderId: req('id'), provider: req(['oen']), reason: opt('text'), subscriptionId: opt('id') });

export const subscriptionCancelledProblems = (input: unknown) =>
  shapeProblems(input, { provider: req(['oen']), subscriptionId: req('id'), merchantId: opt('id'), reason: opt('text') });

export const pingInputProblems = (input: unknown) => shapeProblems(input ?? {}, { message: opt('text'), delayMs: opt('count') });

/** A refund record as a failed run carries it in its failure's details. */
export function isRefundRecord(value: unknown): boolean {
  return shapeProblems(value, { refundId: req('id'), status: req('id'), provider: req(['oen', 'mwd']), workflowId: req('id') }).length === 0;
}
