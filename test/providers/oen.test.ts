import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findPans } from '../../src/domain/pan.js';
import { OenClient } from '../../src/providers/oen/client.js';
import { oenSubscription, oenTransaction, oenTransactionPage } from '../../src/providers/oen/schemas.js';
import { SANDBOX_OEN_MERCHANT_ID, SANDBOX_TOKEN } from '../../src/sandbox/index.js';
import { FAILURE_TEST_CARD } from '../../src/sandbox/oen.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { freePorts } from '../helpers/ports.js';
import { providerFailure } from '../helpers/errors.js';
import { rawServer } from '../helpers/raw-server.js';
import { admin, refundRequestCount, sandboxRefunds, useSandboxes } from '../helpers/sandbox.js';

const sandboxes = useSandboxes();
const HID = 'P20240412CIK7KPPH';

function client(overrides: { token?: string; timeoutMs?: number; baseUrl?: string } = {}): OenClient {
  return new OenClient({
    baseUrl: overrides.baseUrl ?? sandboxes().oenUrl,
    token: overrides.token ?? SANDBOX_TOKEN,
    merchantId: SANDBOX_OEN_MERCHANT_ID,
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
}

async function seed(body: unknown): Promise<void> {
  await admin(sandboxes().oenUrl, 'POST', 'seed', body);
}

async function faults(body: unknown): Promise<void> {
  await admin(sandboxes().oenUrl, 'PUT', 'faults', body);
}

function fixture(name: string): { data: unknown } {
  return JSON.parse(readFileSync(new URL(`fixtures/${name}`, import.meta.url), 'utf8')) as { data: unknown };
}

describe('the Oen documents’ example responses', () => {
  it('parse, keeping what we need and dropping card numbers and personal data', () => {
    const { transactions } = oenTransactionPage.parse(fixture('oen-list-transactions.json').data);
    expect(transactions).toEqual([
      {
        id: HID,
        transactionId: '2ezXfrdyypKEajH1J7nO3qOQH73',
        action: 'onetime',
        amount: 1000,
        fee: 30,
        paymentInfo: { cardType: 'Visa', method: 'card', cardLast4: '4242' },
        status: 'charged',
        userId: 'OEN00001',
        orderId: 'ORDER00001',
        note: '備註',
        createdAt: '2024-04-12T07:54:46.755Z',
        refundAmount: 0,
      },
    ]);

    const refunded = oenTransaction.parse(fixture('oen-refund.json').data);
    expect(refunded).toMatchObject({ id: 'P20240411AN3KW7BK', status: 'refunded', amount: 1000, refundAmount: 1000 });
    expect(refunded.refundedAt).toBe('2024-04-11T10:45:22.076Z');

    const cancelled = oenSubscription.parse(fixture('oen-cancel-subscription.json').data);
    expect(cancelled).toMatchObject({ id: 'S202404112CYPRJPZ', status: 'cancelled', period: 1, reason: '客戶自行取消' });

    const kept = JSON.stringify([transactions, refunded, cancelled]);
    expect(findPans(kept)).toEqual([]);
    for (const personal of ['王小明', 'test@oen.tw', 'userName', 'userEmail', 'cardName', 'cardNum"']) {
      expect(kept).not.toContain(personal);
    }
  });
});

describe('OenClient against the Oen sandbox, over HTTP', () => {
  it('lists an order’s transactions', async () => {
    const transactions = await client().listTransactions('ORDER00001');
    expect(transactions.map((t) => [t.id, t.status, t.amount, t.paymentInfo?.cardLast4])).toEqual([[HID, 'charged', 1000, '4242']]);
    expect(await client().listTransactions('NO-SUCH-ORDER')).toEqual([]);
  });

  it('follows page tokens to the end: 120 transactions in pages of 50', async () => {
    const ids = Array.from({ length: 120 }, (_, i) => `P20260101PAGE${String(i).padStart(4, '0')}`);
    await seed({ transactions: ids.map((id) => ({ id, orderId: 'ORDER-PAGED', amount: 500 })) });
    const before = (await admin<{ requests: { listTransactions: number } }>(sandboxes().oenUrl, 'GET', 'requests')).requests;

    const transactions = await client().listTransactions('ORDER-PAGED');

    expect(transactions.map((t) => t.id)).toEqual(ids);
    const after = (await admin<{ requests: { listTransactions: number } }>(sandboxes().oenUrl, 'GET', 'requests')).requests;
    expect(after.listTransactions - before.listTransactions).toBe(3);
  });

  it('refunds a transaction, and refuses a second refund of it with V0002', async () => {
    const refunded = await client().refund(HID, { amount: 1000, reason: '客戶取消訂單' });
    expect(refunded).toMatchObject({ id: HID, status: 'refunded', refundAmount: 1000, note: '客戶取消訂單' });
    expect(refunded.refundedAt).toBeDefined();

    const second = await providerFailure(client().refund(HID, { amount: 1000 }));
    expect(second).toMatchObject({ type: 'OenV0002', kind: 'final', details: { httpStatus: 400, code: 'V0002' } });
    expect(await sandboxRefunds(sandboxes().oenUrl)).toHaveLength(1);
  });

  it('sends the product details and remittance fields the document allows', async () => {
    const refunded = await client().refund(HID, {
      amount: 600,
      productDetails: [{ productionCode: 'SKU-1', description: '應援 T-shirt', quantity: 1, unit: '件', unitPrice: 600 }],
      reason: 'partial',
    });
    expect(refunded.refundAmount).toBe(600);
  });

  it('cancels a subscription, and refuses cancelling it twice', async () => {
    const cancelled = await client().cancelSubscription('S202404112CYPRJPZ', { reason: '客戶自行取消' });
    expect(cancelled).toMatchObject({ id: 'S202404112CYPRJPZ', status: 'cancelled', reason: '客戶自行取消' });
    expect(cancelled.cancelledAt).toBeDefined();
    expect((await providerFailure(client().cancelSubscription('S202404112CYPRJPZ'))).type).toBe('OenV0002');
    expect((await providerFailure(client().cancelSubscription('S-UNKNOWN'))).type).toBe('OenV0001');
  });

  describe('each documented refusal is a final, typed error', () => {
    it('A0001 for a wrong token (HTTP 401), without the token in the message', async () => {
      const err = await providerFailure(client({ token: 'not-the-token-4242' }).refund(HID, { amount: 1000 }));
      expect(err).toMatchObject({ type: 'OenA0001', kind: 'final', details: { httpStatus: 401, code: 'A0001' } });
      expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('not-the-token-4242');
    });

    it('V0001 for an amount over the original, an unknown transaction, or another merchant', async () => {
      expect((await providerFailure(client().refund(HID, { amount: 1001 }))).type).toBe('OenV0001');
      expect((await providerFailure(client().refund('P20990101NOSUCHTX', { amount: 500 }))).type).toBe('OenV0001');
      expect((await providerFailure(client().refund(HID, { amount: 500, merchantId: 'someone-else' }))).type).toBe('OenV0001');
      expect(await sandboxRefunds(sandboxes().oenUrl)).toEqual([]);
    });

    it('V0001 for ATM and convenience-store payments, which only the back office can refund', async () => {
      await seed({
        transactions: [
          { id: 'P20260101ATM00001', orderId: 'ORDER-ATM', amount: 800, method: 'atm' },
          { id: 'P20260101CVS00001', orderId: 'ORDER-ATM', amount: 800, method: 'cvs' },
        ],
      });
      for (const hid of ['P20260101ATM00001', 'P20260101CVS00001']) {
        const err = await providerFailure(client().refund(hid, { amount: 800 }));
        expect(err.type).toBe('OenV0001');
        expect(err.message).toMatch(/ATM\/CVS/);
      }
    });

    it('T0001 for an amount under 100 (the testing rule), T0005 for the failure test card', async () => {
      expect((await providerFailure(client().refund(HID, { amount: 99 }))).type).toBe('OenT0001');
      const hid = randomHid();
      await seed({ transactions: [{ id: hid, orderId: 'ORDER-CARD', amount: 500, cardNum: FAILURE_TEST_CARD }] });
      expect((await providerFailure(client().refund(hid, { amount: 500 }))).type).toBe('OenT0005');
      expect(await sandboxRefunds(sandboxes().oenUrl)).toEqual([]);
    });

    it('the 3-D Secure test cards refund normally', async () => {
      const cards = ['4000000000002503', '5200000000002151'];
      const hids = cards.map(() => randomHid());
      await seed({ transactions: cards.map((cardNum, i) => ({ id: hids[i], orderId: 'ORDER-3DS', amount: 300, cardNum })) });
      for (const hid of hids) expect((await client().refund(hid, { amount: 300 })).status).toBe('refunded');
    });
  });

  describe('transient failures are retryable, unknown outcomes are their own kind', () => {
    it('F0001 is retryable', async () => {
      await faults({ refund: { next: ['f0001'] } });
      expect(await providerFailure(client().refund(HID, { amount: 1000 }))).toMatchObject({
        type: 'OenF0001',
        kind: 'retryable',
        details: { httpStatus: 500, code: 'F0001' },
      });
      expect(await sandboxRefunds(sandboxes().oenUrl)).toEqual([]);
    });

    it('HTTP 500 is retryable for a list, and an unknown outcome for a refund', async () => {
      await faults({ listTransactions: { next: ['http500'] }, refund: { next: ['http500'] } });
      expect(await providerFailure(client().listTransactions('ORDER00001'))).toMatchObject({ type: 'OenListUnavailable', kind: 'retryable' });
      expect(await providerFailure(client().refund(HID, { amount: 1000 }))).toMatchObject({ type: 'OenHttp500', kind: 'unknown' });
    });

    it('a refused connection is retryable: the request was never sent', async () => {
      const [closedPort] = await freePorts(1);
      const err = await providerFailure(client({ baseUrl: `http://127.0.0.1:${closedPort}` }).refund(HID, { amount: 1000 }));
      expect(err).toMatchObject({ type: 'OenConnectionFailed', kind: 'retryable', details: { code: 'ECONNREFUSED' } });
    });

    it('a refund that times out has an unknown outcome; a list that times out is just retryable', async () => {
      await faults({ refund: { next: ['hang'] }, listTransactions: { next: ['hang'] } });
      expect(await providerFailure(client({ timeoutMs: 300 }).refund(HID, { amount: 1000 }))).toMatchObject({
        type: 'OenOutcomeUnknown',
        kind: 'unknown',
      });
      expect(await providerFailure(client({ timeoutMs: 300 }).listTransactions('ORDER00001'))).toMatchObject({
        type: 'OenNoAnswer',
        kind: 'retryable',
      });
    });

    it('commit-then-drop: the refund happened, the answer was lost, the outcome is unknown', async () => {
      await faults({ refund: { next: ['commitThenDrop'] } });
      const err = await providerFailure(client().refund(HID, { amount: 1000 }));
      expect(err).toMatchObject({ type: 'OenOutcomeUnknown', kind: 'unknown' });
      expect(await sandboxRefunds(sandboxes().oenUrl)).toMatchObject([{ reference: HID, amount: 1000 }]);
      const [transaction] = await client().listTransactions('ORDER00001');
      expect(transaction).toMatchObject({ status: 'refunded', refundAmount: 1000 });
    });

    it('an aborted call stops at once and reports an unknown outcome', async () => {
      await faults({ refund: { next: ['hang'] } });
      const controller = new AbortController();
      const call = providerFailure(client({ timeoutMs: 30_000 }).refund(HID, { amount: 1000 }, { signal: controller.signal }));
      // Aborted once the refund reached Oen and hangs there: the outcome is unknown, not "never sent".
      await expect.poll(() => refundRequestCount(sandboxes().oenUrl), { timeout: 10_000 }).toBe(1);
      controller.abort();
      const err = await call;
      // ERR_CANCELED: the abort ended it, not the call's own 30 s timeout.
      expect(err).toMatchObject({ type: 'OenOutcomeUnknown', kind: 'unknown', details: { code: 'ERR_CANCELED' } });
    });

    it('added latency delays the answer without changing it', async () => {
      await faults({ listTransactions: { latencyMs: 300 } });
      const started = Date.now();
      expect(await client().listTransactions('ORDER00001')).toHaveLength(1);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });
  });

  it('no Luhn-valid card number survives parsing, whatever test card the transactions used', async () => {
    const cards = ['4242424242424242', '4000000000002503', '5200000000002151', FAILURE_TEST_CARD];
    await seed({ transactions: cards.map((cardNum) => ({ id: randomHid(), orderId: 'ORDER-PANS', amount: 500, cardNum })) });
    const transactions = await client().listTransactions('ORDER-PANS');
    expect(transactions.map((t) => t.paymentInfo?.cardLast4)).toEqual(['4242', '2503', '2151', '8333']);
    expect(findPans(JSON.stringify(transactions))).toEqual([]);
  });

  it('free text Oen echoes back (a note, a cancel reason) keeps no card number', async () => {
    const hid = randomHid();
    await seed({ transactions: [{ id: hid, orderId: 'ORDER-NOTE', amount: 500, note: '客戶卡號 4000 0000 0000 2503' }] });
    const [listed] = await client().listTransactions('ORDER-NOTE');
    expect(listed?.note).toBe('客戶卡號 ****2503');
    const refunded = await client().refund(hid, { amount: 500, reason: 'card 4242-4242-4242-4242 refund' });
    expect(refunded.note).toBe('card ****4242 refund');
    const cancelled = await client().cancelSubscription('S202404112CYPRJPZ', { reason: '5200000000002151 asked' });
    expect(cancelled.reason).toBe('****2151 asked');
  });
});

describe('OenClient and answers that are not what Oen documents', () => {
  async function against(status: number, body: string) {
    const server = await rawServer(status, body);
    return { oen: client({ baseUrl: server.url }), close: server.close };
  }

  it.each([
    ['HTML instead of JSON', 200, '<html>gateway</html>'],
    ['an envelope without data', 200, '{"code":"S0000","message":""}'],
    ['data of the wrong shape', 200, '{"code":"S0000","data":{"id":42}}'],
  ])('%s: a refund is an unknown outcome, a list is asked again — never a crash or a success', async (_name, status, body) => {
    const { oen, close } = await against(status, body);
    try {
      expect(await providerFailure(oen.refund(HID, { amount: 1000 }))).toMatchObject({ type: 'OenMalformedResponse', kind: 'unknown' });
      expect(await providerFailure(oen.listTransactions('ORDER00001'))).toMatchObject({ type: 'OenListUnavailable', kind: 'retryable' });
    } finally {
      await close();
    }
  });

  it('an unknown result code proves nothing about a refund, and is named', async () => {
    const { oen, close } = await against(400, '{"code":"X9999","message":"new"}');
    try {
      expect(await providerFailure(oen.refund(HID, { amount: 1000 }))).toMatchObject({ type: 'OenUnknownCode', kind: 'unknown', details: { code: 'X9999' } });
    } finally {
      await close();
    }
  });

  it('a card number in the provider’s message is masked in our error', async () => {
    const { oen, close } = await against(400, '{"code":"V0001","message":"card 4242 4242 4242 4242 invalid"}');
    try {
      const err = await providerFailure(oen.refund(HID, { amount: 1000 }));
      expect(err.message).toContain('****4242');
      expect(findPans(`${err.message} ${JSON.stringify(err.details)}`)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('a malformed request is refused before it is sent', async () => {
    await expect(client().refund(HID, { amount: 0 })).rejects.toThrow(/amount/);
    expect(await sandboxRefunds(sandboxes().oenUrl)).toEqual([]);
  });
});
