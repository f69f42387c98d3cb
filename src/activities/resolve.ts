import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { decisionStatement, type DecisionProof } from '../domain/decision-proof.js';
import { noMetrics, type EngineMetrics } from '../domain/metrics.js';
import type { DecisionRecord } from '../domain/operator.js';
import type { Resubmission } from '../domain/reconcile.js';
import type { RefundStatus, TransitionFields } from '../domain/refund-status.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { ReconciliationLedger } from '../ledger/reconciliation.js';
import type { ResolutionLedger, ResolutionMove } from '../ledger/resolution.js';
import { ledgerCall } from './failures.js';

export type ProofClaimAnswer = { claimed: true } | { claimed: false; problem: string };

export interface ResolveActivityDeps {
  resolution: ResolutionLedger;
  reconciliation: Pick<ReconciliationLedger, 'requestToSendAgain'>;
  metrics?: Pick<EngineMetrics, 'refundStatus'>;
}

/**
 * The ledger steps of a person's resolution of a refund in requires_attention
 * (src/workflows/resolve.ts; local activities). What Oen shows is asked with reconciliation's
 * `inspectOenRefunds`, and a retry is sent with the refund runs' `submitOenRefund`.
 */
export function createResolveActivities({ resolution, reconciliation, metrics = noMetrics }: ResolveActivityDeps) {
  return {
    /** The refund to resolve, as the ledger holds it now; undefined when it has none. */
    refundToResolve: async (refundId: string): Promise<RefundRecord | undefined> => resolution.get(refundId),

    /**
     * The run's claim on the signed resolution it carries: the proof must name this run's workflow,
     * and no other run may have claimed it (ResolutionLedger.claimProof). The run is read here, from
     * Temporal, not from workflow code: a replay of the run's history (under whatever id the replayer
     * gives it) takes this step's answer as it was recorded.
     */
    claimDecisionProof: async (proof: DecisionProof, details: string): Promise<ProofClaimAnswer> => {
      const run = Context.current().info.workflowExecution;
      if (!run) throw new Error('a decision proof is claimed by a workflow run, and this activity has none');
      const { workflowId, runId } = run;
      if (proof.workflowId !== workflowId) return { claimed: false, problem: `the proof is for workflow ${proof.workflowId ?? '(none)'}, not ${workflowId}` };
      const statementSha256 = createHash('sha256').update(decisionStatement(proof, details)).digest('hex');
      const use = { statementSha256, action: proof.action, refundId: proof.refundId, workflowId, runId };
      const claim = await ledgerCall(() => resolution.claimProof(use));
      if (claim.claimed) return claim;
      const { usedBy } = claim;
      return {
        claimed: false,
        problem: `this signed resolution was used already, by run ${usedBy.runId} of ${usedBy.workflowId} at ${usedBy.at}: a signed resolution is used once`,
      };
    },

    /** What a person's retry sends: the request order management sent (ReconciliationLedger.requestToSendAgain), or why there is none. */
    retryRequest: async (record: RefundRecord): Promise<Resubmission> => reconciliation.requestToSendAgain(record),

    /**
     * The person's decision carried out, from requires_attention, if the refund is still as the run
     * read it (ResolutionLedger.moveAsDecided). `confirmed`: Oen showed the refund.
     */
    recordResolution: async (
      before: Pick<RefundRecord, 'refundId' | 'status' | 'updatedAt' | 'version'>,
      to: RefundStatus,
      fields: TransitionFields & { decisions: DecisionRecord[] },
      confirmed: boolean,
    ): Promise<ResolutionMove> => {
      const claimant = to === 'submitting' ? Context.current().info.workflowExecution : undefined;
      const move = await ledgerCall(() => resolution.moveAsDecided(before, to, fields, confirmed, claimant));
      if (move.moved) metrics.refundStatus(move.record);
      return move;
    },

    /** How the send a person asked for ended (ResolutionLedger.settle). */
    recordResolutionEnd: async (refundId: string, to: RefundStatus, fields: TransitionFields): Promise<RefundRecord> => {
      const record = await ledgerCall(() => resolution.settle(refundId, to, fields, Context.current().info.workflowExecution?.workflowId));
      metrics.refundStatus(record);
      return record;
    },
  };
}
