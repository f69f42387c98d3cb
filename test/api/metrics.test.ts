import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { apiMetricNames } from '../../src/api/metrics.js';
import { createApi } from '../../src/api/server.js';
import { postgresDatabase } from '../../src/ledger/database.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { Signer } from '../../src/webhooks/signing.js';
import { webUiViews, workflowListUiUrl } from '../../src/domain/ui.js';
import { OPERATOR_TOKEN, apiOn, newWebhookSecret, oenRefundEvent, useApi } from '../helpers/api.js';
import { useEngine } from '../helpers/engine.js';
import { sample } from '../helpers/metrics-text.js';

const engine = useEngine('api-metrics');
// Refunds of NT$1,000 and more wait for an operator.
const api = useApi(engine, { workerEnv: { APPROVAL_THRESHOLD: '1000' } });

/** GET /metrics as Prometheus sends it: with a viewer's credential. */
async function scrape(url: string, credential = api().keys.viewer): Promise<{ status: number; contentType: string | null; text: string }> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${credential}` } });
  return { status: response.status, contentType: response.headers.get('content-type'), text: await response.text() };
}

describe('GET /metrics on the API', () => {
  it('asks for a credential with the viewer role', async () => {
    expect((await api().request('GET', '/metrics', { token: null })).status).toBe(401);
    expect((await api().request('GET', '/metrics', { token: 'rfk_not-a-key' })).status).toBe(401);
    expect((await scrape(api().url)).status).toBe(200);
  });

  it('counts and times requests by route pattern and status code, never by the URL', async () => {
    expect((await api().request('GET', '/v1/refunds/RF-secret-id-4711')).status).toBe(404);
    expect((await api().request('GET', '/v1/refunds/RF-secret-id-4712')).status).toBe(404);
    expect((await api().request('GET', '/no/such/route/P20260101SECRET1')).status).toBe(404);
    expect((await api().request('GET', '/healthz')).status).toBe(200);

    const { status, contentType, text } = await scrape(api().url);
    expect(status).toBe(200);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const labels = (route: string, statusCode: string) => ({ method: 'GET', route, status_code: statusCode });
    expect(sample(text, apiMetricNames.requests, labels('/v1/refunds/:refundId', '404'))).toBe(2);
    expect(sample(text, apiMetricNames.requests, labels('unmatched', '404'))).toBe(1);
    expect(sample(text, apiMetricNames.requests, labels('/healthz', '200'))).toBe(1);
    expect(sample(text, `${apiMetricNames.requestDuration}_count`, labels('/v1/refunds/:refundId', '404'))).toBe(2);
    expect(sample(text, `${apiMetricNames.requestDuration}_bucket`, { ...labels('/healthz', '200'), le: '+Inf' })).toBe(1);
    expect(text).not.toMatch(/secret|4711|P20260101/i);
  });

  it('serves the ledger as it is now: a refund awaiting approval counted and aged, the inbox drained, every open status listed', async () => {
    const event = await oenRefundEvent(engine(), { amount: 1000 });
    const accepted = await api().send(event);
    expect(accepted.status).toBe(202);
    const { refundId } = event.data;
    const [{ workflowId }] = accepted.body.refunds as [{ workflowId: string }];
    await expect.poll(async () => (await api().request('GET', `/v1/refunds/${refundId}`)).body.status, { timeout: 30_000 }).toBe('awaiting_approval');

    const { text } = await scrape(api().url);
    expect(sample(text, apiMetricNames.ledgerUp)).toBe(1);
    expect(sample(text, apiMetricNames.refunds, { status: 'awaiting_approval' })).toBe(1);
    expect(sample(text, apiMetricNames.refundsOldestAge, { status: 'awaiting_approval' })).toBeGreaterThanOrEqual(0);
    for (const status of ['received', 'submitting', 'requires_attention']) {
      expect(sample(text, apiMetricNames.refunds, { status }), status).toBe(0);
      expect(sample(text, apiMetricNames.refundsOldestAge, { status }), status).toBe(0);
    }
    // The dispatcher started its workflow: nothing is left in the inbox, and no outcome failed.
    expect(sample(text, apiMetricNames.inboxPending)).toBe(0);
    expect(sample(text, apiMetricNames.inboxOldestAge)).toBe(0);
    expect(sample(text, apiMetricNames.outcomesUndelivered)).toBe(0);
    // No reconciliation has run on this ledger.
    expect(sample(text, apiMetricNames.reconciliationFinished)).toBeUndefined();

    // Decided: it no longer waits.
    expect((await api().request('POST', `/v1/refunds/${refundId}/cancel`, { body: { reason: 'metrics test' } })).status).toBe(200);
    const after = (await scrape(api().url)).text;
    expect(sample(after, apiMetricNames.refunds, { status: 'awaiting_approval' })).toBe(0);
    // Its run closes before the file's worker stops.
    await expect.poll(async () => (await engine().temporal.client.workflow.getHandle(workflowId).describe()).status.name, { timeout: 30_000 }).toBe('FAILED');
  }, 90_000);

  it("serves each saved view's Web UI list link, for the alerts' annotations, in the Web UI and namespace it is configured with", async () => {
    const app = apiOn(engine().db, engine().temporal.client, {
      operatorToken: OPERATOR_TOKEN,
      uiBaseUrl: 'https://temporal.example.com/ui/',
      namespace: 'refunds prod',
    });
    try {
      const response = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${OPERATOR_TOKEN}` } });
      expect(response.statusCode).toBe(200);
      expect(webUiViews.map((view) => view.name)).toEqual(expect.arrayContaining(['Needs a person', 'Awaiting approval']));
      for (const view of webUiViews) {
        const url = workflowListUiUrl('https://temporal.example.com/ui', 'refunds prod', view.query);
        expect(url).toMatch(/^https:\/\/temporal\.example\.com\/ui\/namespaces\/refunds%20prod\/workflows\?query=/);
        expect(sample(response.body, apiMetricNames.webUiView, { view: view.name, url }), view.name).toBe(1);
      }
    } finally {
      await app.close();
    }
  });

  // A PostgreSQL ledger that refuses the connection (port 1), and one that accepts it and never answers.
  it.each(['refuses', 'never answers'] as const)(
    'serves refundflow_ledger_up 0 and no ledger gauges when the ledger %s, and its request metrics still',
    async (ledgerIs) => {
      const held = new Set<Socket>();
      const silent = createServer((socket) => held.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = ledgerIs === 'refuses' ? 1 : (silent.address() as AddressInfo).port;
      const db = postgresDatabase(`postgres://refundflow@127.0.0.1:${port}/refundflow`);
      // The deprecated OPERATOR_TOKEN is checked without the ledger (a named API key is looked up in it).
      const app = createApi({
        operatorToken: OPERATOR_TOKEN,
        client: engine().temporal.client,
        db,
        ledger: new RefundLedger(db),
        inbox: new EventInbox(db),
        signer: new Signer(newWebhookSecret()),
        namespace: 'default',
        taskQueue: `unused-${randomUUID()}`,
        uiBaseUrl: 'http://localhost:8233',
      });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      try {
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        const { status, text } = await scrape(url, OPERATOR_TOKEN);
        expect(status).toBe(200);
        expect(sample(text, apiMetricNames.ledgerUp)).toBe(0);
        expect(text).not.toContain(apiMetricNames.refunds);
        expect(text).not.toContain(apiMetricNames.inboxPending);
        expect(sample(text, apiMetricNames.requests, { method: 'GET', route: '/healthz', status_code: '200' })).toBe(1);
      } finally {
        await app.close();
        for (const socket of held) socket.destroy();
        silent.close();
        await db.close();
      }
    },
  );
});
