import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { apiMetricNames } from '../../src/api/metrics.js';
import { webUiViews, workflowListUiUrl } from '../../src/domain/ui.js';
import { alertRules, annotationQueries, PROMETHEUS_DIR, prometheusMissing, promtool, readRules, ruleTestFiles, RULES_FILE } from '../helpers/prometheus.js';

/**
 * deploy/prometheus/ checked by promtool, Debian's: the rules and the scrape config are valid, and
 * every alert rule passes its unit tests (deploy/prometheus/tests/). The last test breaks copies to
 * show that each check can fail.
 */

interface RuleTest {
  alert_rule_test?: Array<{ alertname: string; exp_alerts: Array<{ exp_annotations?: Record<string, string> }> }>;
}

const missing = prometheusMissing();

describe.skipIf(missing)('deploy/prometheus with promtool', () => {
  it('promtool check rules: the alert rules are valid', async () => {
    const { code, output } = await promtool(['check', 'rules', RULES_FILE]);
    expect(output).toContain(`SUCCESS: ${alertRules().length} rules found`);
    expect(code).toBe(0);
  });

  it('promtool check config: prometheus.yml is valid, with its rule file and the API credential it reads', async () => {
    // The credential file is the compose secret's path; here a file of our own stands in for it.
    const dir = mkdtempSync(join(tmpdir(), 'refundflow-promcheck-'));
    const config = parse(readFileSync(join(PROMETHEUS_DIR, 'prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{ job_name: string; authorization?: { credentials_file: string } }>;
    };
    for (const file of config.rule_files) copyFileSync(join(PROMETHEUS_DIR, file), join(dir, file));
    const api = config.scrape_configs.find((job) => job.job_name === 'refundflow-api');
    expect(api?.authorization?.credentials_file).toBe('/run/secrets/prometheus_api_key');
    writeFileSync(join(dir, 'api-key'), 'a-viewer-key\n');
    if (api?.authorization) api.authorization.credentials_file = join(dir, 'api-key');
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));

    const { code, output } = await promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    expect(output).toContain('SUCCESS: 1 rule files found');
    expect(code).toBe(0);
  });

  it('promtool test rules: every alert fires in a case made for it and stays quiet in another, with its annotations as written', async () => {
    const files = ruleTestFiles();
    expect(files.length).toBeGreaterThan(0);
    const { code, output } = await promtool(['test', 'rules', ...files]);
    expect(output).not.toContain('FAILED');
    expect(code).toBe(0);

    const cases = files.flatMap((file) => (parse(readFileSync(file, 'utf8')) as { tests: RuleTest[] }).tests.flatMap((t) => t.alert_rule_test ?? []));
    for (const { alert } of alertRules()) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} stays quiet in a test`,
      ).toBe(true);
    }
  });

  it('fails on a rule that does not parse, and on a test whose expectation the rules do not meet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'refundflow-promfail-'));
    const rules = readRules();
    const first = rules.groups[0]?.rules[0];
    if (!first) throw new Error('no rule to break');
    first.expr = `${first.expr} >`;
    writeFileSync(join(dir, 'alerts.yml'), stringify(rules));
    const broken = await promtool(['check', 'rules', join(dir, 'alerts.yml')]);
    expect(broken.code).not.toBe(0);
    expect(broken.output).toContain('FAILED');

    // The real rules, and a test that expects the requires_attention alert a minute early.
    copyFileSync(RULES_FILE, join(dir, 'alerts.yml'));
    const tests = readFileSync(join(PROMETHEUS_DIR, 'tests', 'alerts.test.yml'), 'utf8');
    const early = tests.replace(
      /- eval_time: 16m\n(\s+)alertname: RefundRequiresAttention\n(\s+)exp_alerts:\n(\s+)- /,
      '- eval_time: 15m\n$1alertname: RefundRequiresAttention\n$2exp_alerts:\n$3- ',
    );
    expect(early).not.toBe(tests);
    mkdirSync(join(dir, 'tests'));
    writeFileSync(join(dir, 'tests', 'alerts.test.yml'), early);
    const wrong = await promtool(['test', 'rules', join(dir, 'tests', 'alerts.test.yml')]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.output).toContain('FAILED');
  }, 90_000);
});

describe("the alerts' Web UI links", () => {
  it("name a saved view the API serves a link for, and the rule tests expect that view's list link", () => {
    const linked = alertRules().filter((rule) => rule.annotations?.web_ui !== undefined);
    expect(linked.map((rule) => rule.alert)).toEqual(['RefundRequiresAttention', 'RefundAwaitingApprovalTooLong', 'RefundSubmissionStuck']);
    const expected = ruleTestFiles()
      .flatMap((file) => (parse(readFileSync(file, 'utf8')) as { tests: RuleTest[] }).tests.flatMap((t) => t.alert_rule_test ?? []))
      .flatMap(({ alertname, exp_alerts }) => exp_alerts.map((alert) => ({ alertname, link: alert.exp_annotations?.web_ui })));
    for (const rule of linked) {
      const [query, ...more] = annotationQueries(rule);
      expect(more, rule.alert).toEqual([]);
      const view = webUiViews.find((v) => query === `${apiMetricNames.webUiView}{view="${v.name}"}`);
      if (!view) throw new Error(`${rule.alert}'s web_ui asks for no saved view: ${query}`);
      expect(rule.annotations?.web_ui).toContain(`filter the Web UI's list with ${view.query}{{ end }}`);
      // Where a rule test serves the link (from a Web UI at temporal.example.com:8233, namespace refunds), the alert carries it.
      for (const { link } of expected.filter((e) => e.alertname === rule.alert && e.link?.startsWith('http'))) {
        expect(link).toBe(workflowListUiUrl('http://temporal.example.com:8233', 'refunds', view.query));
      }
    }
    expect(expected.filter((e) => e.link?.startsWith('http')).length).toBeGreaterThanOrEqual(2);
  });
});
