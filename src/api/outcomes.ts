import type { FastifyInstance, FastifyReply } from 'fastify';
import { fieldProblems } from '../domain/schemas/events.js';
import { outcomesQuery } from '../domain/schemas/queries.js';
import type { AuditTrail } from '../ledger/audit.js';
import type { OutcomeOutbox } from '../ledger/outbox.js';
import { outcomeCloudEvent, type UiLinks } from '../outcomes/cloud-event.js';
import type { OutcomeRelay } from '../outcomes/relay.js';
import { problem, type Answer } from './answers.js';
import { auditTrailFor } from './decisions.js';

// The query's shape lives with the other public shapes (src/domain/schemas/); /openapi.json takes it from here.
export { outcomesQuery };

/**
 * The outcome stream (docs/api.md, "GET /v1/outcomes"): every outcome event the ledger wrote, in
 * order, each with its cursor, for a client that was down to read what it missed; and an operator's
 * redelivery of one event to the destinations (audited).
 */
export function registerOutcomeRoutes(
  app: FastifyInstance,
  deps: {
    outbox: OutcomeOutbox;
    relay?: OutcomeRelay | undefined;
    audit: AuditTrail;
    ui: UiLinks;
    send: (reply: FastifyReply, answer: Answer) => FastifyReply;
  },
): void {
  app.get('/v1/outcomes', { config: { access: 'viewer' } }, async (request, reply) => {
    const query = outcomesQuery.safeParse(request.query);
    if (!query.success) return deps.send(reply, problem(422, 'invalid query', fieldProblems(query.error)));
    const { after, limit } = query.data;
    // Events committed since the relay last ran get their positions now: a reader is never behind the ledger.
    await deps.outbox.sequence();
    const events = await deps.outbox.after(after, limit);
    const outcomes = events.map((outcome) => ({ cursor: String(outcome.position), event: outcomeCloudEvent(outcome, deps.ui) }));
    // The cursor to ask with next: the last one read, or the one given when there is nothing new.
    return { outcomes, next: outcomes.at(-1)?.cursor ?? String(after) };
  });

  app.post<{ Params: { eventId: string } }>(
    '/v1/outcomes/:eventId/redeliver',
    { config: { access: 'operator', audit: 'outcome.redeliver' } },
    async (request, reply) => {
      const { eventId } = request.params;
      const outcome = await deps.outbox.byId(eventId);
      const refundId = outcome?.type.startsWith('refund.') ? outcome.subject : undefined;
      const trail = auditTrailFor(deps.audit, request, 'outcome.redeliver', refundId);
      if (!outcome) return deps.send(reply, await trail.refused(problem(404, `no outcome event ${eventId}`), undefined, { eventId }));
      if (!deps.relay || deps.relay.destinationNames.length === 0) {
        const error = 'no destination is configured to send outcome events to (OUTCOME_WEBHOOK_URL, OUTCOME_AMQP_EXCHANGE, OUTCOME_NATS_SUBJECT)';
        return deps.send(reply, await trail.refused(problem(409, error), undefined, { eventId }));
      }
      await trail.attempt({ detail: { eventId, type: outcome.type, destinations: deps.relay.destinationNames } });
      const deliveries = await deps.relay.redeliver(outcome);
      const failed = deliveries.filter((d) => !d.delivered);
      await trail.done({ detail: { eventId, type: outcome.type, deliveries } });
      if (failed.length === 0) return { eventId, deliveries };
      const error = failed.map((d) => `${d.destination} did not take ${eventId}: ${d.error ?? 'no reason given'}`).join('; ');
      return reply.code(502).send({ error, eventId, deliveries });
    },
  );
}
