import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { Signer } from '../../src/webhooks/signing.js';
import { apiOn, newWebhookSecret } from '../helpers/api.js';

/**
 * Ids the provider clients put into a URL path, as a segment of their own: `.` and `..` pass
 * encodeURIComponent untouched and the URL's normalisation then sends the request to another path
 * at the provider (`/order/../transactions` is `/transactions`). The API refuses them at the schema,
 * over real HTTP, for every event type that carries one: nothing is kept in the inbox, nothing runs.
 */
let db: Database;
let connection: Connection;
let app: FastifyInstance;
let url: string;
const signer = new Signer(newWebhookSecret());

beforeAll(async () => {
  db = await pgliteDatabase();
  await migrate(db);
  connection = Connection.lazy({ address: inject('temporalAddress') });
  app = apiOn(db, new Client({ connection }), { signer });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await connection?.close();
  await db?.close();
});

async function send(type: string, data: Record<string, unknown>) {
  const event = { specversion: '1.0', id: `evt_${randomUUID()}`, source: 'order-management', type, data };
  const body = JSON.stringify(event);
  const response = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...signer.sign(event.id, body) }, body });
  const inbox = await db.query('SELECT 1 FROM inbox_events WHERE event_id = $1', [event.id]);
  return { status: response.status, body: (await response.json()) as { problems?: Array<{ field: string; problem: string }> }, kept: inbox.rows.length };
}

const oenRefund = (orderId: string) => ({ refundId: `RF-${randomUUID()}`, provider: 'oen', orderId, transactionHid: 'P20240412CIK7KPPH', amount: 1000 });
const mwdRefund = (orderId: string) => ({ refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, cardToken: 'tok_1', amount: 1000 });
const dotSegments = ['.', '..', '%2e', '%2E%2e', '.%2e', '%2e.'];
const refused = (field: string) => ({
  status: 422,
  body: expect.objectContaining({ problems: [{ field, problem: 'must not be "." or ".." (it would name another path at the provider)' }] }) as unknown,
  kept: 0,
});

describe('ids that go into a provider URL path', () => {
  it.each(dotSegments)('an orderId of %j is 422 naming the field, for both providers and order.cancelled', async (orderId) => {
    expect(await send('refund.requested', oenRefund(orderId))).toEqual(refused('data.orderId'));
    expect(await send('refund.requested', mwdRefund(orderId))).toEqual(refused('data.orderId'));
    expect(await send('order.cancelled', { orderId, provider: 'oen' })).toEqual(refused('data.orderId'));
  });

  it.each(dotSegments)('a subscriptionId of %j is 422 naming the field, in order.cancelled and subscription.cancelled', async (subscriptionId) => {
    expect(await send('order.cancelled', { orderId: 'ORDER00001', provider: 'oen', subscriptionId })).toEqual(refused('data.subscriptionId'));
    expect(await send('subscription.cancelled', { provider: 'oen', subscriptionId })).toEqual(refused('data.subscriptionId'));
  });

  it('a transactionHid of "." or ".." is refused by its own pattern', async () => {
    for (const transactionHid of ['.', '..']) {
      const answer = await send('refund.requested', { ...oenRefund('ORDER00001'), transactionHid });
      expect(answer).toMatchObject({ status: 422, kept: 0, body: { problems: [{ field: 'data.transactionHid' }] } });
    }
  });

  it('ids with dots that are not a whole dot segment are taken', async () => {
    for (const orderId of ['...', '.hidden', 'ORDER.1', 'a..b']) {
      // Accepted means past the schema: kept in the inbox (202), its run started or left to the dispatcher.
      const answer = await send('refund.requested', mwdRefund(orderId));
      expect([answer.status, answer.kept]).toEqual([202, 1]);
    }
  });
});
