import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * Debian's Prometheus and promtool, which npm test's pre-script installs (scripts/ensure-prometheus.mjs),
 * and the files of deploy/prometheus/ they are run on.
 */
export const PROMETHEUS = process.env.PROMETHEUS_PATH ?? '/usr/bin/prometheus';
export const PROMTOOL = process.env.PROMTOOL_PATH ?? '/usr/bin/promtool';
export const PROMETHEUS_DIR = 'deploy/prometheus';
export const RULES_FILE = join(PROMETHEUS_DIR, 'alerts.yml');
export const RULE_TESTS_DIR = join(PROMETHEUS_DIR, 'tests');

/**
 * Whether the binaries are here. Without them a file using them is skipped, and says so; CI sets
 * REQUIRE_PROMETHEUS=1, making it a failure.
 */
export function prometheusMissing(): boolean {
  const missing = [PROMETHEUS, PROMTOOL].filter((path) => !existsSync(path));
  if (missing.length === 0) return false;
  const message = `No ${missing.join(' or ')} (npm test's pre-script, scripts/ensure-prometheus.mjs, installs Debian's "prometheus" package)`;
  if (process.env.REQUIRE_PROMETHEUS === '1') throw new Error(`${message}; REQUIRE_PROMETHEUS=1 makes that a failure`);
  console.warn(`${message}: the Prometheus tests are SKIPPED. Set PROMETHEUS_PATH and PROMTOOL_PATH to run them.`);
  return true;
}

/** How long one promtool run may take (it takes about a second); a test's timeout covers its runs. */
export const PROMTOOL_TIMEOUT_MS = 30_000;

/** Runs promtool; its exit code and everything it printed, or that it was stopped for taking too long. */
export function promtool(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL, args, { timeout: PROMTOOL_TIMEOUT_MS }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      const stopped = err?.killed ? `\npromtool ${args.join(' ')} was stopped after ${PROMTOOL_TIMEOUT_MS} ms` : '';
      resolve({ code, output: `${stdout}${stderr}${stopped}` });
    });
  });
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleFile {
  groups: Array<{ name: string; rules: AlertRule[] }>;
}

export function readRules(path = RULES_FILE): RuleFile {
  return parse(readFileSync(path, 'utf8')) as RuleFile;
}

export function alertRules(rules: RuleFile = readRules()): AlertRule[] {
  return rules.groups.flatMap((group) => group.rules);
}

export function ruleTestFiles(): string[] {
  return readdirSync(RULE_TESTS_DIR)
    .filter((name) => name.endsWith('.yml'))
    .map((name) => join(RULE_TESTS_DIR, name));
}

/** The refundflow and Temporal SDK metric names a PromQL expression reads. */
export function metricNamesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(?:refundflow|temporal)_[a-z0-9_]+\b/g)].map((match) => match[0]);
}

export const DASHBOARDS_DIR = 'deploy/grafana/dashboards';

export interface DashboardPanel {
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr?: string; datasource?: { type: string; uid: string } }>;
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR)
    .filter((name) => name.endsWith('.json'))
    .map((name) => join(DASHBOARDS_DIR, name));
}

export function readDashboard(path: string): { uid: string; title: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(path, 'utf8')) as { uid: string; title: string; panels: DashboardPanel[] };
}

/** Every query of the Grafana dashboards (deploy/grafana/dashboards/). */
export function dashboardExprs(): string[] {
  return dashboardFiles().flatMap((file) => readDashboard(file).panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr ?? '')));
}

/** The PromQL queries an alert's annotations run (`{{ with query `…` }}`), e.g. for its Web UI link. */
export function annotationQueries(rule: AlertRule): string[] {
  return Object.values(rule.annotations ?? {}).flatMap((text) => [...text.matchAll(/\bquery\s+`([^`]*)`/g)].map((match) => match[1] ?? ''));
}

/** Every refundflow and Temporal SDK metric the alert rules (their annotations too) and the dashboards read, once each. */
export function usedMetricNames(): string[] {
  const exprs = [...alertRules().flatMap((rule) => [rule.expr, ...annotationQueries(rule)]), ...dashboardExprs()];
  return [...new Set(exprs.flatMap(metricNamesIn))].sort();
}
