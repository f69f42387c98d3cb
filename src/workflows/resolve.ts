import { ActivityFailure, CancellationScope, patched, proxyActivities } from '@temporalio/workflow';
import { codes } from '../domain/failures.js';
import { providerCallSummary } from '../domain/format.js';
import type { OenShows } from '../domain/oen-shows.js';
import type { DecisionProof } from '../domain/decision-proof.js';
import { describeDecider, type DecisionRecord } from '../domain/operator.js';
import type { RunPolicy } from '../domain/policy.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import {
  describeResolution,
  oenContradiction,
  resolutionDetails,
  resolveInputProblems,
  type Resolution,
  type ResolveInput,
  type ResolveResult,
} from '../domain/resolution.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { profiles, type InspectionActivities } from './activity-options.js';
import { decidedBy } from './decided-by.js';
import { applicationCause, submitRefund } from './provider-calls.js';
import { ResolveView } from './resolve-view.js';
import { secondPerson } from './second-person.js';
import { ledgerStep, readPolicy, tellOrderManagement } from './steps.js';

type Outcome = Exclude<Resolution, { action: 'retry' }>;

/** A refund being resolved: as read, the decision taken on it (and a second person's, at DUAL_APPROVAL_THRESHOLD), and where the run shows itself. */
interface Resolving {
  refund: RefundRecord;
  decision: DecisionRecord;
  second: DecisionRecord[];
  policy: RunPolicy;
  view: ResolveView;
}

/**
 * Asking Oen: one list of the order, while an operator waits — Oen failing or not answering is an
 * answer (`unreachable`), not retried; the activity is retried, a few times, only when it fails itself.
 */
const oenCheck = (summary: string) => proxyActivities<InspectionActivities>({ ...profiles.inspection.oenRefund, summary });

/**
 * A person settles a refund left in requires_attention (docs/engine.md, "resolveWorkflow"): check the
 * input → read the worker's policy and the refund → check who asked (the API's signed proof; Oen: the
 * operator role, MWD: approver) → the refund must be in requires_attention → Oen: ask Oen, and act
 * only on what it bears out (succeeded when it shows the refund; failed, or a retry sent the way a
 * refund run sends, when it shows the transaction still charged with nothing refunded); MWD, which
 * cannot be asked: the approver's word, with evidence → record the decision with the move → tell
 * order management. A refusal changes nothing and completes the run with `{ resolved: false, code }`.
 */
export async function resolveWorkflow(input: ResolveInput): Promise<ResolveResult> {
  const view = new ResolveView(input);
  const twoPeople = secondPerson(input);
  const problems = resolveInputProblems(input);
  if (problems.length > 0) return view.refused('invalid', `Invalid resolution: ${problems.join('; ')}`);
  const { refundId, resolution } = input;

  const policy = await readPolicy();
  const refund = await ledgerStep(`Ledger: read refund ${refundId}`).refundToResolve(refundId);
  if (!refund) return view.refused('not_found', `The ledger has no refund ${refundId}`);
  view.about(refund);
  if (refund.provider === 'mwd' && 'action' in resolution) {
    return view.refused(
      'invalid',
      'An MWD refund is never sent again: MWD cannot be asked whether it refunded. Resolve it as succeeded or failed on an approver’s word, with evidence',
    );
  }

  const details = resolutionDetails(resolution);
  let decision: DecisionRecord;
  const needed = refund.provider === 'mwd' ? 'approver' : 'operator';
  try {
    const who = decidedBy(policy, { action: 'resolve', refundId, proof: input.proof, details, now: Date.now() }, needed);
    decision = { action: 'resolve', ...who, at: new Date().toISOString(), reason: describeResolution(resolution) };
  } catch (err) {
    return view.refused('forbidden', err instanceof Error ? err.message : String(err));
  }
  // A copy of this run's input started again through Temporal, within the proof's lifetime, must
  // neither settle the refund a second time nor later do what its person's answer said was not done.
  // (Runs from before proofs were single use replay as they ran.)
  if (decision.verified && patched('resolve-proof-single-use')) {
    const claim = await ledgerStep(`Ledger: claim the signed resolution of ${describeDecider(decision.by)} for this run`).claimDecisionProof(
      input.proof as DecisionProof,
      details,
    );
    if (!claim.claimed) {
      return view.refused(
        'forbidden',
        `cannot resolve: ${claim.problem}. Resolve it again with \`npx refundflow resolve ${refundId}\` or POST /v1/refunds/${refundId}/resolve`,
      );
    }
  }

  if (refund.status !== 'requires_attention') {
    return view.refused('not_requires_attention', `Refund ${refundId} is ${refund.status}: only a refund in requires_attention is resolved`, {
      status: refund.status,
    });
  }
  const confirmed = await twoPeople.confirmed({ decision, policy, amount: refund.amount, needed, waiting: (text) => view.stage(text) });
  if (confirmed.kind === 'refused') return view.refused(confirmed.code, confirmed.refused);
  const resolving: Resolving = { refund, decision, second: confirmed.second, policy, view };
  if (refund.provider === 'mwd') return onApproversWord(resolving, resolution as Outcome);
  if ('outcome' in resolution && resolution.outcome === 'succeeded' && resolution.providerReference !== refund.transactionHid) {
    return view.refused(
      'invalid',
      `Oen names a refund by its transaction: the reference of refund ${refundId} is ${refund.transactionHid ?? '(none)'}, not ${resolution.providerReference}`,
    );
  }
  return withOen(resolving, resolution);
}

/** MWD cannot be asked: the approver's word, with the evidence they give, is the refund's end. */
async function onApproversWord(resolving: Resolving, resolution: Outcome): Promise<ResolveResult> {
  return settle(resolving, resolution, resolution.evidence);
}

/** Oen is asked first; only what it shows settles the refund, or lets it be sent again. */
async function withOen(resolving: Resolving, resolution: Resolution): Promise<ResolveResult> {
  const { refund, view } = resolving;
  view.stage('asking Oen');
  const found = await askOen(refund);
  const providerEvidence = found.evidence;
  if (found.kind === 'unreachable') {
    return view.refused('provider_unreachable', `Oen could not be asked, so nothing was changed; try again later (${found.evidence})`, { providerEvidence });
  }
  const contradiction = oenContradiction(resolution, found);
  if (contradiction) return view.refused('contradicts_provider', contradiction, { providerEvidence });
  if ('action' in resolution) return sendAgain(resolving, found);
  return settle(resolving, resolution, `${resolution.evidence}; ${found.evidence}`, found.evidence);
}

/** What Oen lists for the refund's transaction: one list of the order's transactions. */
async function askOen(refund: RefundRecord): Promise<OenShows> {
  const unreachable = (why: string): OenShows => ({ kind: 'unreachable', evidence: why });
  try {
    const [found] = await oenCheck(`Ask Oen about ${refund.refundId}: list order ${refund.orderId}`).inspectOenRefunds([refund]);
    return found ?? unreachable('Oen was not asked');
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    return unreachable(`Oen could not be asked: ${applicationCause(err)?.message ?? err.message}`);
  }
}

/**
 * Succeeded or failed as the person said (and, for Oen, as Oen showed): one move, made only if the
 * refund is still as read, carrying the decision and its evidence. `oenShowed`: Oen's evidence (an
 * Oen success is then confirmed at the provider, and reconciliation need not ask again).
 */
async function settle(resolving: Resolving, resolution: Outcome, evidence: string, oenShowed?: string): Promise<ResolveResult> {
  const { decision } = resolving;
  const fields: TransitionFields =
    resolution.outcome === 'succeeded'
      ? { providerReference: resolution.providerReference, error: null }
      : { error: { code: codes.ResolvedFailed, message: `resolved as failed by ${describeDecider(decision.by)}: ${evidence}` } };
  return CancellationScope.nonCancellable(async () => {
    const moved = await moveAsDecided(
      resolving,
      resolution.outcome,
      { ...fields, decisions: [decision, ...resolving.second].map((d) => ({ ...d, evidence })) },
      oenShowed !== undefined,
    );
    if (moved.kind === 'refused') return moved.answer;
    return tellAndAnswer(moved.record, oenShowed);
  });
}

/**
 * A person's retry, once Oen showed the transaction still charged with nothing refunded: the
 * request order management sent, claimed (requires_attention → submitting) and sent through the
 * refund runs' own check-then-act submission, its end recorded as a refund run records it.
 */
async function sendAgain(resolving: Resolving, found: OenShows): Promise<ResolveResult> {
  const { refund, decision, policy, view } = resolving;
  const providerEvidence = found.evidence;
  const retry = await ledgerStep(`Ledger: the request order management sent for ${refund.refundId}`).retryRequest(refund);
  if ('impossible' in retry) return view.refused('invalid', `Refund ${refund.refundId} cannot be sent again: ${retry.impossible}`, { providerEvidence });
  return CancellationScope.nonCancellable(async () => {
    const claimed = await moveAsDecided(
      resolving,
      'submitting',
      { error: null, decisions: [decision, ...resolving.second].map((d) => ({ ...d, evidence: found.evidence })) },
      false,
    );
    if (claimed.kind === 'refused') return claimed.answer;
    const summary = `${providerCallSummary(refund)}, sent again for ${describeDecider(decision.by)}`;
    const { status, fields } = await submitRefund(retry.request, policy, summary);
    const ended = await ledgerStep(`Ledger: ${refund.refundId} → ${status}`).recordResolutionEnd(refund.refundId, status, fields);
    return tellAndAnswer(view.show(ended), providerEvidence);
  });
}

/** The decision's move, from requires_attention as read: the record as moved, or the run's answer when the refund moved meanwhile. */
async function moveAsDecided(
  { refund, decision, view }: Resolving,
  to: RefundStatus,
  fields: TransitionFields & { decisions: DecisionRecord[] },
  confirmed: boolean,
): Promise<{ kind: 'moved'; record: RefundRecord } | { kind: 'refused'; answer: ResolveResult }> {
  const before = {
    refundId: refund.refundId,
    status: refund.status,
    updatedAt: refund.updatedAt,
    ...(refund.version !== undefined && { version: refund.version }),
  };
  const move = await ledgerStep(`Ledger: ${refund.refundId} → ${to}, resolved by ${describeDecider(decision.by)}`).recordResolution(
    before,
    to,
    fields,
    confirmed,
  );
  if (move.moved) return { kind: 'moved', record: view.show(move.record) };
  const answer = view.refused(
    'changed_meanwhile',
    `Refund ${refund.refundId} changed while it was being resolved (it is now ${move.record.status}); nothing was changed by this resolution: look at it again`,
    { status: move.record.status },
  );
  return { kind: 'refused', answer };
}

/** Order management hears the refund's new end, as from a refund run; the run answers it. */
async function tellAndAnswer(record: RefundRecord, providerEvidence?: string): Promise<ResolveResult> {
  await tellOrderManagement(record);
  return { resolved: true, status: record.status, ...(providerEvidence !== undefined && { providerEvidence }) };
}
