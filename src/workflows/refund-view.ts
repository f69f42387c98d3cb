import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { refundSummary, refundTarget } from '../domain/format.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import type { RefundRequested } from '../domain/schemas/refund-request.js';
import { refundAttributes, RefundStatusKey } from '../domain/search-attributes.js';
import type { RefundProgress } from './messages.js';

/**
 * What a refund run shows of itself — the status query, its search attributes and its current
 * details in the Web UI — following the ledger's record after every step. refundflow's starters give
 * a run its attributes at start (refundStartOptions); every status change writes them all, so a run
 * started by hand has them from its first status change on.
 */
export class RefundView {
  readonly progress: RefundProgress;
  private readonly attributes: SearchAttributeUpdatePair[];

  constructor(private readonly request: RefundRequested) {
    this.progress = { refundId: request.refundId, status: 'received', attempts: 0 };
    this.attributes = refundAttributes(request);
    this.describe();
  }

  /** The query, the RefundStatus search attribute and the details follow the ledger's record. */
  show(record: RefundRecord): RefundRecord {
    this.progress.status = record.status;
    this.progress.attempts = record.attempts;
    if (record.error) this.progress.lastError = record.error;
    upsertSearchAttributes([...this.attributes, { key: RefundStatusKey, value: record.status }]);
    this.describe();
    return record;
  }

  private describe(): void {
    const { request, progress } = this;
    const error = progress.lastError ? `\n\n**Last error:** ${progress.lastError.code} — ${progress.lastError.message}` : '';
    setCurrentDetails(`**${refundSummary(request)}** — ${progress.status}\n\nRefund ${request.refundId} of ${refundTarget(request)}${error}`);
  }
}
