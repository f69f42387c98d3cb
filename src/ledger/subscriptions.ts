import type { Database } from './database.js';

/** A subscription cancel an order.cancelled event asked for, which Oen did not confirm. */
export interface UnconfirmedSubscriptionCancel {
  subscriptionId: string;
  orderId: string;
  reason: string;
  workflowId: string;
  recordedAt: string;
}

/** The subscription cancels left for a person (migration 11). */
export class SubscriptionLedger {
  constructor(private readonly db: Database) {}

  /** Records it; undefined when it is recorded already (the same order cancelled again). */
  async recordUnconfirmed(cancel: Omit<UnconfirmedSubscriptionCancel, 'recordedAt'>): Promise<UnconfirmedSubscriptionCancel | undefined> {
    const { rows } = await this.db.query<{ created_at: Date }>(
      `INSERT INTO unconfirmed_subscription_cancels (subscription_id, order_id, reason, workflow_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (subscription_id) DO NOTHING RETURNING created_at`,
      [cancel.subscriptionId, cancel.orderId, cancel.reason, cancel.workflowId],
    );
    return rows[0] && { ...cancel, recordedAt: rows[0].created_at.toISOString() };
  }

  async unconfirmed(limit: number): Promise<UnconfirmedSubscriptionCancel[]> {
    const { rows } = await this.db.query<{ subscription_id: string; order_id: string; reason: string; workflow_id: string; created_at: Date }>(
      'SELECT * FROM unconfirmed_subscription_cancels ORDER BY created_at DESC LIMIT $1',
      [limit],
    );
    return rows.map((r) => ({
      subscriptionId: r.subscription_id,
      orderId: r.order_id,
      reason: r.reason,
      workflowId: r.workflow_id,
      recordedAt: r.created_at.toISOString(),
    }));
  }
}
