/**
 * The example order-management service, run once: requests one refund over a broker, waits for its
 * outcome on the broker, then finds the same event in refundflow's outcome stream, going on from
 * the cursor it kept in CURSOR_FILE (examples/order-management/README.md). Exits 0 when both say
 * the same; 1, saying why, when not.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { outcomesFromBroker, outcomesFromStream, requestRefund, type Broker } from './order-management.js';

const { values } = parseArgs({
  options: {
    broker: { type: 'string', default: 'amqp' },
    order: { type: 'string' },
    transaction: { type: 'string' },
    amount: { type: 'string' },
    'refund-id': { type: 'string' },
  },
});
const env = process.env;
if (!values.order || !values.transaction || !values.amount) {
  console.error('usage: main.ts --broker amqp|nats --order ORDER --transaction HID --amount NTD [--refund-id ID]');
  process.exit(2);
}
const broker: Broker =
  values.broker === 'nats'
    ? {
        kind: 'nats',
        servers: env.NATS_URL ?? 'nats://127.0.0.1:4222',
        subject: env.NATS_SUBJECT ?? 'refundflow.events',
        outcomeSubject: env.OUTCOME_NATS_SUBJECT ?? 'refundflow.outcomes',
        outcomeStream: env.OUTCOME_NATS_STREAM ?? 'REFUNDFLOW_OUTCOMES',
      }
    : {
        kind: 'amqp',
        url: env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
        queue: env.AMQP_QUEUE ?? 'refundflow.events',
        outcomeExchange: env.OUTCOME_AMQP_EXCHANGE ?? 'refundflow.outcomes',
      };
const refundId = values['refund-id'] ?? `RF-EXAMPLE-${Date.now()}`;
const cursorFile = env.CURSOR_FILE ?? '.order-management-cursor';

const eventId = await requestRefund(
  broker,
  { refundId, provider: 'oen', orderId: values.order, transactionHid: values.transaction, amount: Number(values.amount), reason: 'example' },
  env.INGEST_WEBHOOK_SECRET,
);
console.log(`published refund.requested ${eventId} for ${refundId} to ${broker.kind}`);

const heard = await outcomesFromBroker(broker, (event) => event.data.refundId === refundId, env.OUTCOME_WEBHOOK_SECRET);
const outcome = heard.find((event) => event.data.refundId === refundId)!;
console.log(`from ${broker.kind}: ${outcome.type} ${outcome.id}`);

const kept = existsSync(cursorFile) ? readFileSync(cursorFile, 'utf8').trim() : '0';
const { events, cursor } = await outcomesFromStream(env.REFUNDFLOW_API_URL ?? 'http://localhost:8080', env.REFUNDFLOW_TOKEN ?? '', kept);
writeFileSync(cursorFile, `${cursor}\n`);
const inStream = events.find((event) => event.id === outcome.id);
if (!inStream) {
  console.error(`the stream after cursor ${kept} has no ${outcome.id}`);
  process.exit(1);
}
console.log(`from the stream (after cursor ${kept}, now ${cursor}): ${inStream.type} ${inStream.id}`);
