import type { Database } from './database.js';

/** One outcome event, by the delivery id every attempt to send it carries. */
export interface OutcomeDelivery {
  deliveryId: string;
  /** `refund.succeeded`, `subscription.requires_attention`, … */
  type: string;
  /** The refund id, or the subscription id. */
  subject: string;
}

/**
 * Outcome events whose delivery failed and has not succeeded since (migration 14): what the API's
 * /metrics counts as not yet delivered. A delivery that succeeds at its first attempt leaves nothing
 * here; a failed attempt writes its row, the attempt that delivers deletes it.
 */
export class OutcomeDeliveryLog {
  constructor(private readonly db: Database) {}

  async failed(delivery: OutcomeDelivery): Promise<void> {
    await this.db.query(
      `INSERT INTO undelivered_outcomes (delivery_id, type, subject) VALUES ($1, $2, $3)
       ON CONFLICT (delivery_id) DO UPDATE SET failures = undelivered_outcomes.failures + 1, last_failed_at = now()`,
      [delivery.deliveryId, delivery.type, delivery.subject],
    );
  }

  async delivered(deliveryId: string): Promise<void> {
    await this.db.query('DELETE FROM undelivered_outcomes WHERE delivery_id = $1', [deliveryId]);
  }
}
