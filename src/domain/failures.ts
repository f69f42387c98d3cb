/**
 * The failure vocabulary: every failure type the engine itself gives (an ApplicationFailure's type)
 * and every error code it writes on a refund record, each defined once here and used by name
 * (`codes.RunEnded`), never as a string elsewhere. A provider's own failure types (`OenT0001`,
 * `MwdHttp502`, …) are defined by its rule table (src/providers/oen/errors.ts,
 * src/providers/mwd/errors.ts); `ErrorCode` takes them by their prefix. docs/engine.md lists what
 * each means.
 */
export const codes = {
  // A run refused before it acted.
  InvalidInput: 'InvalidInput',
  DuplicateRefund: 'DuplicateRefund',
  RefundRequestConflict: 'RefundRequestConflict',
  LedgerRefused: 'LedgerRefused',
  // A run refundflow's intake did not start: no accepted request stands behind it (money-safety rule 8).
  NotRequested: 'NotRequested',
  // How a refund run ends when the refund failed or was cancelled (the run's failure type).
  RefundFailed: 'RefundFailed',
  RefundCancelled: 'RefundCancelled',
  // Why a refund was cancelled (its record's error code).
  Rejected: 'Rejected',
  Cancelled: 'Cancelled',
  CancelRequested: 'CancelRequested',
  ApprovalTimeout: 'ApprovalTimeout',
  // An operator decision a run refused after taking it (a cancel that came before the run could check it).
  DecisionRefused: 'DecisionRefused',
  // How a provider call ended without the provider's own failure type.
  ProviderUnavailable: 'ProviderUnavailable',
  ProviderCallEnded: 'ProviderCallEnded',
  RetryWindowPassed: 'RetryWindowPassed',
  RequiresAttention: 'RequiresAttention',
  // What a provider activity concluded.
  OenCheckFailed: 'OenCheckFailed',
  OenStateUnexplained: 'OenStateUnexplained',
  OenSubscriptionUnconfirmed: 'OenSubscriptionUnconfirmed',
  MwdOutcomeUnknown: 'MwdOutcomeUnknown',
  MwdRefusedAfterResend: 'MwdRefusedAfterResend',
  // What reconciliation and an order's cancellation leave for a person.
  OenNotRefunded: 'OenNotRefunded',
  ReconcileMismatch: 'ReconcileMismatch',
  // A refund the ledger held as failed that Oen shows refunded (late): order management was told it failed.
  FailedButRefunded: 'FailedButRefunded',
  RunEnded: 'RunEnded',
  NotRefundedByOrder: 'NotRefundedByOrder',
  // A person settled a refund in requires_attention as failed (src/workflows/resolve.ts).
  ResolvedFailed: 'ResolvedFailed',
} as const;

export type EngineCode = (typeof codes)[keyof typeof codes];

/** A provider's own failure type, from its rule table. */
export type ProviderFailureType = `Oen${string}` | `Mwd${string}`;

/**
 * A run the gate stopped before any provider call (money-safety rule 8): no request accepted by the
 * intake stands behind it. `notRequested` says why, for the run's failure and the audit trail.
 */
export interface NotRequested {
  notRequested: string;
}

/** What a refund record's `error.code` holds. */
export type ErrorCode = EngineCode | ProviderFailureType;

/** A refund record's error: the code, and what a person should read. */
export interface RecordError {
  code: ErrorCode;
  message: string;
}

/**
 * A failure's type as Temporal or the ledger carries it (a plain string), as an error code: every
 * failure type a refund's steps throw is one of `codes` or a provider's; `fallback` when there is none.
 */
export function errorCode(type: string | null | undefined, fallback: EngineCode): ErrorCode {
  return (type ?? fallback) as ErrorCode;
}
