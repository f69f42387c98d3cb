import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { formatNtd, refundTarget } from '../domain/format.js';
import { resolveSummary } from '../domain/refund-start.js';
import type { ResolveInput, ResolveRefusal, ResolveResult } from '../domain/resolution.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { refundAttributes, RefundStatusKey } from '../domain/search-attributes.js';

/**
 * What a resolution run shows of itself in the Web UI: its current details (what it is doing, and
 * how it ended), and, after each move of the refund, the refund's search attributes with its new
 * status. Its summary and static details come from its start (resolveStartOptions).
 */
export class ResolveView {
  private summary: string;
  private refund = '';

  constructor(private readonly input: ResolveInput) {
    this.summary = typeof input?.refundId === 'string' ? `Resolve ${input.refundId}` : 'Resolve a refund';
    this.stage('reading the refund');
  }

  /** The refund as the ledger holds it: named from now on. */
  about(refund: RefundRecord): void {
    this.summary = resolveSummary(this.input, refund.provider);
    this.refund = `Refund ${refund.refundId}: ${formatNtd(refund.amount)} of ${refundTarget(refund)}, order ${refund.orderId}`;
  }

  stage(text: string): void {
    setCurrentDetails(`**${this.summary}** — ${text}${this.refund ? `\n\n${this.refund}` : ''}`);
  }

  /** The refund moved: its search attributes and the details follow the ledger's record. */
  show(record: RefundRecord): RefundRecord {
    upsertSearchAttributes([...refundAttributes(record), { key: RefundStatusKey, value: record.status }]);
    const error = record.error ? `; ${record.error.code}: ${record.error.message}` : '';
    this.stage(`the refund is ${record.status}${error}`);
    return record;
  }

  /** Refused, nothing changed: the run's result, shown. */
  refused(code: ResolveRefusal, refused: string, extra: { status?: RefundRecord['status']; providerEvidence?: string } = {}): ResolveResult {
    this.stage(`refused (${code}): ${refused}`);
    return { resolved: false, code, refused, ...extra };
  }
}
