import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { OperatorInput } from '../domain/operator.js';
import type { ResolveInput } from '../domain/resolution.js';
import type { RefundStatus } from '../domain/refund-status.js';

/**
 * The messages a refund run answers, shared by the workflow and every client (API, CLI, tests).
 * An operator can send the same ones from the Temporal Web UI or `temporal workflow update`.
 */
export interface RefundProgress {
  refundId: string;
  status: RefundStatus;
  /** Provider attempts recorded so far (the ledger's count as of the run's last step). */
  attempts: number;
  lastError?: { code: string; message: string };
  /** While awaiting approval: how many different approvers it needs (two at DUAL_APPROVAL_THRESHOLD). */
  approvalsNeeded?: number;
  /** The approvals given so far: who (the credential's name, and its person where it names one) and when. */
  approvals?: { by: string; at: string; person?: string }[];
}

export const statusQuery = defineQuery<RefundProgress>('status');
/** Allowed while the refund awaits approval. */
export const approveUpdate = defineUpdate<RefundProgress, [OperatorInput]>('approve');
/** Allowed while the refund awaits approval; it ends cancelled. */
export const rejectUpdate = defineUpdate<RefundProgress, [OperatorInput]>('reject');
/** Allowed until submission to the provider starts; it ends cancelled. */
export const cancelUpdate = defineUpdate<RefundProgress, [OperatorInput]>('cancel');
/**
 * To a resolution run of a refund at DUAL_APPROVAL_THRESHOLD: a second person asks for the same
 * resolution (src/workflows/second-person.ts); answers their name once the run counts them.
 */
export const confirmResolutionUpdate = defineUpdate<string, [ResolveInput]>('confirmResolution');
