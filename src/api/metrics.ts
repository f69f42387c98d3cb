import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queryable } from '../ledger/database.js';
import type { UnauthenticatedAnswer } from './access.js';
import { readLedgerGauges, type LedgerGauges } from '../ledger/gauges.js';
import { webUiViews, workflowListUiUrl } from '../domain/ui.js';

/**
 * The API's Prometheus metrics (docs/observability.md): its own requests, its broker intakes
 * (src/api/brokers/monitor.ts), and what the ledger holds that an operator watches, read at each scrape. The worker's metrics are on its own endpoint
 * (src/metrics.ts, METRICS_ADDRESS).
 */
export const apiMetricNames = {
  requests: 'refundflow_api_requests_total',
  unauthenticatedRefusals: 'refundflow_api_unauthenticated_refusals_total',
  requestDuration: 'refundflow_api_request_duration_seconds',
  ledgerUp: 'refundflow_ledger_up',
  refunds: 'refundflow_ledger_refunds',
  refundsOldestAge: 'refundflow_ledger_refunds_oldest_age_seconds',
  inboxPending: 'refundflow_ledger_inbox_pending_events',
  inboxOldestAge: 'refundflow_ledger_inbox_oldest_pending_age_seconds',
  outcomesUndelivered: 'refundflow_ledger_outcomes_undelivered',
  outcomesOldestAge: 'refundflow_ledger_outcomes_oldest_undelivered_age_seconds',
  notRequestedRuns: 'refundflow_ledger_not_requested_runs',
  reconciliationFinished: 'refundflow_ledger_reconciliation_last_finished_timestamp_seconds',
  reconciliationRefunds: 'refundflow_ledger_reconciliation_last_refunds',
  webUiView: 'refundflow_web_ui_view_info',
  intakeUp: 'refundflow_intake_up',
  intakeMessages: 'refundflow_intake_messages_total',
  runningRefunds: 'refundflow_api_running_refunds',
  runningRefundsLimit: 'refundflow_api_running_refunds_limit',
} as const;

const METRICS_PATH = '/metrics';

/** A request that matched no route is counted under this route label, never its URL (which may hold ids). */
const UNMATCHED_ROUTE = 'unmatched';

/** A ledger that does not answer within this is reported unreadable: well inside Prometheus' default 10 s scrape timeout. */
const LEDGER_READ_TIMEOUT_MS = 5_000;

/**
 * Serves `GET /metrics` on the API's port, and counts and times every request by method, route
 * pattern (`/v1/refunds/:refundId`) and status code.
 */
export function registerApiMetrics(
  app: FastifyInstance,
  deps: {
    db: Queryable;
    uiBaseUrl: string;
    namespace: string;
    intakes?: { registry: Registry } | undefined;
    admission?: { readonly size: number; readonly limit: number } | undefined;
  },
): { unauthenticatedRefusal: (answer: UnauthenticatedAnswer) => void } {
  const http = new Registry();
  const { admission } = deps;
  if (admission) {
    new Gauge({
      name: apiMetricNames.runningRefunds,
      help: 'Refund runs this API process started that the engine is still working (neither waiting for a person nor ended); past the limit, accepted events wait in the inbox',
      registers: [http],
      collect() {
        this.set(admission.size);
      },
    });
    new Gauge({
      name: apiMetricNames.runningRefundsLimit,
      help: 'RUNNING_REFUNDS_LIMIT: refund runs this API process keeps working at once',
      registers: [http],
    }).set(admission.limit);
  }
  // The alerts' links (deploy/prometheus/alerts.yml): each saved view's list, in this API's Web UI and namespace.
  const views = new Gauge({
    name: apiMetricNames.webUiView,
    help: 'Always 1: the Web UI list link of each saved view (docs/operations.md), in the url label, from TEMPORAL_UI_URL and TEMPORAL_NAMESPACE',
    labelNames: ['view', 'url'] as const,
    registers: [http],
  });
  for (const view of webUiViews) views.set({ view: view.name, url: workflowListUiUrl(deps.uiBaseUrl, deps.namespace, view.query) }, 1);
  const refusals = new Counter({
    name: apiMetricNames.unauthenticatedRefusals,
    help: 'Calls refused for want of a valid credential, by answer: 401 (and audited, for an action), or 429 once their source passed its limit (not audited)',
    labelNames: ['answer'] as const,
    registers: [http],
  });
  const labelNames = ['method', 'route', 'status_code'] as const;
  const requests = new Counter({
    name: apiMetricNames.requests,
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames,
    registers: [http],
  });
  const duration = new Histogram({
    name: apiMetricNames.requestDuration,
    help: "Seconds from a request's arrival to its answer, by method, route pattern and status code",
    labelNames,
    registers: [http],
  });

  app.addHook('onResponse', async (request, reply) => {
    const labels = { method: request.method, route: request.routeOptions.url ?? UNMATCHED_ROUTE, status_code: String(reply.statusCode) };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  // For Prometheus, with a viewer's credential (deploy/prometheus/prometheus.yml sends one).
  app.get(METRICS_PATH, { config: { access: 'viewer' } }, async (request, reply) => {
    let gauges: LedgerGauges | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        setTimeout(() => reject(new Error(`no answer within ${LEDGER_READ_TIMEOUT_MS} ms`)), LEDGER_READ_TIMEOUT_MS).unref();
      });
      gauges = await Promise.race([readLedgerGauges(deps.db), timeout]);
    } catch (err) {
      request.log.warn({ err }, 'metrics: the ledger could not be read; its gauges are left out of this scrape');
    }
    const text = await Registry.merge([http, ledgerRegistry(gauges), ...(deps.intakes ? [deps.intakes.registry] : [])]).metrics();
    return reply.type(http.contentType).send(text);
  });
  return { unauthenticatedRefusal: (answer) => refusals.inc({ answer }) };
}

/**
 * The ledger's gauges for one scrape, made anew each time: when the ledger cannot be read, only
 * `refundflow_ledger_up 0` is served, rather than the last values or zeros that would look fine.
 */
function ledgerRegistry(gauges: LedgerGauges | undefined): Registry {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });
  gauge(apiMetricNames.ledgerUp, '1 when this scrape read the ledger; 0 when it could not (the other refundflow_ledger_ gauges are then absent)').set(
    gauges ? 1 : 0,
  );
  if (!gauges) return registry;

  const refunds = gauge(apiMetricNames.refunds, 'Refunds in each status that is not final: received, awaiting_approval, submitting, requires_attention', [
    'status',
  ]);
  const refundsAge = gauge(apiMetricNames.refundsOldestAge, 'Seconds the refund longest in each status has been in it (0 when none is)', ['status']);
  for (const { status, count, oldestAgeSeconds } of gauges.refunds) {
    refunds.set({ status }, count);
    refundsAge.set({ status }, oldestAgeSeconds);
  }
  gauge(apiMetricNames.inboxPending, 'Accepted events whose workflow has not been started yet').set(gauges.inbox.count);
  gauge(apiMetricNames.inboxOldestAge, 'Seconds since the oldest of them was accepted (0 when none waits)').set(gauges.inbox.oldestAgeSeconds);
  gauge(apiMetricNames.outcomesUndelivered, 'Outcome events in the outbox a configured destination has not taken yet').set(gauges.outcomes.count);
  gauge(apiMetricNames.outcomesOldestAge, 'Seconds since the oldest of them was written (0 when none)').set(gauges.outcomes.oldestAgeSeconds);
  gauge(
    apiMetricNames.notRequestedRuns,
    'Runs stopped at the request gate in the last 24 hours: started through Temporal, not by the intake, for no accepted request (nothing was sent)',
  ).set(gauges.notRequestedRuns);

  if (gauges.reconciliation) {
    const { finishedAt, counts } = gauges.reconciliation;
    gauge(apiMetricNames.reconciliationFinished, 'When the latest reconciliation run finished (Unix seconds)').set(finishedAt.getTime() / 1000);
    const refundsSeen = gauge(
      apiMetricNames.reconciliationRefunds,
      'Refunds the latest reconciliation run counted, by outcome (mismatch: succeeded in the ledger, not at Oen; or failed in the ledger, refunded at Oen)',
      ['outcome'],
    );
    for (const [outcome, count] of Object.entries(counts)) refundsSeen.set({ outcome }, count);
  }
  return registry;
}
