import { randomUUID, timingSafeEqual } from 'node:crypto';
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fieldProblems } from '../domain/schemas/events.js';
import { refundRequested } from '../domain/schemas/refund-request.js';
import { refundStatus, type RefundRecord } from '../domain/schemas/refund-record.js';
import { refundWorkflowId } from '../domain/refund-start.js';
import { workflowUiUrl } from '../domain/ui.js';
import type { Database } from '../ledger/database.js';
import type { EventInbox } from '../ledger/inbox.js';
import { InvalidCursorError, type RefundLedger } from '../ledger/refunds.js';
import { operatorInput } from '../domain/schemas/operator.js';
import { approveUpdate, cancelUpdate, rejectUpdate } from '../workflows/messages.js';
import { problem, type Answer } from './answers.js';
import { EventIntake, MAX_EVENT_BYTES } from './intake.js';
import { registerApiMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import type { Signer } from '../webhooks/signing.js';

export interface ApiDeps {
  client: Client;
  db: Database;
  ledger: RefundLedger;
  inbox: EventInbox;
  signer: Signer;
  namespace: string;
  taskQueue: string;
  /** The Web UI's base URL, e.g. http://localhost:8233. */
  uiBaseUrl: string;
  /** Unset: the operator endpoints answer 503 saying so. */
  operatorToken?: string;
  /**
   * Where the API logs (a logger from src/logging.ts's `createLogger`, which redacts card numbers
   * and secrets): one JSON line per request, and the errors behind 500s. Unset: no logs.
   */
  logger?: FastifyBaseLogger;
}

/**
 * One line per request when it is answered — `{ reqId, req: { method, url, headers, remoteAddress },
 * res: { statusCode }, responseTime, msg: "request completed" }` — instead of Fastify's two; the
 * arrival alone is logged at debug. The `req` and `res` serializers of src/logging.ts decide what
 * shows (never the body; the URL and headers redacted).
 */
class RequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    if (!this.isLogDisabled(request)) request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    const line = { req: request, res: reply, responseTime: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request completed');
  }
}

export const listQuery = z
  .object({
    orderId: z.string().min(1, 'must not be empty').optional(),
    status: refundStatus.optional(),
    limit: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(200, 'must be at most 200').default(50),
    cursor: z.string().min(1, 'must not be empty').optional(),
  })
  .strict();

const operatorActions = { approve: approveUpdate, reject: rejectUpdate, cancel: cancelUpdate } as const;

/** The HTTP API (docs/api.md). */
export function createApi(deps: ApiDeps): FastifyInstance {
  // Bodies are read raw (the signature covers the exact bytes); the intake applies the 256 KiB
  // limit itself so that an oversized event is stored like every other refusal.
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger, logController: new RequestLog() } : { logger: false }),
    genReqId: () => randomUUID(),
    bodyLimit: 4 * MAX_EVENT_BYTES,
  });
  registerApiMetrics(app, deps);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const uiUrl = (workflowId: string) => workflowUiUrl(deps.uiBaseUrl, deps.namespace, workflowId);
  const intake = new EventIntake({ ...deps, uiUrl });
  const send = (reply: FastifyReply, answer: Answer) => reply.code(answer.statusCode).send(answer.body);
  const withUi = (record: RefundRecord) => ({ ...record, uiUrl: uiUrl(record.workflowId) });

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const size = Number(request.headers['content-length'] ?? 0);
      const error = `the body is ${size} bytes; at most ${MAX_EVENT_BYTES} (256 KiB) are accepted`;
      await deps.inbox.reject({ statusCode: 413, reason: error, bodyHash: '(not read)', bodySize: size, body: '' });
      return send(reply, problem(413, error));
    }
    if (err.statusCode !== undefined && err.statusCode < 500) return send(reply, problem(err.statusCode, err.message));
    request.log.error(err);
    return send(reply, problem(500, 'internal error; the request was not completed'));
  });
  app.setNotFoundHandler((request, reply) => send(reply, problem(404, `no route ${request.method} ${request.url.split('?')[0]}`)));

  app.post('/v1/events', async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return send(reply, await intake.receive(raw, request.headers));
  });

  app.get<{ Params: { refundId: string } }>('/v1/refunds/:refundId', async (request, reply) => {
    const { refundId } = request.params;
    const record = await deps.ledger.get(refundId);
    if (record) return withUi(record);
    // Accepted, but its run has not written the ledger yet.
    const requested = await deps.inbox.refundRequest(refundId);
    if (requested) {
      const data = refundRequested.parse(requested.data);
      const workflowId = refundWorkflowId(data);
      return {
        refundId,
        provider: data.provider,
        orderId: data.orderId,
        ...(data.provider === 'oen' && { transactionHid: data.transactionHid }),
        amount: data.amount,
        status: 'received',
        attempts: 0,
        createdAt: requested.receivedAt,
        updatedAt: requested.receivedAt,
        workflowId,
        uiUrl: uiUrl(workflowId),
      };
    }
    return send(reply, problem(404, `no refund ${refundId}`));
  });

  app.get('/v1/refunds', async (request, reply) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) return send(reply, problem(422, 'invalid query', fieldProblems(query.error)));
    const { cursor, ...filter } = query.data;
    try {
      const page = await deps.ledger.list({ ...filter, ...(cursor !== undefined && { after: cursor }) });
      return { refunds: page.refunds.map(withUi), ...(page.next && { next: page.next }) };
    } catch (err) {
      if (err instanceof InvalidCursorError) return send(reply, problem(422, 'invalid query', [{ field: 'cursor', problem: err.message }]));
      throw err;
    }
  });

  app.post<{ Params: { refundId: string; action: string } }>('/v1/refunds/:refundId/:action', async (request, reply) => {
    const { refundId, action } = request.params;
    if (!(action in operatorActions)) return send(reply, problem(404, `no operator action "${action}": approve, reject or cancel`));
    const denied = operatorDenied(deps.operatorToken, request);
    if (denied) return send(reply, denied);
    const input = parseJsonBody(request.body);
    if (!input.ok) return send(reply, problem(400, input.error));
    const operator = operatorInput.safeParse(input.value ?? {});
    if (!operator.success) return send(reply, problem(422, 'invalid operator input', fieldProblems(operator.error)));
    const record = await deps.ledger.get(refundId);
    if (!record) return send(reply, problem(404, `no refund ${refundId}`));
    if (operator.data.refundId !== undefined && operator.data.refundId !== refundId) {
      return send(reply, problem(422, 'invalid operator input', [{ field: 'refundId', problem: `names ${operator.data.refundId}, not ${refundId}` }]));
    }
    try {
      // The run that owns the refund, never the newest run of its workflow id (a later refund of the
      // same Oen transaction runs under the same id): money-safety rule 7.
      const progress = await deps.client.workflow
        .getHandle(record.workflowId, record.runId)
        .executeUpdate(operatorActions[action as keyof typeof operatorActions], { args: [{ ...operator.data, refundId }] });
      return { ...progress, workflowId: record.workflowId, uiUrl: uiUrl(record.workflowId) };
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) return send(reply, problem(409, err.cause?.message ?? err.message));
      if (err instanceof WorkflowNotFoundError) {
        return send(reply, problem(409, `cannot ${action}: refund ${refundId} is ${record.status} and its run has ended`));
      }
      if (isClosedRunError(err)) return send(reply, problem(409, `cannot ${action}: refund ${refundId} is ${record.status} and its run has ended`));
      throw err;
    }
  });

  app.get('/healthz', () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks = await Promise.all([
      check('temporal', () => deps.client.workflowService.getSystemInfo({})),
      check('ledger', () => deps.db.query('SELECT 1')),
    ]);
    const failing = checks.filter((c) => c.status !== 'ok');
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? 'unavailable' : 'ok', checks });
  });

  app.get('/openapi.json', () => openApiDocument());

  return app;
}

async function check(name: string, probe: () => Promise<unknown>): Promise<{ name: string; status: 'ok' | 'failing'; error?: string }> {
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3_000).unref())]);
    return { name, status: 'ok' };
  } catch (err) {
    return { name, status: 'failing', error: err instanceof Error ? err.message : String(err) };
  }
}

function operatorDenied(token: string | undefined, request: FastifyRequest): Answer | undefined {
  if (token === undefined) return problem(503, 'operator endpoints are disabled: OPERATOR_TOKEN is not set on this API');
  const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (given === undefined) return problem(401, 'operator endpoints need "Authorization: Bearer <OPERATOR_TOKEN>"');
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return problem(401, 'the bearer token is not this API\'s OPERATOR_TOKEN');
  return undefined;
}

function parseJsonBody(body: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  if (!Buffer.isBuffer(body) || body.length === 0) return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) as unknown };
  } catch (err) {
    return { ok: false, error: `the body is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function isClosedRunError(err: unknown): boolean {
  return err instanceof Error && /already completed|workflow execution already completed/i.test(err.message);
}
