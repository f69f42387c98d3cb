import { randomUUID } from 'node:crypto';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { Database } from '../../src/ledger/database.js';
import { EventInbox } from '../../src/ledger/inbox.js';

/** The request as order management sent it, kept in the event inbox the way the API keeps it (what a resubmission sends). */
export async function throughInbox(db: Database, request: RefundRequested): Promise<void> {
  const eventId = `evt-${randomUUID()}`;
  await new EventInbox(db).accept({
    eventId,
    type: 'refund.requested',
    source: 'order-management',
    bodyHash: eventId,
    event: { specversion: '1.0', id: eventId, source: 'order-management', type: 'refund.requested', data: request },
    answer: { statusCode: 202, body: {} },
    refund: { refundId: request.refundId, requestHash: eventId },
  });
}
