import { ActivityFailure, ApplicationFailure, continueAsNew, log, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  emptyCounts,
  evidenceError,
  REPORT_LIST_LIMIT,
  type ReconcileOutcome,
  type ReconcilePolicy,
  type ReconcileReport,
} from '../domain/reconcile.js';
import { formatNtd } from '../domain/format.js';
import type { OenShows } from '../domain/oen-shows.js';
import type { ProviderOutcome } from '../domain/provider-call.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RunPolicy } from '../domain/policy.js';
import { applicationCause, callEnd, providerCalls } from './provider-calls.js';
import { readPolicy } from './steps.js';
import { codes, type ErrorCode } from '../domain/failures.js';

export interface ReconcileInput {
  /** Overrides of the worker's RECONCILE_* settings for this run. */
  policy?: Partial<ReconcilePolicy>;
  /** Where a run that continued as new left off: its report so far, and the last refund id looked at. */
  resume?: { report: ReconcileReport; after?: string };
}

/** Refunds per page: one Oen inspection activity each, and the history a page adds stays small. */
const PAGE_SIZE = 50;
/** Pages of refunds left behind by ended runs looked at per run; the rest wait for the next run. */
const RUN_ENDED_PAGES = 10;
/** A run continues as new past this many history events (Temporal suggests it sooner on a big history). */
const HISTORY_LIMIT = 10_000;

const ledger = proxyLocalActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/** One list per order, each order on its own; a page that fails as a whole counts its refunds unreachable. */
const { inspectOenRefunds } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  summary: 'Ask Oen about a page of refunds',
});

/** Outcome events, retried until the receiver takes them (the same delivery ids as any other outcome). */
const { deliverOutcome } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
});

/**
 * Reconciliation (docs/reconciliation.md): the ledger against what Oen shows. Oen refunds in
 * requires_attention or stuck in submitting are settled on Oen's evidence (refunded → succeeded;
 * still charged → sent again through the normal check-then-act activity when RECONCILE_RESUBMIT is
 * on, else left for a person; anything else stays with the evidence); Oen refunds that succeeded
 * recently are confirmed (not shown refunded → requires_attention, a counted mismatch); MWD, which
 * cannot be asked, is listed. The report is the result and is kept in the ledger; every refund whose
 * status changed gets its outcome event.
 */
export async function reconcileWorkflow(input: ReconcileInput = {}): Promise<ReconcileReport> {
  const info = workflowInfo();
  const policy: ReconcilePolicy = input.resume?.report.policy ?? { ...(await ledger.reconcilePolicy()), ...input.policy };
  const report: ReconcileReport = input.resume?.report ?? {
    workflowId: info.workflowId,
    runId: info.firstExecutionRunId,
    startedAt: new Date().toISOString(),
    policy,
    examined: 0,
    counts: emptyCounts(),
    changed: [],
    notes: [],
    mwdUnresolved: [],
  };
  let after = input.resume?.after;
  let runPolicy: RunPolicy | undefined;

  const count = (outcome: ReconcileOutcome) => {
    report.counts[outcome] += 1;
  };
  const note = (record: RefundRecord, outcome: ReconcileOutcome, evidence: string) => {
    count(outcome);
    if (report.notes.length < REPORT_LIST_LIMIT) report.notes.push({ refundId: record.refundId, outcome, status: record.status, evidence });
  };
  const deliveries: Array<Promise<unknown>> = [];
  const changed = (before: RefundRecord, after: RefundRecord, outcome: ReconcileOutcome, evidence: string) => {
    count(outcome);
    if (report.changed.length < REPORT_LIST_LIMIT) {
      report.changed.push({
        refundId: after.refundId,
        orderId: after.orderId,
        ...(after.transactionHid !== undefined && { transactionHid: after.transactionHid }),
        outcome,
        from: before.status,
        to: after.status,
        evidence,
      });
    }
    deliveries.push(deliverOutcome(after));
  };

  /** Moves the refund if it is still as read; a refund its own run moved meanwhile is left to it. */
  async function move(record: RefundRecord, to: RefundStatus, outcome: ReconcileOutcome, evidence: string, fields: TransitionFields): Promise<void> {
    const result = await ledger.applyReconciliation(record, to, fields);
    if (result.changed) changed(record, result.record, outcome, evidence);
    else note(record, 'changed_meanwhile', `now ${result.record.status}; left to its own run`);
  }

  /** Oen shows the transaction charged and no refund: send it again, check then act, as a refund run does. */
  async function resubmit(record: RefundRecord, evidence: string): Promise<void> {
    const resubmission = await ledger.resubmissionRequest(record);
    if ('impossible' in resubmission) {
      if (record.status === 'submitting') {
        return move(record, 'requires_attention', 'left_for_person', evidence, { error: { code: codes.OenNotRefunded, message: `${evidence}; ${resubmission.impossible}` } });
      }
      return note(record, 'left_for_person', `${evidence}; ${resubmission.impossible}`);
    }
    // The claim: from here the refund is being sent, by this run; a refund that moved meanwhile is not.
    const claimed = await ledger.applyReconciliation(record, 'submitting', { error: null });
    if (!claimed.changed) {
      return note(
        record,
        'changed_meanwhile',
        `now ${claimed.record.status}: another run (or an earlier try of this step) claimed it first; if nothing works it, a later run finds it stuck`,
      );
    }
    runPolicy ??= await readPolicy();
    const { submitOenRefund } = providerCalls(
      runPolicy,
      { heartbeatTimeout: '20 seconds', summary: `Oen refund ${record.transactionHid ?? ''} ${formatNtd(record.amount)}, sent again by reconciliation` },
      'ledger',
    );
    let result: ProviderOutcome | { outcome: 'failed'; code: ErrorCode; reason: string };
    try {
      result = await submitOenRefund(resubmission.request, runPolicy.retryWindowMs);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const end = callEnd(err, runPolicy);
      result = { outcome: end.status, code: end.code, reason: end.message };
    }
    const [to, fields, sentAgain]: [RefundStatus, TransitionFields, string] =
      result.outcome === 'succeeded'
        ? ['succeeded', { providerReference: result.providerReference, error: null }, result.note ?? 'refunded']
        : [result.outcome, { error: { code: result.code, message: result.reason } }, `${result.code} — ${result.reason}`];
    let done: RefundRecord;
    try {
      done = await ledger.recordStatus(record.refundId, to, fields);
    } catch (err) {
      // The ledger refused the move (a local activity's failure arrives unwrapped): the refund's own
      // run moved it meanwhile; what it recorded stands.
      if (!(err instanceof ApplicationFailure || err instanceof ActivityFailure)) throw err;
      return note(record, 'changed_meanwhile', `sent again, but the ledger refused to record it: ${err.message}`);
    }
    return changed(record, done, to === 'succeeded' ? 'resubmitted' : 'resubmit_unresolved', `${evidence}; sent again: ${sentAgain}`);
  }

  async function settle(record: RefundRecord, found: OenShows): Promise<void> {
    // A refund long in submitting may only be queued behind a burst: while its run is open, it is the run's.
    if (record.status === 'submitting' && (await ledger.refundRunOpen(record.workflowId, record.refundId))) {
      return note(record, 'still_running', `its run ${record.workflowId}, or the run that claimed it, is still open; left to it`);
    }
    if (found.kind === 'unreachable') return note(record, 'provider_unreachable', found.evidence);
    if (record.status === 'failed') return recheckFailed(record, found);
    if (record.status === 'succeeded') {
      if (found.kind === 'refunded') {
        count('confirmed');
        return;
      }
      return move(record, 'requires_attention', 'mismatch', found.evidence, {
        error: { code: codes.ReconcileMismatch, message: `the ledger recorded this refund as succeeded, but ${found.evidence}` },
      });
    }
    if (found.kind === 'refunded') {
      // Order management was told it failed, and may have asked again or refunded another way: a person decides.
      if (record.error?.code === codes.FailedButRefunded) return note(record, 'left_for_person', found.evidence);
      return move(record, 'succeeded', 'resolved', found.evidence, { providerReference: record.transactionHid ?? '', error: null });
    }
    if (found.kind === 'unexplained') {
      if (record.status === 'submitting') {
        return move(record, 'requires_attention', 'unexplained', found.evidence, { error: { code: codes.OenStateUnexplained, message: found.evidence } });
      }
      // It stays with a person, who now finds Oen's evidence on the refund itself.
      await ledger.attachReconcileEvidence(record, evidenceError(found.evidence, record.error));
      return note(record, 'unexplained', found.evidence);
    }
    // Charged, nothing refunded.
    if (policy.resubmit) return resubmit(record, found.evidence);
    const why = `${found.evidence}; not sent again (RECONCILE_RESUBMIT is off): a person decides`;
    if (record.status === 'submitting') {
      return move(record, 'requires_attention', 'left_for_person', found.evidence, { error: { code: codes.OenNotRefunded, message: why } });
    }
    return note(record, 'left_for_person', why);
  }

  /**
   * A recent Oen refund that ended failed: `failed` says Oen did not refund (rule 6), and a failed
   * refund may be asked again. Oen showing it refunded after all (a late refund) takes it back to a
   * person, FailedButRefunded — a mismatch, counted and alerted like a success Oen does not show, and
   * never settled by reconciliation itself; a state nobody can explain goes to a person with the
   * evidence. Still charged with nothing refunded bears the ledger out.
   */
  async function recheckFailed(record: RefundRecord, found: Exclude<OenShows, { kind: 'unreachable' }>): Promise<void> {
    if (found.kind === 'charged') {
      count('confirmed');
      return;
    }
    if (found.kind === 'unexplained') {
      return move(record, 'requires_attention', 'unexplained', found.evidence, {
        error: { code: codes.OenStateUnexplained, message: `the ledger recorded this refund as failed (${record.error?.code ?? 'no code'}), but ${found.evidence}` },
      });
    }
    return move(record, 'requires_attention', 'mismatch', found.evidence, {
      error: {
        code: codes.FailedButRefunded,
        message: `the ledger recorded this refund as failed (${record.error?.code ?? 'no code'}), but ${found.evidence}: Oen refunded it after all`,
      },
    });
  }

  /**
   * A refund untouched for long whose run is no longer open: it was terminated, or ended without
   * settling it. Nothing was sent before `submitting`: cancelled. An MWD refund in submitting ends on
   * what its sends left: a success recorded → succeeded; a send never answered → requires_attention
   * (MWD cannot be asked); otherwise every send was answered with a failure or refusal, or none was
   * made → requires_attention, since no documented refusal ended it (`failed` is never a guess).
   */
  async function settleRunEnded(record: RefundRecord, unansweredBy: string | undefined): Promise<void> {
    // Runs from before how a run ended was asked (and their recorded histories) ask only whether it is open.
    const run = patched('run-end-named') ? await ledger.refundRunEnd(record) : { open: await ledger.refundRunOpen(record.workflowId), ended: '' };
    if (run.open) {
      count('still_running');
      return;
    }
    const gone =
      'ended' in run && run.ended === 'terminated'
        ? `its run ${record.workflowId} was terminated through Temporal (person unknown) without settling it`
        : `its run ${record.workflowId} ended without settling it`;
    if (record.status !== 'submitting') {
      const evidence = `${gone}, before the refund was sent: nothing was sent`;
      return move(record, 'cancelled', 'run_ended', evidence, { error: { code: codes.RunEnded, message: evidence } });
    }
    if (record.providerReference) {
      return move(record, 'succeeded', 'run_ended', `${gone}; MWD's success (${record.providerReference}) was recorded before it ended`, { error: null });
    }
    const [code, evidence] = unansweredBy
      ? [codes.MwdOutcomeUnknown, `${gone}: ${unansweredBy} sent the refund to MWD and never recorded an answer. MWD cannot be asked whether the refund happened: check with MWD`]
      : [codes.RunEnded, `${gone}, while it was being submitted: no send was left unanswered (each was answered with a failure, or none was made), so MWD should show no refund; check with MWD`];
    return move(record, 'requires_attention', 'run_ended', evidence, { error: { code, message: evidence } });
  }

  for (;;) {
    const page = await ledger.reconcileCandidates({ policy, ...(after !== undefined && { after }), limit: PAGE_SIZE });
    if (page.length === 0) break;
    after = page[page.length - 1]?.refundId;
    let evidence: Array<OenShows & { refundId: string }>;
    try {
      evidence = await inspectOenRefunds(page);
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      const reason = `Oen could not be asked: ${applicationCause(err)?.message ?? err.message}`;
      evidence = page.map((r) => ({ refundId: r.refundId, kind: 'unreachable', evidence: reason }));
    }
    const byRefund = new Map(evidence.map((e) => [e.refundId, e]));
    const confirmed: string[] = [];
    for (const record of page) {
      report.examined += 1;
      const found = byRefund.get(record.refundId) ?? { refundId: record.refundId, kind: 'unreachable', evidence: 'Oen was not asked about it' };
      if (record.status === 'succeeded' && found.kind === 'refunded') confirmed.push(record.refundId);
      await settle(record, found);
    }
    if (confirmed.length > 0) await ledger.confirmRefunds(confirmed);
    await Promise.all(deliveries.splice(0));
    log.info('reconciliation page done', { examined: report.examined, after });
    const now = workflowInfo();
    if (now.continueAsNewSuggested || now.historyLength > HISTORY_LIMIT) {
      return continueAsNew<typeof reconcileWorkflow>({ resume: { report, ...(after !== undefined && { after }) } });
    }
  }

  // Refunds whose run ended without settling them (terminated): none holds a transaction unseen.
  let ended: string | undefined;
  for (let pages = 0; pages < RUN_ENDED_PAGES; pages += 1) {
    const page = await ledger.runEndedCandidates({ policy, ...(ended !== undefined && { after: ended }), limit: PAGE_SIZE });
    if (page.length === 0) break;
    ended = page[page.length - 1]?.record.refundId;
    for (const { record, unansweredBy } of page) {
      report.examined += 1;
      await settleRunEnded(record, unansweredBy);
    }
    await Promise.all(deliveries.splice(0));
  }

  const mwd = await ledger.mwdUnresolved({ policy, limit: REPORT_LIST_LIMIT });
  report.counts.mwd_unresolved = mwd.total;
  report.mwdUnresolved = mwd.refunds;
  report.finishedAt = new Date().toISOString();
  await ledger.saveReconcileReport(report);
  return report;
}
