import { codes, type ErrorCode } from './failures.js';
import type { OenShows } from './oen-shows.js';
import { evidenceError, type ReconcileOutcome, type ReconcilePolicy } from './reconcile.js';
import type { RefundStatus, TransitionFields } from './refund-status.js';
import type { RefundEnd } from './provider-call.js';
import type { RefundRecord } from './schemas/refund-record.js';

/**
 * What reconciliation does with one refund (docs/reconciliation.md, "What one run does"). Pure: the
 * workflow (src/workflows/reconcile.ts) asks Oen and the ledger, then carries out the action these
 * functions choose; test/unit/reconcile-decision.test.ts runs every branch without a server.
 */

/** One refund's part in a run. Every action but `resubmit` is carried out as it is. */
export type ReconcileAction =
  /** Left as it is, counted. `confirm`: a success Oen bore out, not asked about again. */
  | { kind: 'count'; outcome: ReconcileOutcome; confirm?: true }
  /** Left as it is, counted and noted in the report with the evidence. */
  | { kind: 'note'; outcome: ReconcileOutcome; evidence: string }
  /** Moved to `to` with `fields`, if the ledger row is still as read (else `changed_meanwhile`). */
  | { kind: 'move'; to: RefundStatus; outcome: ReconcileOutcome; evidence: string; fields: TransitionFields }
  /** Left with a person, who finds Oen's evidence on the refund itself (`error`); noted as `unexplained`. */
  | { kind: 'attach'; error: { code: string; message: string }; evidence: string }
  /** Oen shows it still charged with nothing refunded, and the policy sends such a refund again (check, then act). */
  | { kind: 'resubmit'; evidence: string };

/** What these functions read of a refund. */
export type Reconciled = Pick<RefundRecord, 'status' | 'error' | 'transactionHid' | 'workflowId'>;

/**
 * An Oen refund the ledger holds in requires_attention, stuck in submitting, or recently succeeded or
 * failed, against what Oen shows. `runOpen`: a refund in submitting whose run (or the run that claimed
 * it) is still open is that run's to settle. Nothing is sent but on Oen's evidence of no refund
 * (money-safety rule 2); a refund the ledger believed settled is never sent again here.
 */
export function reconcileAction(record: Reconciled, shows: OenShows, policy: Pick<ReconcilePolicy, 'resubmit'>, runOpen: boolean): ReconcileAction {
  if (record.status === 'submitting' && runOpen) {
    return { kind: 'note', outcome: 'still_running', evidence: `its run ${record.workflowId}, or the run that claimed it, is still open; left to it` };
  }
  const { kind, evidence } = shows;
  // Oen could not be asked (or the answer is of a kind no judgement gives): nothing is known, nothing is done.
  if (kind !== 'refunded' && kind !== 'charged' && kind !== 'unexplained') return { kind: 'note', outcome: 'provider_unreachable', evidence };
  if (record.status === 'failed') return recheckFailed(record, kind, evidence);
  if (record.status === 'succeeded') {
    if (kind === 'refunded') return { kind: 'count', outcome: 'confirmed', confirm: true };
    return moveToPerson('mismatch', evidence, codes.ReconcileMismatch, `the ledger recorded this refund as succeeded, but ${evidence}`);
  }
  if (kind === 'refunded') {
    // Order management was told it failed, and may have asked again or refunded another way: a person decides.
    if (record.error?.code === codes.FailedButRefunded) return { kind: 'note', outcome: 'left_for_person', evidence };
    return { kind: 'move', to: 'succeeded', outcome: 'resolved', evidence, fields: { providerReference: record.transactionHid ?? '', error: null } };
  }
  if (kind === 'unexplained') {
    if (record.status === 'submitting') return moveToPerson('unexplained', evidence, codes.OenStateUnexplained, evidence);
    return { kind: 'attach', error: evidenceError(evidence, record.error), evidence };
  }
  if (policy.resubmit) return { kind: 'resubmit', evidence };
  return leftForPerson(record, evidence, 'not sent again (RECONCILE_RESUBMIT is off): a person decides');
}

/**
 * A recent Oen refund that ended failed: `failed` says Oen did not refund (rule 6), and a failed
 * refund may be asked again. Oen showing it refunded after all (a late refund) takes it back to a
 * person, FailedButRefunded — a mismatch, counted and alerted like a success Oen does not show, and
 * never settled by reconciliation itself; a state nobody can explain goes to a person with the
 * evidence. Still charged with nothing refunded bears the ledger out.
 */
function recheckFailed(record: Reconciled, kind: 'refunded' | 'charged' | 'unexplained', evidence: string): ReconcileAction {
  if (kind === 'charged') return { kind: 'count', outcome: 'confirmed' };
  const failed = `the ledger recorded this refund as failed (${record.error?.code ?? 'no code'}), but ${evidence}`;
  if (kind === 'unexplained') return moveToPerson('unexplained', evidence, codes.OenStateUnexplained, failed);
  return moveToPerson('mismatch', evidence, codes.FailedButRefunded, `${failed}: Oen refunded it after all`);
}

/**
 * A refund Oen shows still charged that is not sent again (`why`): one in submitting goes to a
 * person (OenNotRefunded); one already with a person stays there, noted.
 */
export function leftForPerson(record: Pick<RefundRecord, 'status'>, evidence: string, why: string): ReconcileAction {
  const message = `${evidence}; ${why}`;
  if (record.status === 'submitting') return moveToPerson('left_for_person', evidence, codes.OenNotRefunded, message);
  return { kind: 'note', outcome: 'left_for_person', evidence: message };
}

function moveToPerson(outcome: ReconcileOutcome, evidence: string, code: ErrorCode, message: string): ReconcileAction {
  return { kind: 'move', to: 'requires_attention', outcome, evidence, fields: { error: { code, message } } };
}

/**
 * Why reconciliation may not send this refund again, whatever RECONCILE_RESUBMIT says; undefined when
 * it may (then only once: the ledger counts its claims). A refund a person resolved is the person's;
 * after a mismatch the ledger believed the money had moved, so a person looks first.
 */
export function notToSendAgain(record: Pick<RefundRecord, 'decisions' | 'error'>): string | undefined {
  const resolution = record.decisions?.find((decision) => decision.action === 'resolve');
  if (resolution) {
    return `${resolution.by.name} resolved it (${resolution.reason ?? 'a resolution'}): reconciliation never sends a resolved refund again; a person decides`;
  }
  if (record.error?.code === codes.ReconcileMismatch || record.error?.code === codes.FailedButRefunded) {
    return `the ledger had recorded it as ${record.error.code === codes.ReconcileMismatch ? 'succeeded' : 'failed'} (a mismatch): a person decides before anything is sent`;
  }
  return undefined;
}

/** How a refund sent again ended, for the report: resubmitted on a success, else resubmit_unresolved, with what the provider said. */
export function sentAgain(evidence: string, end: RefundEnd): { outcome: ReconcileOutcome; evidence: string } {
  if (end.status === 'succeeded') return { outcome: 'resubmitted', evidence: `${evidence}; sent again: ${end.note ?? 'refunded'}` };
  const error = end.fields.error;
  return { outcome: 'resubmit_unresolved', evidence: `${evidence}; sent again: ${error ? `${error.code} — ${error.message}` : end.status}` };
}

/** Whether a refund's run is still open, and if not, how Temporal says it ended ('terminated', 'completed', …, or 'not found'). */
export type RunEnd = { open: true } | { open: false; ended: string };

/**
 * A refund untouched for long whose run is no longer open: it was terminated, or ended without
 * settling it. Nothing was sent before `submitting`: cancelled. An MWD refund in submitting ends on
 * what its sends left: a success recorded → succeeded; a send never answered (`unansweredBy`) →
 * requires_attention (MWD cannot be asked); otherwise every send was answered with a failure or
 * refusal, or none was made → requires_attention, since no documented refusal ended it (`failed` is
 * never a guess).
 */
export function runEndedAction(
  record: Pick<RefundRecord, 'status' | 'workflowId' | 'providerReference'>,
  run: RunEnd,
  unansweredBy: string | undefined,
): ReconcileAction {
  if (run.open) return { kind: 'count', outcome: 'still_running' };
  const gone =
    run.ended === 'terminated'
      ? `its run ${record.workflowId} was terminated through Temporal (person unknown) without settling it`
      : `its run ${record.workflowId} ended without settling it`;
  if (record.status !== 'submitting') {
    const evidence = `${gone}, before the refund was sent: nothing was sent`;
    return { kind: 'move', to: 'cancelled', outcome: 'run_ended', evidence, fields: { error: { code: codes.RunEnded, message: evidence } } };
  }
  if (record.providerReference) {
    return {
      kind: 'move',
      to: 'succeeded',
      outcome: 'run_ended',
      evidence: `${gone}; MWD's success (${record.providerReference}) was recorded before it ended`,
      fields: { error: null },
    };
  }
  const [code, evidence] = unansweredBy
    ? [
        codes.MwdOutcomeUnknown,
        `${gone}: ${unansweredBy} sent the refund to MWD and never recorded an answer. MWD cannot be asked whether the refund happened: check with MWD`,
      ]
    : [
        codes.RunEnded,
        `${gone}, while it was being submitted: no send was left unanswered (each was answered with a failure, or none was made), so MWD should show no refund; check with MWD`,
      ];
  return moveToPerson('run_ended', evidence, code, evidence);
}
