import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openApiDocument, type RegisteredRoute } from '../../src/api/openapi.js';
import { Signer } from '../../src/webhooks/signing.js';

/** /openapi.json as src/api/openapi.ts makes it; test/api/refunds.test.ts reads the one the running API serves. */

const routes: RegisteredRoute[] = [
  { method: 'POST', url: '/v1/events', access: 'signed' },
  { method: 'GET', url: '/openapi.json', access: 'public' },
  { method: 'GET', url: '/v1/refunds', access: 'viewer' },
];

interface Operation {
  description?: string;
  security?: unknown;
  'x-required-role'?: string;
  parameters?: Array<{ name: string; in: string; required: boolean; description?: string; schema: { type: string; pattern?: string }; example?: string }>;
}
const operation = (document: Record<string, unknown>, path: string, method: string) =>
  (document.paths as Record<string, Record<string, Operation>>)[path]?.[method] ?? {};

describe('/openapi.json', () => {
  it("names the API's address in servers when it has one, and has no servers otherwise", () => {
    expect(openApiDocument(routes, 'http://localhost:8080').servers).toEqual([
      { url: 'http://localhost:8080', description: expect.stringMatching(/listens on/) as unknown },
    ]);
    expect(openApiDocument(routes)).not.toHaveProperty('servers');
  });

  it('is public itself: no credential, no bearer security, unlike the reads', () => {
    const document = openApiDocument(routes);
    const itself = operation(document, '/openapi.json', 'get');
    expect(itself['x-required-role']).toBe('public');
    expect(itself.security).toBeUndefined();
    expect(itself.description).toMatch(/^No credential\./);
    expect(operation(document, '/v1/refunds', 'get').security).toEqual([{ bearer: [] }]);
  });

  it('describes each signature header of POST /v1/events, and the recipe it gives for webhook-signature is the one the API checks', () => {
    const events = operation(openApiDocument(routes), '/v1/events', 'post');
    expect(events.security).toBeUndefined();
    const headers = Object.fromEntries((events.parameters ?? []).map((p) => [p.name, p]));
    expect(Object.keys(headers)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
    for (const header of Object.values(headers)) {
      expect(header).toMatchObject({ in: 'header', required: true, schema: { type: 'string' } });
      expect(header.description, header.name).toBeTruthy();
    }
    expect(headers['webhook-timestamp']?.description).toMatch(/whole Unix seconds.*more than 300 s away/);
    expect(headers['webhook-timestamp']?.schema.pattern).toBe('^[0-9]+$');
    expect(headers['webhook-signature']?.description).toContain(
      "`v1,` then the base64 of the HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` (the body's exact bytes as sent), keyed with the bytes of INGEST_WEBHOOK_SECRET: the base64 after its `whsec_`.",
    );

    // Followed to the letter by a sender with no Standard Webhooks library, the recipe signs a body the API takes.
    const key = randomBytes(24);
    const secret = `whsec_${key.toString('base64')}`;
    const body = '{"specversion":"1.0","id":"evt_1"}';
    const id = 'evt_1';
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
    const signer = new Signer(secret);
    expect(signer.verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature })).toEqual({ ok: true, webhookId: id });
    // Several, space-separated: one that matches is enough.
    const other = `v1,${createHmac('sha256', randomBytes(24)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
    expect(signer.verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': `${other} ${signature}` }).ok).toBe(true);
    expect(signer.verify(body, { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': other }).ok).toBe(false);
    // Each example is of its header's form.
    expect(headers['webhook-timestamp']?.example).toMatch(/^[0-9]+$/);
    expect(headers['webhook-signature']?.example).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });
});
