import { ActivityFailure, ApplicationFailure, continueAsNew, log, patched, proxyActivities, proxyLocalActivities, workflowInfo } from '@temporalio/workflow';
import { providerCallSummary } from '../domain/format.js';
import type { OenShows } from '../domain/oen-shows.js';
import type { RunPolicy } from '../domain/policy.js';
import { emptyCounts, REPORT_LIST_LIMIT, type ReconcileOutcome, type ReconcilePolicy, type ReconcileReport } from '../domain/reconcile.js';
import { leftForPerson, reconcileAction, runEndedAction, sentAgain, type ReconcileAction, type RunEnd } from '../domain/reconcile-decision.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { profiles, type DeliveryActivities, type InspectionActivities, type LedgerActivities, type PolicyActivities } from './activity-options.js';
import { applicationCause, submitRefund } from './provider-calls.js';
import { outcomeInOutbox, readPolicy } from './steps.js';

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

const ledger = proxyLocalActivities<LedgerActivities>(profiles.ledger);
const { reconcilePolicy } = proxyLocalActivities<PolicyActivities>(profiles.policy);
/** Temporal (and the ledger) asked about a refund's run, as local activities retried like the ledger's. */
const runs = proxyLocalActivities<Pick<InspectionActivities, 'refundRunOpen' | 'refundRunEnd'>>(profiles.ledger);
/** One list per order, each order on its own; a page that fails as a whole counts its refunds unreachable. */
const { inspectOenRefunds } = proxyActivities<InspectionActivities>({ ...profiles.inspection.oenPage, summary: 'Ask Oen about a page of refunds' });
/** Outcome events, retried until the receiver takes them (the same delivery ids as any other outcome). */
const { deliverOutcome } = proxyActivities<DeliveryActivities>(profiles.delivery.untilDelivered);

/**
 * Reconciliation (docs/reconciliation.md): the ledger against what Oen shows, a page of Oen refunds
 * at a time; the action for each is chosen by `reconcileAction` (src/domain/reconcile-decision.ts)
 * and carried out by `Reconciliation`. Then the refunds whose run ended without settling them
 * (`runEndedAction`), and the MWD refunds in doubt, which cannot be asked about, listed. The report
 * is the result and is kept in the ledger; every refund whose status changed gets its outcome event.
 */
export async function reconcileWorkflow(input: ReconcileInput = {}): Promise<ReconcileReport> {
  const policy: ReconcilePolicy = input.resume?.report.policy ?? { ...(await reconcilePolicy()), ...input.policy };
  const run = new Reconciliation(input.resume?.report ?? newReport(policy));
  const { report } = run;
  let after = input.resume?.after;

  for (;;) {
    const page = await ledger.reconcileCandidates({ policy, ...(after !== undefined && { after }), limit: PAGE_SIZE });
    if (page.length === 0) break;
    after = page[page.length - 1]?.refundId;
    const shown = await askOen(page);
    const confirmed: string[] = [];
    for (const record of page) {
      const shows = shown.get(record.refundId) ?? { kind: 'unreachable', evidence: 'Oen was not asked about it' };
      // A refund long in submitting may only be queued behind a burst: while its run is open, it is the run's.
      const runOpen = record.status === 'submitting' && (await runs.refundRunOpen(record.workflowId, record.refundId));
      const action = reconcileAction(record, shows, policy, runOpen);
      if (action.kind === 'count' && action.confirm) confirmed.push(record.refundId);
      await run.examine(record, action);
    }
    if (confirmed.length > 0) await ledger.confirmRefunds(confirmed);
    await run.delivered();
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
    for (const { record, unansweredBy } of page) await run.examine(record, runEndedAction(record, await runEnd(record), unansweredBy));
    await run.delivered();
  }

  const mwd = await ledger.mwdUnresolved({ policy, limit: REPORT_LIST_LIMIT });
  report.counts.mwd_unresolved = mwd.total;
  report.mwdUnresolved = mwd.refunds;
  report.finishedAt = new Date().toISOString();
  await ledger.saveReconcileReport(report);
  return report;
}

function newReport(policy: ReconcilePolicy): ReconcileReport {
  const info = workflowInfo();
  return {
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
}

/** What Oen shows of each refund of a page, by refund id; a page Oen could not be asked about shows every refund unreachable. */
async function askOen(page: RefundRecord[]): Promise<Map<string, OenShows>> {
  try {
    return new Map((await inspectOenRefunds(page)).map((shows) => [shows.refundId, shows]));
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    const evidence = `Oen could not be asked: ${applicationCause(err)?.message ?? err.message}`;
    return new Map(page.map((record) => [record.refundId, { kind: 'unreachable', evidence }]));
  }
}

/** How the refund's run ended, if it did. Runs from before that was asked (and their recorded histories) ask only whether it is open. */
async function runEnd(record: RefundRecord): Promise<RunEnd> {
  if (patched('run-end-named')) return runs.refundRunEnd(record);
  return (await runs.refundRunOpen(record.workflowId)) ? { open: true } : { open: false, ended: '' };
}

/**
 * One run's report as it grows, and the refunds' actions carried out: each move only if the refund
 * is still as read. Each move's outcome event is the ledger's (the outbox); a run recorded before
 * the outbox told order management of each change itself, delivered by the end of its page.
 */
class Reconciliation {
  private readonly deliveries: Array<Promise<unknown>> = [];
  /** The worker's refund policy, read once, for the first refund this run sends again. */
  private runPolicy: RunPolicy | undefined;

  constructor(readonly report: ReconcileReport) {}

  /** One refund looked at: its action carried out. */
  async examine(record: RefundRecord, action: ReconcileAction): Promise<void> {
    this.report.examined += 1;
    await this.carryOut(record, action);
  }

  /** Until every change so far is told to order management. */
  async delivered(): Promise<void> {
    await Promise.all(this.deliveries.splice(0));
  }

  private async carryOut(record: RefundRecord, action: ReconcileAction): Promise<void> {
    switch (action.kind) {
      case 'count':
        return this.count(action.outcome);
      case 'note':
        return this.note(record, action.outcome, action.evidence);
      case 'move': {
        const result = await ledger.applyReconciliation(record, action.to, action.fields);
        if (result.changed) return this.changed(record, result.record, action.outcome, action.evidence);
        return this.note(record, 'changed_meanwhile', `now ${result.record.status}; left to its own run`);
      }
      case 'attach':
        await ledger.attachReconcileEvidence(record, action.error);
        return this.note(record, 'unexplained', action.evidence);
      case 'resubmit':
        return this.sendAgain(record, action.evidence);
    }
  }

  /**
   * Oen shows the transaction charged and no refund: the claim (only one claimant gets it), then the
   * path a refund run submits by — check, then act — and its end recorded as that run records it.
   */
  private async sendAgain(record: RefundRecord, evidence: string): Promise<void> {
    const resubmission = await ledger.resubmissionRequest(record);
    if ('impossible' in resubmission) return this.carryOut(record, leftForPerson(record, evidence, resubmission.impossible));
    const claimed = await ledger.applyReconciliation(record, 'submitting', { error: null });
    if (!claimed.changed) {
      return this.note(
        record,
        'changed_meanwhile',
        `now ${claimed.record.status}: another run (or an earlier try of this step) claimed it first; if nothing works it, a later run finds it stuck`,
      );
    }
    this.runPolicy ??= await readPolicy();
    const end = await submitRefund(resubmission.request, this.runPolicy, `${providerCallSummary(record)}, sent again by reconciliation`);
    let done: RefundRecord;
    try {
      done = await ledger.recordStatus(record.refundId, end.status, end.fields);
    } catch (err) {
      // The ledger refused the move (a local activity's failure arrives unwrapped): the refund's own
      // run moved it meanwhile; what it recorded stands.
      if (!(err instanceof ApplicationFailure || err instanceof ActivityFailure)) throw err;
      return this.note(record, 'changed_meanwhile', `sent again, but the ledger refused to record it: ${err.message}`);
    }
    const said = sentAgain(evidence, end);
    return this.changed(record, done, said.outcome, said.evidence);
  }

  private count(outcome: ReconcileOutcome): void {
    this.report.counts[outcome] += 1;
  }

  private note(record: RefundRecord, outcome: ReconcileOutcome, evidence: string): void {
    this.count(outcome);
    if (this.report.notes.length < REPORT_LIST_LIMIT) this.report.notes.push({ refundId: record.refundId, outcome, status: record.status, evidence });
  }

  private changed(before: RefundRecord, after: RefundRecord, outcome: ReconcileOutcome, evidence: string): void {
    this.count(outcome);
    if (this.report.changed.length < REPORT_LIST_LIMIT) {
      this.report.changed.push({
        refundId: after.refundId,
        orderId: after.orderId,
        ...(after.transactionHid !== undefined && { transactionHid: after.transactionHid }),
        outcome,
        from: before.status,
        to: after.status,
        evidence,
      });
    }
    if (!outcomeInOutbox()) this.deliveries.push(deliverOutcome(after));
  }
}
