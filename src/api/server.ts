import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fieldProblems } from '../domain/schemas/events.js';
import { refundRequested } from '../domain/schemas/refund-request.js';
import { listQuery } from '../domain/schemas/queries.js';
import type { RefundRecord } from '../domain/schemas/refund-record.js';
import { receivedRecord } from '../domain/refund-start.js';
import { workflowUiUrl } from '../domain/ui.js';
import type { Database } from '../ledger/database.js';
import type { EventInbox } from '../ledger/inbox.js';
import { OutcomeOutbox } from '../ledger/outbox.js';
import type { OutcomeRelay } from '../outcomes/relay.js';
import { InvalidCursorError, type RefundLedger } from '../ledger/refunds.js';
import { ApiKeys } from '../ledger/api-keys.js';
import { AuditTrail, AuditUnavailable } from '../ledger/audit.js';
import { guardRoutes, type UnauthenticatedAnswer } from './access.js';
import { RefusalLimit } from './refusal-limit.js';
import { Authenticator } from './auth.js';
import type { OidcSettings } from '../domain/oidc.js';
import { registerDecisionRoutes } from './decisions.js';
import { registerOperatorRoutes } from './operators.js';
import { registerDeploymentRoutes } from './deployments.js';
import { currentRelease, type Release } from '../release.js';
import { registerOutcomeRoutes } from './outcomes.js';
import { registerResolveRoute } from './resolve.js';
import { problem, type Answer } from './answers.js';
import { EventIntake, MAX_EVENT_BYTES } from './intake.js';
import { registerApiMetrics } from './metrics.js';
import { openApiDocument, type RegisteredRoute } from './openapi.js';
import type { Signer } from '../webhooks/signing.js';
import type { Admission } from './admission.js';
import type { IntakeMonitor } from './brokers/monitor.js';

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
  /** The relay delivering outcome events (src/outcomes/relay.ts), for redeliveries; unset: none is sent again. */
  relay?: OutcomeRelay;
  /** Deprecated: a shared bearer token that acts as an approver (with a startup warning). */
  operatorToken?: string;
  /** OIDC sign-in; unset: named API keys only. */
  oidc?: OidcSettings;
  /**
   * DUAL_APPROVAL_THRESHOLD (NT$): set, four eyes are on — a key is granted by two people, and a
   * resolution of a refund of at least this much is made by two (docs/operations.md, "Who may do what").
   */
  dualApprovalThreshold?: number;
  /** Calls without a valid credential refused per source and minute before the rest are 429 and not audited (default ./refusal-limit.ts). */
  refusalsPerMinute?: number;
  /** OPERATOR_SIGNING_KEY: signs the decisions the API sends to runs. Unset: decisions answer 503. */
  signingKey?: string;
  /** The places for refund runs this process works at once (RUNNING_REFUNDS_LIMIT); unset: every accepted event starts at once. */
  admission?: Admission;
  /** WORKER_DEPLOYMENT_NAME: the Worker Deployment the workers poll as (default refundflow). */
  deploymentName?: string;
  /** The release this process runs (/healthz, GET /v1/deployment); default: worked out from the checkout or image (src/release.ts). */
  release?: Release;
  /** The broker intakes this process runs (src/api/brokers/): /readyz checks each, /metrics counts their messages. */
  intakes?: IntakeMonitor;
  /**
   * Where the API logs (a logger from src/logging.ts's `createLogger`, which redacts card numbers
   * and secrets): one JSON line per request, and the errors behind 500s. Unset: no logs.
   */
  logger?: FastifyBaseLogger;
}

/**
 * One line per request when it is answered — `{ reqId, req: { method, url, headers, remoteAddress },
 * res: { statusCode }, responseTime, msg: "request completed" }` — instead of Fastify's two; the
 * arrival alone is logged at debug. The `req` and `res` serializers of src/logging.ts choose what
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

/** The HTTP API (docs/api.md). */
export function createApi(deps: ApiDeps): FastifyInstance {
  // Bodies are read raw (the signature covers the exact bytes); the intake applies the 256 KiB
  // limit itself so that an oversized event is stored like every other refusal.
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger, logController: new RequestLog() } : { logger: false }),
    genReqId: () => randomUUID(),
    bodyLimit: 4 * MAX_EVENT_BYTES,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  const uiUrl = (workflowId: string) => workflowUiUrl(deps.uiBaseUrl, deps.namespace, workflowId);
  const intake = new EventIntake({ ...deps, uiUrl });
  const send = (reply: FastifyReply, answer: Answer) => reply.code(answer.statusCode).send(answer.body);
  const withUi = (record: RefundRecord) => ({ ...record, uiUrl: uiUrl(record.workflowId) });
  const apiKeys = new ApiKeys(deps.db);
  const release = deps.release ?? currentRelease();
  const audit = new AuditTrail(deps.db);
  let counted: (answer: UnauthenticatedAnswer) => void = () => undefined;
  guardRoutes(
    app,
    new Authenticator({ apiKeys, oidc: deps.oidc, operatorToken: deps.operatorToken }),
    audit,
    new RefusalLimit(deps.refusalsPerMinute),
    (answer) => counted(answer),
  );
  const routes: RegisteredRoute[] = [];
  app.addHook('onRoute', (route) => {
    const { access } = route.config ?? {};
    for (const method of [route.method].flat()) if (access && method !== 'HEAD') routes.push({ method, url: route.url, access });
  });
  counted = registerApiMetrics(app, deps).unauthenticatedRefusal;

  app.setErrorHandler(async (err: Error & { statusCode?: number; code?: string }, request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const size = Number(request.headers['content-length'] ?? 0);
      const error = `the body is ${size} bytes; at most ${MAX_EVENT_BYTES} (256 KiB) are accepted`;
      await deps.inbox.reject({ statusCode: 413, reason: error, bodyHash: '(not read)', bodySize: size, body: '' });
      return send(reply, problem(413, error));
    }
    if (err.statusCode !== undefined && err.statusCode < 500) return send(reply, problem(err.statusCode, err.message));
    request.log.error(err);
    // An operator action whose attempted row could not be written was not carried out: say so.
    if (err instanceof AuditUnavailable) return send(reply, problem(503, err.message));
    return send(reply, problem(500, 'internal error; the request was not completed'));
  });
  app.setNotFoundHandler((request, reply) => send(reply, problem(404, `no route ${request.method} ${request.url.split('?')[0]}`)));

  app.post('/v1/events', { config: { access: 'signed' } }, async (request, reply) => {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    return send(reply, await intake.receive(raw, request.headers));
  });

  app.get<{ Params: { refundId: string } }>('/v1/refunds/:refundId', { config: { access: 'viewer' } }, async (request, reply) => {
    const { refundId } = request.params;
    const record = await deps.ledger.get(refundId);
    if (record) return withUi(record);
    // Accepted, but its run has not written the ledger yet.
    const requested = await deps.inbox.refundRequest(refundId);
    if (requested) {
      return withUi(receivedRecord(refundRequested.parse(requested.data), requested.receivedAt));
    }
    return send(reply, problem(404, `no refund ${refundId}`));
  });

  app.get('/v1/refunds', { config: { access: 'viewer' } }, async (request, reply) => {
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

  registerDecisionRoutes(app, { ...deps, audit, uiUrl, send });
  registerResolveRoute(app, { ...deps, audit, uiUrl, send });
  registerOperatorRoutes(app, { apiKeys, audit, send, grantsByTwo: deps.dualApprovalThreshold !== undefined });
  registerDeploymentRoutes(app, {
    workflowService: deps.client.workflowService,
    namespace: deps.namespace,
    deploymentName: deps.deploymentName ?? 'refundflow',
    release,
    audit,
    send,
  });
  registerOutcomeRoutes(app, {
    outbox: new OutcomeOutbox(deps.db),
    relay: deps.relay,
    audit,
    ui: { uiBaseUrl: deps.uiBaseUrl, namespace: deps.namespace },
    send,
  });

  app.get('/healthz', { config: { access: 'public' } }, () => ({
    status: 'ok',
    release: { version: release.version, ...(release.commit && { commit: release.commit }), buildId: release.buildId },
  }));

  app.get('/readyz', { config: { access: 'public' } }, async (_request, reply) => {
    const checks = await Promise.all([
      check('temporal', () => deps.client.workflowService.getSystemInfo({})),
      check('ledger', () => deps.db.query('SELECT 1')),
    ]).then((found) => [...found, ...(deps.intakes?.checks() ?? [])]);
    const failing = checks.filter((c) => c.status !== 'ok');
    return reply.code(failing.length ? 503 : 200).send({ status: failing.length ? 'unavailable' : 'ok', checks });
  });

  // Public, like the health checks: it describes what the API takes and answers and holds no data
  // (the same is in the repository). Made once, at the first request, when every route is registered
  // and the API listens: an unauthenticated caller costs no more than /healthz's.
  let document: Record<string, unknown> | undefined;
  app.get('/openapi.json', { config: { access: 'public' } }, () => (document ??= openApiDocument(routes, listeningUrl(app))));

  return app;
}

/** The address the API listens on, as a URL (a wildcard address as localhost); undefined when it does not listen (inject). */
function listeningUrl(app: FastifyInstance): string | undefined {
  const address = app.server.address();
  if (address === null || typeof address === 'string') return undefined;
  const host = address.address === '0.0.0.0' || address.address === '::' ? 'localhost' : address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

async function check(name: string, probe: () => Promise<unknown>): Promise<{ name: string; status: 'ok' | 'failing'; error?: string }> {
  try {
    await Promise.race([probe(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 3 s')), 3_000).unref())]);
    return { name, status: 'ok' };
  } catch (err) {
    return { name, status: 'failing', error: err instanceof Error ? err.message : String(err) };
  }
}
