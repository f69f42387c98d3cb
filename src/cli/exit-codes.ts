import type { RefundStatus } from '../domain/refund-status.js';

/**
 * Every exit code of `refundflow`, and what it means: the one table `--help` and docs/cli.md
 * give. A refund's status sets the code only where the command reports one
 * refund's status (`status`, `refund --wait`); everywhere else success is `ok`.
 */
export const exitCodes = {
  ok: { code: 0, meaning: 'done; status, refund --wait: the refund succeeded' },
  refused: { code: 1, meaning: 'the API refused (its reason is printed), or the work could not be done (bulk: a line rejected or not sent)' },
  usage: { code: 2, meaning: 'usage: an unknown command or option, a bad or missing value, no credential or webhook secret' },
  unreachable: { code: 3, meaning: 'cannot reach the API, or no answer within 30 s (sandbox seed: the emulator; schedule install: Temporal)' },
  timedOut: { code: 4, meaning: '--wait: the refund had not ended when --timeout ran out' },
  failed: { code: 10, meaning: 'status, refund --wait: the refund failed (the provider provably did not refund)' },
  cancelled: { code: 11, meaning: 'status, refund --wait: the refund was cancelled (rejected, cancelled, not approved in time)' },
  requiresAttention: { code: 12, meaning: 'status, refund --wait: the refund requires attention (a person must decide)' },
  inProgress: { code: 13, meaning: 'status without --wait: the refund has not ended yet (received, awaiting_approval, submitting)' },
  interrupted: { code: 130, meaning: 'bulk: interrupted (Ctrl-C)' },
} as const;

export type ExitReason = keyof typeof exitCodes;

/** The exit code of a command that reports this one refund's status. */
export function exitCodeOfStatus(status: RefundStatus): number {
  switch (status) {
    case 'succeeded':
      return exitCodes.ok.code;
    case 'failed':
      return exitCodes.failed.code;
    case 'cancelled':
      return exitCodes.cancelled.code;
    case 'requires_attention':
      return exitCodes.requiresAttention.code;
    default:
      return exitCodes.inProgress.code;
  }
}

/** The table, for `--help`. */
export function exitCodeHelp(): string {
  return ['Exit codes:', ...Object.values(exitCodes).map(({ code, meaning }) => `  ${String(code).padStart(3)}  ${meaning}`)].join('\n');
}

/**
 * What stops a command, with the exit code it ends with. `details` go into the `--json` error
 * object beside `error` and `exitCode` (e.g. the API's `httpStatus` and `problems`).
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly reason: ExitReason = 'refused',
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get exitCode(): number {
    return exitCodes[this.reason].code;
  }
}

/** A bad invocation: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError(message, 'usage');
}
