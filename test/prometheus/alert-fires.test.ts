import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { workflowListUiUrl } from '../../src/domain/ui.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { Signer } from '../../src/webhooks/signing.js';
import { reconcileWorkflow } from '../../src/workflows/index.js';
import { newWebhookSecret } from '../helpers/api.js';
import { postgresAvailable, usePostgresLedger } from '../helpers/databases.js';
import { sandboxProviderEnv, useEngine } from '../helpers/engine.js';
import { freePorts } from '../helpers/ports.js';
import { PROMETHEUS, PROMETHEUS_DIR, prometheusMissing, readRules, usedMetricNames } from '../helpers/prometheus.js';
import { run, type RunningProcess } from '../helpers/process.js';
import { admin, seededMwdRefund, seededOenRefund } from '../helpers/sandbox.js';
import { startAccepted } from '../helpers/inbox.js';

/**
 * The real thing, end to end: a worker process and an API process (as docker-compose.yml runs them,
 * on one PostgreSQL ledger), scraped by Debian's Prometheus with deploy/prometheus/prometheus.yml's
 * jobs and deploy/prometheus/alerts.yml's rules. Only what makes it quick differs: a 1 s scrape and
 * evaluation interval, each job pointed at this test's processes, and every rule's `for` cut to 2 s
 * (its expression, labels and annotations as they are).
 */

/** The Web UI the API links to, and so the alerts' links. */
const WEB_UI = 'https://temporal.example.com/ui';

const postgres = await postgresAvailable();
const missing = prometheusMissing();
const engine = useEngine('prometheus-alert');
const ledger = usePostgresLedger(postgres);

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}
interface PromRule {
  name: string;
  state?: string;
  lastEvaluation?: string;
}

/** The real scrape config and rules, made quick and pointed at this test's processes. */
function prometheusConfig(dir: string, targets: Record<string, string>, apiKey: string): string {
  const rules = readRules();
  for (const rule of rules.groups.flatMap((g) => g.rules)) if (rule.for !== undefined) rule.for = '2s';
  writeFileSync(join(dir, 'alerts.yml'), stringify(rules));
  writeFileSync(join(dir, 'api-key'), `${apiKey}\n`);
  const config = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
    global: Record<string, string>;
    scrape_configs: Array<{ job_name: string; dns_sd_configs?: unknown; static_configs?: unknown; authorization?: { credentials_file: string } }>;
  };
  config.global = { scrape_interval: '1s', evaluation_interval: '1s' };
  for (const job of config.scrape_configs) {
    const target = targets[job.job_name];
    if (target === undefined) throw new Error(`no target for job ${job.job_name}`);
    delete job.dns_sd_configs;
    job.static_configs = [{ targets: [target] }];
    if (job.authorization) job.authorization.credentials_file = join(dir, 'api-key');
  }
  const path = join(dir, 'prometheus.yml');
  writeFileSync(path, stringify(config));
  return path;
}

describe.skipIf(!postgres || missing)('a real Prometheus on the worker and the API', () => {
  it('fires RefundRequiresAttention, with its Web UI link, for a refund left in requires_attention past its threshold, and knows every metric the rules and the dashboard name', async () => {
    const { temporal, sandboxes } = engine();
    const [metricsPort, apiPort, prometheusPort] = await freePorts(3);
    const dir = mkdtempSync(join(tmpdir(), 'refundflow-prometheus-'));
    const secret = newWebhookSecret();
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'DATABASE_URL'));
    const shared = { ...inherited, TEMPORAL_ADDRESS: temporal.address, REFUNDS_TASK_QUEUE: temporal.taskQueue, DATABASE_URL: ledger().url, DATA_DIR: dir };
    const started: RunningProcess[] = [];
    const node = (entry: string, env: Record<string, string>) => {
      const child = run(process.execPath, ['--import', 'tsx', entry], { ...shared, ...env });
      started.push(child);
      return child;
    };
    try {
      const worker = node('src/worker.ts', { METRICS_ADDRESS: `127.0.0.1:${metricsPort}`, ...sandboxProviderEnv(sandboxes) });
      const api = node('src/api/main.ts', { PORT: String(apiPort), INGEST_WEBHOOK_SECRET: secret, TEMPORAL_UI_URL: WEB_UI });
      // Prometheus scrapes the API as a viewer: a named API key, made as `npx refundflow operator add` makes one.
      const { key: viewerKey } = await new ApiKeys(ledger().db).add(`prometheus-${randomUUID().slice(0, 8)}`, 'viewer', 'prometheus test');
      const prometheus = run(
        PROMETHEUS,
        [
          `--config.file=${prometheusConfig(dir, { 'refundflow-worker': `127.0.0.1:${metricsPort}`, 'refundflow-api': `127.0.0.1:${apiPort}` }, viewerKey)}`,
          `--storage.tsdb.path=${join(dir, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${prometheusPort}`,
        ],
        process.env,
      );
      started.push(prometheus);
      // The three start at once: waited for together.
      await Promise.all([
        worker.waitForOutput(new RegExp(`metrics: http://127.0.0.1:${metricsPort}/metrics`), 120_000),
        api.waitForOutput(/API listening/, 60_000),
        prometheus.waitForOutput(/Server is ready to receive web requests/, 60_000),
      ]);
      const promUrl = `http://127.0.0.1:${prometheusPort}`;
      const prom = async <T>(path: string): Promise<T> => ((await (await fetch(`${promUrl}${path}`)).json()) as { data: T }).data;
      const alerts = async () => (await prom<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts.filter((a) => a.labels.alertname === 'RefundRequiresAttention');

      // An MWD refund whose answer is lost after MWD refunded: MWD cannot be asked, so it waits for a person.
      const request = await seededMwdRefund(sandboxes.mwdUrl);
      await admin(sandboxes.mwdUrl, 'PUT', 'faults', { refund: { next: ['commitThenDrop'] } });
      const event = { specversion: '1.0', id: `evt_${randomUUID()}`, source: 'prometheus-test', type: 'refund.requested', data: request };
      const body = JSON.stringify(event);
      const accepted = await fetch(`http://127.0.0.1:${apiPort}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...new Signer(secret).sign(event.id, body) },
        body,
      });
      expect(accepted.status).toBe(202);
      const statusOf = async (refundId: string) =>
        (
          (await (await fetch(`http://127.0.0.1:${apiPort}/v1/refunds/${refundId}`, { headers: { authorization: `Bearer ${viewerKey}` } })).json()) as {
            status?: string;
          }
        ).status;
      await expect.poll(() => statusOf(request.refundId), { timeout: 30_000 }).toBe('requires_attention');

      // Prometheus sees it (so its key was taken), and the rule, evaluated after that, holds: it has not waited an hour yet.
      const seenAt = Date.now();
      await expect
        .poll(
          async () =>
            (await prom<{ result: Array<{ value: [number, string] }> }>('/api/v1/query?query=refundflow_ledger_refunds{status="requires_attention"}')).result[0]
              ?.value[1],
          {
            timeout: 30_000,
          },
        )
        .toBe('1');
      const rule = async () =>
        (await prom<{ groups: Array<{ rules: PromRule[] }> }>('/api/v1/rules')).groups
          .flatMap((g) => g.rules)
          .find((r) => r.name === 'RefundRequiresAttention');
      await expect.poll(async () => Date.parse((await rule())?.lastEvaluation ?? '') > seenAt + 1_000, { timeout: 30_000 }).toBe(true);
      expect((await rule())?.state).toBe('inactive');
      expect(await alerts()).toEqual([]);

      // Rather than wait the rule's hour: the refund entered requires_attention two hours ago.
      await ledger().db.query(`UPDATE refunds SET status_since = now() - interval '2 hours' WHERE refund_id = $1`, [request.refundId]);
      await expect.poll(async () => (await alerts()).map((a) => a.state), { timeout: 30_000 }).toEqual(['firing']);
      const [firing] = await alerts();
      expect(firing?.labels).toMatchObject({ alertname: 'RefundRequiresAttention', severity: 'warning', status: 'requires_attention' });
      expect(firing?.annotations.summary).toMatch(/^A refund has waited 2h 0m \d+s in requires_attention for a person$/);
      expect(firing?.annotations.runbook).toBe('docs/observability.md#refundrequiresattention');
      // Its Web UI link: the saved view's list, in the Web UI the API links to (its TEMPORAL_UI_URL).
      expect(firing?.annotations.web_ui).toBe(workflowListUiUrl(WEB_UI, 'default', 'RefundStatus="requires_attention"'));

      // An Oen refund retried once (F0001) and a reconciliation run: every metric the rules and the dashboard name now exists.
      await admin(sandboxes.oenUrl, 'PUT', 'faults', { refund: { next: ['f0001'] } });
      const oen = await startAccepted(temporal.client, temporal.taskQueue, ledger().db, await seededOenRefund(sandboxes.oenUrl));
      // The API's dispatcher, which reads the same inbox, may start it first: the same run either way.
      if (oen.kind !== 'started' && oen.kind !== 'duplicate') throw new Error(JSON.stringify(oen));
      expect(await temporal.client.workflow.getHandle(oen.workflowId).result()).toMatchObject({ status: 'succeeded', attempts: 2 });
      await temporal.client.workflow.execute(reconcileWorkflow, { taskQueue: temporal.taskQueue, workflowId: `reconcile-${randomUUID()}`, args: [{}] });
      const known = async () => new Set(await prom<string[]>('/api/v1/label/__name__/values'));
      const used = usedMetricNames();
      expect(used).toEqual(expect.arrayContaining(['refundflow_ledger_refunds_oldest_age_seconds', 'refundflow_provider_call_latency_count']));
      await expect
        .poll(
          async () => {
            const names = await known();
            return used.filter((name) => !names.has(name));
          },
          { timeout: 30_000 },
        )
        .toEqual([]);
    } finally {
      for (const child of started) child.signalGroup('SIGTERM');
      await Promise.all(started.map((child) => child.exited));
    }
  }, 300_000);
});
