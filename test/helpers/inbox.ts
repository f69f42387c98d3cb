import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { startRefund, type StartRefundResult } from '../../src/client/refunds.js';
import type { InboundEvent } from '../../src/domain/schemas/events.js';
import type { RefundRequested } from '../../src/domain/schemas/refund-request.js';
import { join } from 'node:path';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { migrate } from '../../src/ledger/migrations.js';

type EventData<T extends InboundEvent['type']> = Extract<InboundEvent, { type: T }>['data'];

/**
 * An event kept in the inbox the way the intake keeps what it accepts (and, for a refund, its request
 * claimed in refund_requests): what lets a run of it past the gate, and what a resubmission sends.
 * Answers the event id.
 */
export async function accepted<T extends InboundEvent['type']>(db: Database, type: T, data: EventData<T>): Promise<string> {
  const eventId = `evt-${randomUUID()}`;
  const event = { id: eventId, source: 'order-management', type, data } as InboundEvent;
  const result = await new EventInbox(db).accept({ event, bodyHash: eventId, answer: { statusCode: 202, body: {} } });
  if (result.kind !== 'accepted') throw new Error(`the inbox did not accept ${type} ${eventId}: ${result.kind}`);
  return eventId;
}

/** The request as order management sent it, kept in the event inbox the way the API keeps it. */
export async function throughInbox(db: Database, request: RefundRequested): Promise<void> {
  await accepted(db, 'refund.requested', request);
}

/**
 * The same, into the embedded ledger under `dataDir` before a worker process opens it (a PGlite
 * ledger is one process's at a time).
 */
export async function throughInboxAt(dataDir: string, request: RefundRequested): Promise<void> {
  const db = await pgliteDatabase(join(dataDir, 'ledger'));
  try {
    await migrate(db);
    await throughInbox(db, request);
  } finally {
    await db.close();
  }
}

/** A refund accepted as the intake accepts it, then its run started as the intake starts it. */
export async function startAccepted(client: Client, taskQueue: string, db: Database, request: RefundRequested): Promise<StartRefundResult> {
  await throughInbox(db, request);
  return startRefund(client, taskQueue, request);
}
