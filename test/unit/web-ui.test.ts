import { describe, expect, it } from 'vitest';
import { webUiViewLines } from '../../src/cli/web-ui-links.js';
import type { RefundView } from '../../src/cli/output.js';
import { refundStatuses } from '../../src/domain/refund-status.js';
import { refundStatusQuery, webUiViews, workflowListUiUrl, workflowListUiUrlBeside, workflowUiUrl } from '../../src/domain/ui.js';

/** The Web UI's links (src/domain/ui.ts): a run's page, the filtered list, and the saved views. */
describe('Web UI links', () => {
  it("a run's page and the filtered list, in the UI's own URL shape", () => {
    expect(workflowUiUrl('http://localhost:8233/', 'default', 'oen-refund-P1')).toBe('http://localhost:8233/namespaces/default/workflows/oen-refund-P1');
    expect(workflowListUiUrl('http://localhost:8233', 'default', 'RefundStatus="requires_attention"')).toBe(
      'http://localhost:8233/namespaces/default/workflows?query=RefundStatus%3D%22requires_attention%22',
    );
    expect(workflowListUiUrl('https://ops.example.com/temporal//', 'refunds prod', 'RefundAmount >= 50000 AND OrderId="A&B"')).toBe(
      'https://ops.example.com/temporal/namespaces/refunds%20prod/workflows?query=RefundAmount%20%3E%3D%2050000%20AND%20OrderId%3D%22A%26B%22',
    );
  });

  it("a list link that saves its view carries the name as the UI's Share link does", () => {
    const url = new URL(workflowListUiUrl('http://localhost:8233', 'default', 'RefundStatus="awaiting_approval"', 'Awaiting approval'));
    expect(url.searchParams.get('query')).toBe('RefundStatus="awaiting_approval"');
    expect(url.searchParams.get('savedQuery')).toBe('Awaiting approval');
    expect(url.href).toContain('&savedQuery=Awaiting%20approval');
  });

  it("the list beside a run's page: same UI, same namespace; nothing for a URL that is not a run's page", () => {
    for (const [base, namespace] of [
      ['http://localhost:8233', 'default'],
      ['https://ops.example.com/temporal/', 'refunds prod'],
    ] as const) {
      const run = workflowUiUrl(base, namespace, 'resolve:RF-1/x');
      expect(workflowListUiUrlBeside(run, 'RefundStatus="submitting"')).toBe(workflowListUiUrl(base, namespace, 'RefundStatus="submitting"'));
    }
    expect(workflowListUiUrlBeside('http://localhost:8233/namespaces/default/workflows', 'RefundStatus="failed"')).toBeUndefined();
    expect(workflowListUiUrlBeside('', 'RefundStatus="failed"')).toBeUndefined();
  });

  it('the saved views: unique names the UI accepts, and the two that wait for a person list their status', () => {
    const names = webUiViews.map((view) => view.name);
    expect(new Set(names).size).toBe(names.length);
    // The UI's Save dialog (2.42) takes only these names.
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9 _.-]+$/);
      expect(name).not.toMatch(/^[.-]|[.-]$/);
    }
    const waiting = webUiViews.filter((view) => view.waitsForPerson !== undefined);
    expect(waiting.map((view) => [view.name, view.query])).toEqual([
      ['Needs a person', 'RefundStatus="requires_attention"'],
      ['Awaiting approval', 'RefundStatus="awaiting_approval"'],
    ]);
    for (const view of waiting) expect(view.query).toBe(refundStatusQuery(view.waitsForPerson ?? 'received'));
    for (const status of refundStatuses) expect(refundStatusQuery(status)).toBe(`RefundStatus="${status}"`);
  });
});

describe("the CLI's Web UI view lines", () => {
  const refund = (status: RefundView['status'], uiUrl?: string): RefundView => ({
    refundId: `RF-${status}`,
    provider: 'mwd',
    orderId: 'O-1',
    amount: 1000,
    status,
    attempts: 1,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
    workflowId: `mwd-refund-RF-${status}`,
    ...(uiUrl !== undefined && { uiUrl }),
  });
  const run = (status: string) => workflowUiUrl('https://ui.example.com', 'refunds', `mwd-refund-RF-${status}`);

  it('one line for each kind of refund among them that waits for a person, linking to its saved view', () => {
    const lines = webUiViewLines([
      refund('succeeded', run('succeeded')),
      refund('awaiting_approval', run('awaiting_approval')),
      refund('requires_attention', run('requires_attention')),
      refund('requires_attention', run('requires_attention-2')),
    ]);
    expect(lines).toEqual([
      `Web UI, every refund in requires_attention ("Needs a person"): ${workflowListUiUrl('https://ui.example.com', 'refunds', 'RefundStatus="requires_attention"')}`,
      `Web UI, every refund in awaiting_approval ("Awaiting approval"): ${workflowListUiUrl('https://ui.example.com', 'refunds', 'RefundStatus="awaiting_approval"')}`,
    ]);
  });

  it('nothing for refunds that wait for nobody, or when the API gave no Web UI link', () => {
    expect(webUiViewLines([refund('succeeded', run('succeeded')), refund('submitting', run('submitting')), refund('failed', run('failed'))])).toEqual([]);
    expect(webUiViewLines([refund('requires_attention')])).toEqual([]);
    expect(webUiViewLines([])).toEqual([]);
  });
});
