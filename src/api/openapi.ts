import { z } from 'zod';
import { cloudEvent, eventDataSchemas } from '../domain/schemas/events.js';
import { refundRecord } from '../domain/schemas/refund-record.js';
import { operatorInput } from '../domain/schemas/operator.js';

/**
 * /openapi.json, generated from the zod schemas the API validates with, so the document cannot
 * drift from what is enforced.
 */

const problemBody = z.object({
  error: z.string(),
  problems: z.array(z.object({ field: z.string(), problem: z.string() })).optional(),
});

const acceptedBody = z.object({
  eventId: z.string(),
  refunds: z.array(z.object({ refundId: z.string(), status: z.string(), workflowId: z.string(), uiUrl: z.string() })),
  workflowId: z.string(),
  uiUrl: z.string(),
});

const refundView = refundRecord.extend({ uiUrl: z.string() });

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (s: z.ZodType) => ({ 'application/json': { schema: schema(s) } });
const problemAnswer = (description: string) => ({ description, content: json(problemBody) });

export function openApiDocument(): Record<string, unknown> {
  const eventSchema = {
    oneOf: Object.entries(eventDataSchemas).map(([type, data]) => ({
      allOf: [schema(cloudEvent.omit({ data: true, type: true })), { type: 'object', properties: { type: { const: type }, data: schema(data) }, required: ['type', 'data'] }],
    })),
  };
  const refundIdParam = { name: 'refundId', in: 'path', required: true, schema: { type: 'string' } };
  const operatorAction = (summary: string) => ({
    summary,
    security: [{ operatorToken: [] }],
    parameters: [refundIdParam],
    requestBody: { required: false, content: json(operatorInput) },
    responses: {
      200: { description: 'the refund after the decision', content: json(z.object({ refundId: z.string(), status: z.string(), attempts: z.number() })) },
      400: problemAnswer('the body is not JSON'),
      401: problemAnswer('no or wrong bearer token'),
      404: problemAnswer('no such refund'),
      409: problemAnswer('the run refuses it (the refund is not in a state that allows this), or the run has ended'),
      422: problemAnswer('the body does not match the schema, field by field, or its refundId is not the one in the path'),
      503: problemAnswer('OPERATOR_TOKEN is not set on this API'),
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'refundflow', version: '1', description: 'Refund events in, refund status and operator actions out.' },
    components: {
      securitySchemes: {
        operatorToken: { type: 'http', scheme: 'bearer', description: 'OPERATOR_TOKEN' },
      },
    },
    paths: {
      '/v1/events': {
        post: {
          summary: 'Send an event (CloudEvents 1.0, structured JSON, signed per Standard Webhooks)',
          parameters: ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => ({
            name,
            in: 'header',
            required: true,
            schema: { type: 'string' },
          })),
          requestBody: { required: true, content: { 'application/json': { schema: eventSchema }, 'application/cloudevents+json': { schema: eventSchema } } },
          responses: {
            202: { description: 'accepted: written to the inbox; its workflow is started', content: json(acceptedBody) },
            200: { description: 'the same event id and body again: the first answer', content: json(acceptedBody) },
            400: problemAnswer('the body is not JSON'),
            401: problemAnswer('bad, missing or stale signature'),
            409: problemAnswer('event id reused with another body, refund id reused with other contents, or the Oen transaction already has another refund'),
            413: problemAnswer('body over 256 KiB'),
            422: problemAnswer('the event does not match the contract, field by field'),
          },
        },
      },
      '/v1/refunds/{refundId}': {
        get: {
          summary: 'One refund',
          parameters: [refundIdParam],
          responses: { 200: { description: 'the refund', content: json(refundView) }, 404: problemAnswer('no such refund') },
        },
      },
      '/v1/refunds': {
        get: {
          summary: 'Refunds, newest first, paged',
          parameters: ['orderId', 'status', 'limit', 'cursor'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
          responses: {
            200: { description: 'a page; `next` is the cursor of the following one', content: json(z.object({ refunds: z.array(refundView), next: z.string().optional() })) },
            422: problemAnswer('invalid query, field by field'),
          },
        },
      },
      '/v1/refunds/{refundId}/approve': { post: operatorAction('Approve a refund awaiting approval') },
      '/v1/refunds/{refundId}/reject': { post: operatorAction('Reject a refund awaiting approval (it ends cancelled)') },
      '/v1/refunds/{refundId}/cancel': { post: operatorAction('Cancel a refund before submission starts') },
      '/healthz': { get: { summary: 'The process is up', responses: { 200: { description: 'ok' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics: requests by route, and the ledger\'s backlogs (docs/observability.md)', responses: { 200: { description: 'text/plain; version=0.0.4' } } } },
      '/readyz': { get: { summary: 'Temporal and the ledger answer', responses: { 200: { description: 'ready' }, 503: { description: 'a dependency is failing' } } } },
    },
  };
}
