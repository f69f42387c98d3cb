import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Signer } from '../../src/webhooks/signing.js';
import { newWebhookSecret, oenRefundEvent, useApi } from '../helpers/api.js';
import { useEngine } from '../helpers/engine.js';

/**
 * Issue 7, part 2: generated requests to POST /v1/events over real HTTP — malformed JSON, wrong
 * types, huge and tiny bodies, any unicode, bad, stale, future, replayed and missing signatures —
 * never get a 5xx, never take the API down, and every refusal is stored.
 */
const engine = useEngine('fuzz');
const api = useApi(engine);
/** 2,000 in npm test and CI; `npm run fuzz` sends 10,000 (FUZZ_RUNS=10000), as the suite did before its tiers. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 2_000);

const anyText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
const refundData = fc.record(
  {
    refundId: fc.oneof(anyText, fc.constant(`RF-${randomUUID()}`), fc.anything()),
    provider: fc.oneof(fc.constantFrom('oen', 'mwd', 'OEN', ''), fc.anything()),
    orderId: fc.oneof(anyText, fc.anything()),
    amount: fc.oneof(fc.integer(), fc.double(), fc.bigInt().map(String), anyText),
    transactionHid: fc.oneof(anyText, fc.anything()),
    cardToken: fc.oneof(anyText, fc.anything()),
    reason: fc.oneof(anyText, fc.constant('card 4242 4242 4242 4242')),
  },
  { requiredKeys: [] },
);
const event = fc.record(
  {
    specversion: fc.oneof(fc.constant('1.0'), fc.anything()),
    id: fc.oneof(fc.uuid(), anyText, fc.anything()),
    source: fc.oneof(fc.constant('fuzz'), fc.anything()),
    type: fc.oneof(fc.constantFrom('refund.requested', 'order.cancelled', 'subscription.cancelled', 'refund.succeeded'), anyText),
    data: fc.oneof(refundData, fc.anything()),
  },
  { requiredKeys: [] },
);
/** Events the contract accepts but for the free text: any unicode in `reason`. */
const validShaped = fc.record({ reason: anyText, n: fc.nat() }).map(({ reason, n }) =>
  JSON.stringify({
    specversion: '1.0',
    id: `evt-${randomUUID()}`,
    source: 'fuzz',
    type: 'refund.requested',
    data: { refundId: `RF-FUZZ-${randomUUID()}`, provider: 'mwd', orderId: `FUZZ-${n}`, amount: 1 + (n % 5000), cardToken: 'tok-fuzz', reason },
  }),
);
const body = fc.oneof(
  { arbitrary: event.map((e) => JSON.stringify(e)), weight: 6 },
  { arbitrary: validShaped, weight: 1 },
  { arbitrary: fc.json(), weight: 2 },
  { arbitrary: anyText, weight: 2 },
  { arbitrary: event.map((e) => JSON.stringify(e).slice(0, -1)), weight: 1 }, // cut short
  { arbitrary: fc.constant(''), weight: 1 },
  { arbitrary: fc.integer({ min: 256 * 1024 - 16, max: 600 * 1024 }).map((n) => 'x'.repeat(n)), weight: 1 },
);
const signing = fc.constantFrom('valid', 'other-secret', 'stale', 'future', 'replayed', 'missing', 'garbage');
const contentType = fc.constantFrom('application/json', 'text/plain', 'application/cloudevents+json', undefined);

describe('POST /v1/events, fuzzed', () => {
  it(`${RUNS} generated requests: no 5xx, the API stays up, every refusal stored`, async () => {
    const { url, signer } = api();
    const other = new Signer(newWebhookSecret());
    const rejectedRows = async () => Number((await engine().db.query<{ n: string }>('SELECT count(*) AS n FROM rejected_requests')).rows[0]?.n);
    const before = await rejectedRows();
    let refused = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, signing, contentType, anyText, async (text, how, type, garbage) => {
        const id = `fuzz-${randomUUID()}`;
        const now = Date.now();
        const headers: Record<string, string> =
          how === 'valid'
            ? signer.sign(id, text)
            : how === 'other-secret'
              ? other.sign(id, text)
              : how === 'stale'
                ? signer.sign(id, text, new Date(now - 6 * 60_000))
                : how === 'future'
                  ? signer.sign(id, text, new Date(now + 6 * 60_000))
                  : how === 'replayed'
                    ? signer.sign(id, `${text} `)
                    : how === 'garbage'
                      ? {
                          'webhook-id': id,
                          'webhook-timestamp': garbage.replace(/[^\x20-\x7e]/g, '') || 'x',
                          'webhook-signature': `v1,${Buffer.from(garbage).toString('base64')}`,
                        }
                      : {};
        const response = await fetch(`${url}/v1/events`, { method: 'POST', headers: { ...(type && { 'content-type': type }), ...headers }, body: text });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status >= 400) refused += 1;
        expect(response.status).toBeLessThan(500);
      }),
      { numRuns: RUNS },
    );
    console.log(`fuzz: ${RUNS} requests, answers ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    // Every refusal is in the ledger's rejected_requests.
    expect((await rejectedRows()) - before).toBe(refused);
    expect(refused).toBeGreaterThan(RUNS * 0.8);
  }, 900_000);

  it('the counterexamples it found answer 4xx and are stored: NUL characters, a lone surrogate, a JSON null', async () => {
    const nul = await api().send({ id: 'evt-nul', type: 'refund.requested' }, { raw: '\u0000' });
    expect(nul.status).toBe(400);
    const inField = await api().send(
      { id: 'evt-nul-2' },
      {
        raw: JSON.stringify({ specversion: '1.0', id: 'evt-nul-2', source: 'fuzz', type: 'refund.requested', data: { refundId: 'RF-1', reason: 'a\u0000b' } }),
      },
    );
    expect(inField).toMatchObject({
      status: 422,
      body: { problems: [{ field: 'data.reason', problem: 'must not contain the NUL character (U+0000) or a lone surrogate' }] },
    });
    const surrogate = await api().send(await oenRefundEvent(engine(), { reason: 'x\ud800y' }));
    expect(surrogate).toMatchObject({ status: 422, body: { problems: [{ field: 'data.reason' }] } });
    expect((await api().send({ id: 'evt-null' }, { raw: 'null' })).status).toBe(422);
    // Stored: the literal NUL kept as U+FFFD; the escaped one with its field-by-field problem.
    const { rows: literal } = await engine().db.query<{ body: string }>("SELECT body FROM rejected_requests WHERE body = '\uFFFD'");
    expect(literal.length).toBeGreaterThanOrEqual(1);
    const { rows: escaped } = await engine().db.query<{ problems: unknown }>("SELECT problems FROM rejected_requests WHERE event_id = 'evt-nul-2'");
    expect(escaped).toEqual([{ problems: [{ field: 'data.reason', problem: 'must not contain the NUL character (U+0000) or a lone surrogate' }] }]);
  });
});
