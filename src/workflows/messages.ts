import { defineQuery, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type { RefundStatus } from '../domain/refund.js';

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
}

/**
 * An operator's approve, reject or cancel: who decided and why, both optional, for the record, and
 * the refund it is for (the API always names it; a run refuses a decision naming another refund).
 */
export const operatorInput = z
  .object({
    refundId: z.string().min(1).max(64).optional(),
    /** Who decided (e.g. an operator's name). */
    by: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters').optional(),
    reason: z.string().max(500, 'must be at most 500 characters').optional(),
  })
  .strict();

export type OperatorInput = z.infer<typeof operatorInput>;

export const statusQuery = defineQuery<RefundProgress>('status');
/** Allowed while the refund awaits approval. */
export const approveUpdate = defineUpdate<RefundProgress, [OperatorInput]>('approve');
/** Allowed while the refund awaits approval; it ends cancelled. */
export const rejectUpdate = defineUpdate<RefundProgress, [OperatorInput]>('reject');
/** Allowed until submission to the provider starts; it ends cancelled. */
export const cancelUpdate = defineUpdate<RefundProgress, [OperatorInput]>('cancel');
