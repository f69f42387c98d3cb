import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { apiMetricNames } from '../src/api/metrics.js';
import { metricNames } from '../src/metrics.js';
import { commandArgs, documentedNames, healthcheckTest, loadCompose, parseDotEnv, serviceEnv, type ComposeFile, type Service } from './helpers/compose.js';
import { alertRules, annotationQueries, dashboardExprs, dashboardFiles, metricNamesIn, readDashboard, type DashboardPanel } from './helpers/prometheus.js';

/**
 * The "observability" profile of docker-compose.yml, checked without a Docker engine (as
 * test/compose.test.ts checks the rest): Prometheus and Grafana mount files that say what the rest
 * of the file does — the worker's and the API's ports, the API's credential, the data source the
 * dashboard names — and the dashboard and the rules read metrics the engine exports. The last block
 * breaks copies to show that each check can fail.
 */

const read = (path: string) => readFileSync(path, 'utf8');
const exampleEnv = parseDotEnv(read('.env.example'));
const compose = loadCompose(read('docker-compose.yml'), exampleEnv);

interface ScrapeJob {
  job_name: string;
  metrics_path?: string;
  dns_sd_configs?: Array<{ names: string[]; type: string; port: number }>;
  authorization?: { type?: string; credentials_file?: string };
}
interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: ScrapeJob[];
}
interface Datasource {
  uid: string;
  type: string;
  url: string;
}
interface Dashboard {
  uid: string;
  panels: DashboardPanel[];
}
interface Files {
  prometheus: PrometheusConfig;
  datasources: Datasource[];
  dashboardPath: string;
  dashboards: Dashboard[];
}

const files = (): Files => ({
  prometheus: parse(read('deploy/prometheus/prometheus.yml')) as PrometheusConfig,
  datasources: (parse(read('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: Datasource[] }).datasources,
  dashboardPath:
    (parse(read('deploy/grafana/provisioning/dashboards/refundflow.yml')) as { providers: Array<{ options: { path: string } }> }).providers[0]?.options.path ??
    '',
  dashboards: dashboardFiles().map(readDashboard),
});

function service(c: ComposeFile, name: string): Service {
  const found = c.services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
}

/** Where a service mounts a folder of this repository (`./deploy/…:/in/container:ro`). */
function mountTarget(s: Service, source: string): string | undefined {
  const mount = (s.volumes ?? []).map(String).find((volume) => volume.split(':')[0] === source);
  return mount?.split(':')[1];
}

/** The port a health check asks, and its path, from its URL. */
function healthUrl(s: Service): URL | undefined {
  const url = healthcheckTest(s)?.find((arg) => arg.startsWith('http://'));
  return url === undefined ? undefined : new URL(url);
}

/** Every series the engine exports: the worker's (src/metrics.ts) and the API's (src/api/metrics.ts), as Prometheus names them. */
const histogram = (name: string) => [`${name}_bucket`, `${name}_sum`, `${name}_count`];
const EXPORTED = new Set([
  ...histogram(metricNames.providerCallLatency),
  `${metricNames.refunds}_total`,
  `${metricNames.activityRetries}_total`,
  ...Object.values(apiMetricNames).filter((name) => name !== apiMetricNames.requestDuration),
  ...histogram(apiMetricNames.requestDuration),
]);

// ---- The checks ------------------------------------------------------------------------------

/** Both run only with the profile, from images of a pinned version, and no other service waits for them. */
function profileProblems(c: ComposeFile): string[] {
  const problems: string[] = [];
  for (const name of ['prometheus', 'grafana']) {
    const s = service(c, name);
    if (JSON.stringify(s.profiles) !== '["observability"]') problems.push(`${name} does not run only with the observability profile`);
    if (!/:v?\d+\.\d+\.\d+$/.test(s.image ?? '')) problems.push(`${name}'s image ${s.image} is not pinned to a version`);
  }
  for (const [name, s] of Object.entries(c.services)) {
    const waits = Object.keys(Array.isArray(s.depends_on) ? Object.fromEntries(s.depends_on.map((d) => [d, {}])) : (s.depends_on ?? {}));
    if (!['prometheus', 'grafana'].includes(name) && waits.some((d) => d === 'prometheus' || d === 'grafana')) {
      problems.push(`${name} waits for the observability profile`);
    }
  }
  return problems;
}

/** Prometheus reads deploy/prometheus, scrapes the worker and the API where they listen, and sends the API the secret. */
function prometheusProblems(c: ComposeFile, f: Files): string[] {
  const problems: string[] = [];
  const prometheus = service(c, 'prometheus');
  const dir = mountTarget(prometheus, './deploy/prometheus');
  if (dir === undefined) return ['prometheus does not mount ./deploy/prometheus'];
  if (!(commandArgs(prometheus) ?? []).includes(`--config.file=${dir}/prometheus.yml`)) problems.push(`prometheus does not read ${dir}/prometheus.yml`);
  for (const file of f.prometheus.rule_files) if (!existsSync(join('deploy/prometheus', file))) problems.push(`rule file ${file} is not in deploy/prometheus`);

  const listens: Record<string, number> = {
    worker: Number((serviceEnv(service(c, 'worker')).METRICS_ADDRESS ?? '').split(':').pop()),
    api: Number(serviceEnv(service(c, 'api')).PORT),
  };
  for (const [target, port] of Object.entries(listens)) {
    const jobs = f.prometheus.scrape_configs.filter((job) => job.dns_sd_configs?.some((sd) => sd.names.includes(target)));
    if (jobs.length !== 1) problems.push(`${jobs.length} scrape jobs for ${target}, not 1`);
    for (const job of jobs) {
      if (!job.dns_sd_configs?.every((sd) => sd.port === port && sd.type === 'A')) problems.push(`${job.job_name} does not scrape every ${target} on ${port}`);
      if ((job.metrics_path ?? '/metrics') !== '/metrics') problems.push(`${job.job_name} scrapes ${job.metrics_path}`);
    }
  }
  for (const job of f.prometheus.scrape_configs) {
    for (const name of job.dns_sd_configs?.flatMap((sd) => sd.names) ?? [])
      if (!c.services[name]) problems.push(`${job.job_name} scrapes ${name}, not a service`);
  }

  const api = f.prometheus.scrape_configs.find((job) => job.dns_sd_configs?.some((sd) => sd.names.includes('api')));
  const secret = /^\/run\/secrets\/(\w+)$/.exec(api?.authorization?.credentials_file ?? '')?.[1];
  if (api?.authorization?.type !== 'Bearer' || secret === undefined) return [...problems, 'the API job sends no Bearer credential from a secret'];
  if (!(prometheus.secrets ?? []).some((s) => (typeof s === 'string' ? s : s.source) === secret)) problems.push(`prometheus is not given the secret ${secret}`);
  const variable = c.secrets?.[secret]?.environment;
  if (variable === undefined || !documentedNames(read('.env.example')).has(variable))
    problems.push(`the secret ${secret} comes from no variable of .env.example`);

  const health = healthUrl(prometheus);
  if (health?.port !== '9090' || health.pathname !== '/-/ready') problems.push(`prometheus's health check asks ${health?.href}`);
  return problems;
}

/** Grafana is provisioned with the Prometheus of this file and the dashboards, which name that data source. */
function grafanaProblems(c: ComposeFile, f: Files): string[] {
  const problems: string[] = [];
  const grafana = service(c, 'grafana');
  if (mountTarget(grafana, './deploy/grafana/provisioning') !== '/etc/grafana/provisioning') problems.push('grafana does not mount its provisioning');
  const dashboards = mountTarget(grafana, './deploy/grafana/dashboards');
  if (dashboards === undefined || dashboards !== f.dashboardPath)
    problems.push(`the dashboards are mounted at ${dashboards}, provisioned from ${f.dashboardPath}`);
  const home = serviceEnv(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ?? '';
  if (dashboards === undefined || !home.startsWith(`${dashboards}/`) || !existsSync(join('deploy/grafana/dashboards', home.slice(dashboards.length + 1)))) {
    problems.push(`the home dashboard ${home} is not one of deploy/grafana/dashboards`);
  }

  const [source] = f.datasources;
  const url = new URL(source?.url ?? 'http://missing');
  const prometheusPort = String(healthUrl(service(c, 'prometheus'))?.port);
  if (source?.type !== 'prometheus' || !c.services[url.hostname] || url.port !== prometheusPort) {
    problems.push(`the data source ${source?.url} is not the prometheus service on ${prometheusPort}`);
  }
  for (const dashboard of f.dashboards) {
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      const named = [panel.datasource, ...(panel.targets ?? []).map((t) => t.datasource)];
      if (named.some((ds) => ds?.uid !== source?.uid)) problems.push(`${dashboard.uid}: "${panel.title}" reads another data source than ${source?.uid}`);
    }
  }
  const health = healthUrl(grafana);
  if (health?.port !== '3000' || health.pathname !== '/api/health') problems.push(`grafana's health check asks ${health?.href}`);
  return problems;
}

/** Every panel queries something, and every refundflow metric a query or a rule reads is one the engine exports. */
function metricProblems(dashboards: Dashboard[], exprs: string[]): string[] {
  const problems: string[] = [];
  for (const dashboard of dashboards) {
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      if (!(panel.targets ?? []).length || panel.targets?.some((t) => !t.expr?.trim())) problems.push(`${dashboard.uid}: "${panel.title}" has an empty query`);
    }
  }
  const unknown = [...new Set(exprs.flatMap(metricNamesIn))].filter((name) => name.startsWith('refundflow_') && !EXPORTED.has(name));
  return [...problems, ...unknown.map((name) => `${name} is not a metric the engine exports`)];
}

// ---- The tests ----------------------------------------------------------------------------------

const ruleExprs = () => alertRules().flatMap((rule) => [rule.expr, ...annotationQueries(rule)]);

describe('the observability profile of docker-compose.yml', () => {
  it('runs Prometheus and Grafana only with the profile, from pinned images, with nothing else waiting for them', () => {
    expect(profileProblems(compose)).toEqual([]);
  });

  it('has Prometheus read deploy/prometheus, scrape every worker and API where they listen, and send the API its key', () => {
    expect(prometheusProblems(compose, files())).toEqual([]);
  });

  it('provisions Grafana with that Prometheus and the dashboard, which reads only it', () => {
    expect(grafanaProblems(compose, files())).toEqual([]);
  });

  it('has dashboards that parse, whose every panel queries metrics the engine exports, as the alert rules do', () => {
    const { dashboards } = files();
    expect(dashboards.map((d) => d.uid)).toEqual(['refundflow']);
    expect(metricProblems(dashboards, [...dashboardExprs(), ...ruleExprs()])).toEqual([]);
    // What the dashboard is for: refunds by status, provider latency and errors, backlog, approvals.
    const queries = dashboardExprs().join('\n');
    for (const needed of [
      'refundflow_ledger_refunds{',
      'refundflow_refunds_total',
      'refundflow_provider_call_latency_bucket',
      'refundflow_provider_call_latency_count{outcome!~',
      'refundflow_ledger_inbox_pending_events',
      'refundflow_ledger_outcomes_undelivered',
      'status="awaiting_approval"',
    ]) {
      expect(queries, needed).toContain(needed);
    }
  });
});

describe('docs/observability.md', () => {
  const docs = read('docs/observability.md');

  it('names every metric the engine exports and every alert rule', () => {
    const names = [...Object.values(metricNames), ...Object.values(apiMetricNames)];
    expect(names.filter((name) => !docs.includes(`\`${name}`))).toEqual([]);
    expect(
      alertRules()
        .filter((rule) => !docs.includes(`### ${rule.alert}`))
        .map((rule) => rule.alert),
    ).toEqual([]);
  });

  it("links every rule's runbook to its section", () => {
    for (const rule of alertRules()) expect(rule.annotations?.runbook, rule.alert).toBe(`docs/observability.md#${rule.alert.toLowerCase()}`);
  });
});

describe('the observability checks find what is wrong', () => {
  const broken = (edit: (c: ComposeFile) => void): ComposeFile => {
    const copy = structuredClone(compose);
    edit(copy);
    return copy;
  };

  it('profileProblems finds Grafana in the default profile and an unpinned image', () => {
    expect(profileProblems(broken((c) => delete service(c, 'grafana').profiles))).toEqual(['grafana does not run only with the observability profile']);
    expect(profileProblems(broken((c) => (service(c, 'prometheus').image = 'prom/prometheus:latest')))).toEqual([
      "prometheus's image prom/prometheus:latest is not pinned to a version",
    ]);
  });

  it('prometheusProblems finds a worker listening elsewhere, and an API job without its credential', () => {
    const moved = broken((c) => {
      const worker = service(c, 'worker');
      worker.environment = { ...serviceEnv(worker), METRICS_ADDRESS: '0.0.0.0:9999' };
    });
    expect(prometheusProblems(moved, files())).toEqual(['refundflow-worker does not scrape every worker on 9999']);
    const f = files();
    for (const job of f.prometheus.scrape_configs) delete job.authorization;
    expect(prometheusProblems(compose, f)).toEqual(['the API job sends no Bearer credential from a secret']);
    const unset = broken((c) => delete c.secrets);
    expect(prometheusProblems(unset, files())).toEqual(['the secret prometheus_api_key comes from no variable of .env.example']);
  });

  it('grafanaProblems finds a data source elsewhere, and a panel reading another', () => {
    const f = files();
    if (f.datasources[0]) f.datasources[0].url = 'http://prometheus:9091';
    expect(grafanaProblems(compose, f)).toEqual(['the data source http://prometheus:9091 is not the prometheus service on 9090']);
    const g = files();
    const panel = g.dashboards[0]?.panels.find((p) => p.type === 'timeseries');
    if (panel) panel.datasource = { type: 'prometheus', uid: 'another' };
    expect(grafanaProblems(compose, g)).toEqual([`refundflow: "${panel?.title}" reads another data source than prometheus`]);
  });

  it('metricProblems finds a metric the engine does not export, and an empty query', () => {
    expect(metricProblems([], ['sum(rate(refundflow_refunds_totl[5m]))'])).toEqual(['refundflow_refunds_totl is not a metric the engine exports']);
    const [dashboard] = files().dashboards;
    const panel = dashboard?.panels.find((p) => p.type === 'stat');
    if (panel?.targets?.[0]) panel.targets[0].expr = ' ';
    expect(metricProblems(dashboard ? [dashboard] : [], [])).toEqual([`refundflow: "${panel?.title}" has an empty query`]);
  });
});
