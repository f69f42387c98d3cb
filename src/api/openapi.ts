import { z } from 'zod';
import { cloudEvent, eventDataSchemas } from '../domain/schemas/events.js';
import { refundRecord } from '../domain/schemas/refund-record.js';
import { operatorInput } from '../domain/schemas/operator.js';
import { SIGNATURE_TOLERANCE_SECONDS } from '../webhooks/signing.js';
import type { Access } from './access.js';
import { promoteBody, rampBody } from './deployments.js';
import { auditQuery, newKeyBody } from './operators.js';
import { outcomeBody, retryBody } from './resolve.js';

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

/** An outcome event (docs/api.md, "Outcome events"), as the stream and every destination give it. */
const outcomeEvent = z.object({
  specversion: z.literal('1.0'),
  id: z.string(),
  source: z.literal('refundflow'),
  type: z.enum(['refund.succeeded', 'refund.failed', 'refund.requires_attention', 'refund.cancelled', 'subscription.requires_attention']),
  time: z.string(),
  datacontenttype: z.literal('application/json'),
  data: z.record(z.string(), z.unknown()),
});

/** GET /v1/refunds's query (`listQuery` in server.ts validates it; a test holds the two to the same names). */
export const listParameters = {
  orderId: "only this order's refunds",
  status: 'only refunds in this status',
  updatedBefore: 'only refunds last updated before this time (RFC 3339 with its offset, e.g. 2026-11-25T07:00:00Z): those waiting longer than that',
  limit: 'at most this many, 1-200 (default 50)',
  cursor: 'the `next` of the previous page',
} as const;

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });
const json = (s: z.ZodType) => ({ 'application/json': { schema: schema(s) } });
const problemAnswer = (description: string) => ({ description, content: json(problemBody) });

/** A route as the API registered it: /openapi.json states each one's access from these, so it cannot drift. */
export interface RegisteredRoute {
  method: string;
  /** Fastify's form: /v1/refunds/:refundId */
  url: string;
  access: Access;
}

const accessText: Record<Access, string> = {
  public: 'No credential.',
  signed: 'No bearer credential: the Standard Webhooks signature authenticates the sender.',
  viewer: 'Role: viewer (or operator, approver, admin).',
  operator: 'Role: operator (or approver, admin).',
  approver: 'Role: approver (or admin).',
  admin: 'Role: admin.',
};

/**
 * The document for the routes the API registered. `serverUrl`: where the API is reached, for
 * `servers` (the API gives its listening address); without one the document has no `servers`, which
 * OpenAPI reads as "where this document was fetched from".
 */
export function openApiDocument(routes: readonly RegisteredRoute[], serverUrl?: string): Record<string, unknown> {
  const document = describeEndpoints();
  if (serverUrl !== undefined) {
    document.servers = [
      {
        url: serverUrl,
        description: 'the address this API listens on, as seen from its own host; behind a proxy or load balancer, use the address its clients reach',
      },
    ];
  }
  const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const operation = paths[path]?.[route.method.toLowerCase()];
    if (!operation) throw new Error(`/openapi.json does not describe ${route.method} ${path}`);
    operation['x-required-role'] = route.access;
    operation.description = [accessText[route.access], operation.description].filter(Boolean).join(' ');
    if (route.access !== 'public' && route.access !== 'signed') {
      operation.security = [{ bearer: [] }];
      const responses = operation.responses as Record<string, unknown>;
      responses['401'] ??= problemAnswer('no credential, or one that proves nothing (unknown, revoked, expired, wrong issuer or audience)');
      responses['403'] ??= problemAnswer(`the caller does not hold the ${route.access} role`);
    }
  }
  return document;
}

/** POST /v1/events's signature, per header (src/webhooks/signing.ts checks it). */
const signatureHeaders = [
  {
    name: 'webhook-id',
    description: "This delivery's id, unique per message; the first part of what is signed.",
    example: 'evt_123',
  },
  {
    name: 'webhook-timestamp',
    description: `When the body was signed, in whole Unix seconds; the second part of what is signed. Refused when more than ${SIGNATURE_TOLERANCE_SECONDS} s away from the API's clock, either way: sign each delivery when it is sent.`,
    schema: { type: 'string', pattern: '^[0-9]+$' },
    example: '1795590937',
  },
  {
    name: 'webhook-signature',
    description:
      "`v1,` then the base64 of the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` (the body's exact bytes as sent), keyed with the bytes of INGEST_WEBHOOK_SECRET: the base64 after its `whsec_`. " +
      'Several may be sent, separated by spaces (while the sender rotates its secret); one that matches is enough.',
    example: 'v1,K6pZ5bU8n0rH0VQ2Xq3c8mZ1s6t1gq0u9yVx8m3pJfM=',
  },
].map(({ schema: headerSchema, ...header }) => ({ ...header, in: 'header', required: true, schema: headerSchema ?? { type: 'string' } }));

function describeEndpoints(): Record<string, unknown> {
  const eventSchema = {
    oneOf: Object.entries(eventDataSchemas).map(([type, data]) => ({
      allOf: [
        schema(cloudEvent.omit({ data: true, type: true })),
        { type: 'object', properties: { type: { const: type }, data: schema(data) }, required: ['type', 'data'] },
      ],
    })),
  };
  const refundIdParam = { name: 'refundId', in: 'path', required: true, schema: { type: 'string' } };
  const operatorAction = (summary: string) => ({
    summary,
    parameters: [refundIdParam],
    requestBody: { required: false, content: json(operatorInput) },
    responses: {
      200: {
        description: 'the refund after the decision (awaiting_approval with one approval of two, at DUAL_APPROVAL_THRESHOLD)',
        content: json(
          z.object({
            refundId: z.string(),
            status: z.string(),
            attempts: z.number(),
            approvalsNeeded: z.number().optional(),
            approvals: z.array(z.object({ by: z.string(), at: z.string(), person: z.string().optional() })).optional(),
          }),
        ),
      },
      400: problemAnswer('the body is not JSON'),
      404: problemAnswer('no such refund'),
      409: problemAnswer('the run refuses it (the refund is not in a state that allows this, the same approver twice), or the run has ended'),
      422: problemAnswer('the body does not match the schema, field by field, or its refundId is not the one in the path'),
      503: problemAnswer('OPERATOR_SIGNING_KEY is not set on this API'),
    },
  });
  return {
    openapi: '3.1.0',
    info: { title: 'refundflow', version: '1', description: 'Refund events in, refund status and operator actions out.' },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'A named API key (npx refundflow operator add), an OIDC access token from OIDC_ISSUER, or the deprecated OPERATOR_TOKEN',
        },
      },
    },
    paths: {
      '/v1/events': {
        post: {
          summary: 'Send an event (CloudEvents 1.0, structured JSON, signed per Standard Webhooks)',
          description:
            'The headers sign the body per Standard Webhooks (https://www.standardwebhooks.com) with INGEST_WEBHOOK_SECRET; a request whose signature does not check is refused with 401 and kept with the rejected events. ' +
            'A repeated event is known by the CloudEvent `id` in the body, not by `webhook-id`.',
          parameters: signatureHeaders,
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
          parameters: Object.entries(listParameters).map(([name, description]) => ({
            name,
            in: 'query',
            required: false,
            description,
            schema: { type: 'string' },
          })),
          responses: {
            200: {
              description: 'a page; `next` is the cursor of the following one',
              content: json(z.object({ refunds: z.array(refundView), next: z.string().optional() })),
            },
            422: problemAnswer('invalid query, field by field'),
          },
        },
      },
      '/v1/refunds/{refundId}/approve': { post: operatorAction('Approve a refund awaiting approval') },
      '/v1/refunds/{refundId}/reject': { post: operatorAction('Reject a refund awaiting approval (it ends cancelled)') },
      '/v1/refunds/{refundId}/cancel': { post: operatorAction('Cancel a refund before submission starts') },
      '/v1/refunds/{refundId}/resolve': {
        post: {
          summary:
            "Settle a refund in requires_attention: succeeded or failed with evidence (Oen: checked with Oen first; MWD: an approver's word), or, for Oen only, send it again if Oen shows it still charged. Runs as its own workflow.",
          parameters: [refundIdParam],
          requestBody: { required: true, content: { 'application/json': { schema: { oneOf: [schema(outcomeBody), schema(retryBody)] } } } },
          responses: {
            200: {
              description: "settled: the refund's status now, and what the provider showed",
              content: json(
                z.object({ refundId: z.string(), status: z.string(), providerEvidence: z.string().optional(), workflowId: z.string(), uiUrl: z.string() }),
              ),
            },
            202: {
              description:
                'still running after 20 s (a retry waiting for the provider): watch it at uiUrl; or, at DUAL_APPROVAL_THRESHOLD, the first of two people: awaiting_second_person (another person sends the same body)',
              content: json(
                z.object({ refundId: z.string(), resolution: z.enum(['running', 'awaiting_second_person']), workflowId: z.string(), uiUrl: z.string() }),
              ),
            },
            400: problemAnswer('the body is not JSON'),
            404: problemAnswer('no such refund'),
            409: problemAnswer(
              'the refund is not in requires_attention, changed meanwhile, a resolution already runs, an MWD retry, or Oen shows otherwise (providerEvidence says what)',
            ),
            422: problemAnswer('the body does not match the schema, field by field'),
            503: problemAnswer('Oen cannot be asked now, or OPERATOR_SIGNING_KEY is not set on this API'),
          },
        },
      },
      '/v1/audit': {
        get: {
          summary: 'The operator audit trail, oldest first, paged: every action, attempted, then done, pending or refused',
          parameters: Object.keys(auditQuery.shape).map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })),
          responses: {
            200: {
              description: 'a page; `next` is the cursor of the following one',
              content: json(z.object({ entries: z.array(z.record(z.string(), z.unknown())), next: z.string().optional() })),
            },
            422: problemAnswer('invalid query, field by field'),
          },
        },
      },
      '/v1/outcomes': {
        get: {
          summary: 'Every outcome event the ledger wrote, in order, each with its cursor: what a client that was down reads to catch up',
          parameters: [
            {
              name: 'after',
              in: 'query',
              required: false,
              schema: { type: 'string' },
              description: 'the cursor of the last event read (absent: from the first)',
            },
            { name: 'limit', in: 'query', required: false, schema: { type: 'string' }, description: 'at most this many, 1-1000 (default 100)' },
          ],
          responses: {
            200: {
              description:
                'the events after `after`, oldest first; `next` is the cursor to ask with next (the last one read, or `after` when there is nothing new)',
              content: json(z.object({ outcomes: z.array(z.object({ cursor: z.string(), event: outcomeEvent })), next: z.string() })),
            },
            422: problemAnswer('invalid query, field by field'),
          },
        },
      },
      '/v1/outcomes/{eventId}/redeliver': {
        post: {
          summary: 'Send one outcome event again to every configured destination, now (audited)',
          parameters: [{ name: 'eventId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'every destination took it: `deliveries` lists each' },
            404: problemAnswer('no outcome event with that id'),
            409: problemAnswer('no destination is configured'),
            502: { description: 'a destination did not take it: `deliveries` lists each, with its error' },
          },
        },
      },
      '/v1/operators': {
        get: { summary: 'The named API keys (never the keys themselves)', responses: { 200: { description: 'every key, revoked ones included' } } },
        post: {
          summary: 'Make a named API key; the answer holds the key, shown this once',
          requestBody: { required: true, content: json(newKeyBody) },
          responses: {
            201: { description: 'the key and its name, role, person and key id' },
            202: { description: 'with DUAL_APPROVAL_THRESHOLD set: the grant, `pending`; a second admin confirms it and is shown the key' },
            400: problemAnswer('the body is not JSON'),
            409: problemAnswer('a key of that name exists (revoked keys keep their names)'),
            422: problemAnswer('the body does not match the schema, field by field'),
          },
        },
      },
      '/v1/operators/{name}/confirm': {
        post: {
          summary: 'Confirm a grant another admin proposed (with DUAL_APPROVAL_THRESHOLD set); the answer holds the key, shown this once',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            200: { description: 'the key and its name, role, person and key id' },
            404: problemAnswer('no grant of that name waits for confirmation'),
            409: problemAnswer('the caller proposed the grant: a second person confirms it'),
          },
        },
      },
      '/v1/operators/{name}/revoke': {
        post: {
          summary: 'Revoke a named API key: it is refused from now on',
          parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { 200: { description: 'the key as revoked' }, 404: problemAnswer('no live key of that name') },
        },
      },
      '/v1/deployment': {
        get: {
          summary:
            "The workers' Worker Deployment: the build new runs start on, the one ramping, who last changed them, and every build's state with the runs still pinned to it; and this API's own release",
          responses: {
            200: {
              description:
                '`{ api: { version, commit?, buildId }, deployment: { name, current?, ramping?, lastModifiedBy?, changedOutsideRefundflow, versions } | null }`',
            },
          },
        },
      },
      '/v1/deployment/promote': {
        post: {
          summary: 'Make a build current: new runs start on it, open pinned runs stay on their build (audited as deploy.promote)',
          requestBody: { required: true, content: json(promoteBody) },
          responses: {
            200: { description: 'the build now current, the one before it, and the deployment as it is now' },
            400: problemAnswer('the body is not JSON'),
            404: problemAnswer('Temporal knows no such build (one is known once its workers poll)'),
            409: problemAnswer('Temporal refused the move now (e.g. the build does not poll every task queue the current one does)'),
            422: problemAnswer('the body does not match the schema, field by field'),
          },
        },
      },
      '/v1/deployment/ramp': {
        post: {
          summary: 'Start a share of new runs on a build; 0 ends the ramp (audited as deploy.ramp)',
          requestBody: { required: true, content: json(rampBody) },
          responses: {
            200: { description: 'the ramp as it is now, and the deployment' },
            400: problemAnswer('the body is not JSON'),
            404: problemAnswer('Temporal knows no such build (one is known once its workers poll)'),
            409: problemAnswer('Temporal refused the move now (e.g. the build is the current one)'),
            422: problemAnswer('the body does not match the schema, field by field'),
          },
        },
      },
      '/openapi.json': {
        get: { summary: 'This document: what the API takes and answers, no data of its own', responses: { 200: { description: 'OpenAPI 3.1' } } },
      },
      '/healthz': {
        get: {
          summary: 'The process is up, and the release it runs',
          responses: { 200: { description: '`{ status: "ok", release: { version, commit?, buildId } }`' } },
        },
      },
      '/metrics': {
        get: {
          summary: "Prometheus metrics: requests by route, and the ledger's backlogs (docs/observability.md)",
          responses: { 200: { description: 'text/plain; version=0.0.4' } },
        },
      },
      '/readyz': {
        get: { summary: 'Temporal and the ledger answer', responses: { 200: { description: 'ready' }, 503: { description: 'a dependency is failing' } } },
      },
    },
  };
}
