import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { Faults, type Fault } from './faults.js';
import {
  answerWithFaults,
  bearerToken,
  createSandboxServer,
  routeCounters,
  Timeline,
  type EmulatorCore,
  type ProviderAnswer,
  type SandboxRefund,
  type SandboxRefundRequest,
} from './server.js';

/**
 * An emulator of the Oen Tech Payment API's testing environment (docs/sandbox.md, "Oen"), faithful to
 * the document where it speaks and to our stated assumptions (docs/sandbox.md) where it does not:
 * - bearer auth: 401 with A0001;
 * - one refund per transaction, ever: a second is HTTP 400 with V0002;
 * - only card transactions can be refunded through the API: ATM/CVS are refused (V0001);
 * - amount from 1 to the original (V0001 outside it);
 * - the testing rule: an amount under 100 fails (T0001); 100 and over succeed;
 * - the test cards: 4012 8888 1888 8333 fails (T0005); 4242 4242 4242 4242 and the 3-D Secure
 *   cards refund normally;
 * - lists are paged at 50 with an opaque `data.pageToken`.
 */

export const oenRoutes = ['listTransactions', 'refund', 'cancelSubscription'] as const;
export type OenRoute = (typeof oenRoutes)[number];

export const FAILURE_TEST_CARD = '4012888818888333';
const PAGE_SIZE = 50;

const seededTransaction = z.object({
  id: z.string().regex(/^[A-Za-z0-9]+$/),
  transactionId: z.string().optional(),
  orderId: z.string().min(1),
  amount: z.number().int().positive(),
  fee: z.number().int().nonnegative().default(30),
  action: z.string().default('onetime'),
  method: z.enum(['card', 'atm', 'cvs']).default('card'),
  cardNum: z
    .string()
    .regex(/^\d{13,19}$/)
    .default('4242424242424242'),
  cardType: z.string().default('Visa'),
  cardName: z.string().default('王小明'),
  status: z.string().default('charged'),
  userId: z.string().default('OEN00001'),
  userName: z.string().default('王小明'),
  userEmail: z.string().default('test@oen.tw'),
  note: z.string().optional(),
  createdAt: z.iso.datetime().optional(),
  refundAmount: z.number().int().nonnegative().default(0),
  refundedAt: z.iso.datetime().optional(),
});

const seededSubscription = z.object({
  id: z.string().min(1),
  status: z.string().default('active'),
  period: z.number().int().positive().default(1),
  startedAt: z.iso.datetime().optional(),
  createdAt: z.iso.datetime().optional(),
  cancelledAt: z.iso.datetime().optional(),
  reason: z.string().optional(),
});

const oenSeed = z.object({
  transactions: z.array(seededTransaction).default([]),
  subscriptions: z.array(seededSubscription).default([]),
});

type Transaction = z.output<typeof seededTransaction> & { createdAt: string };
type Subscription = z.output<typeof seededSubscription> & { createdAt: string; startedAt: string };

/** The document's own examples, so its curl commands work against the sandbox as written. */
export const oenDocumentSeed: z.input<typeof oenSeed> = {
  transactions: [
    {
      id: 'P20240412CIK7KPPH',
      transactionId: '2ezXfrdyypKEajH1J7nO3qOQH73',
      orderId: 'ORDER00001',
      amount: 1000,
      note: '備註',
      createdAt: '2024-04-12T07:54:46.755Z',
    },
  ],
  subscriptions: [{ id: 'S202404112CYPRJPZ', period: 1, startedAt: '2024-04-11T10:31:46.640Z', createdAt: '2024-04-11T10:31:46.640Z' }],
};

const refundBody = z.object({
  merchantId: z.string().min(1),
  amount: z.number().int(),
  productDetails: z
    .array(
      z.object({
        productionCode: z.string(),
        description: z.string(),
        quantity: z.number(),
        unit: z.string(),
        unitPrice: z.number(),
      }),
    )
    .optional(),
  remitInfo: z
    .object({
      bankCode: z.string(),
      bankName: z.string(),
      branchCode: z.string(),
      branchName: z.string(),
      account: z.string(),
      accountName: z.string(),
    })
    .optional(),
  reason: z.string().optional(),
});

const cancelBody = z.object({ merchantId: z.string().min(1), reason: z.string().optional() });

export interface OenSandboxOptions {
  token: string;
  /** The merchant the token belongs to; the document's examples use `oentech`. */
  merchantId?: string;
  now?: () => Date;
}

/** Oen's own system error: HTTP 500 with F0001, nothing done. */
const f0001Fault: Fault = {
  commit: false,
  then: 'answer',
  status: 500,
  body: JSON.stringify({ code: 'F0001', message: '系統錯誤' }),
  contentType: 'application/json',
};

const ok = (data: unknown): ProviderAnswer => ({ status: 200, body: { code: 'S0000', data, message: '' } });
const fail = (status: number, code: string, message: string): ProviderAnswer => ({ status, body: { code, message } });

/** Optional fields are absent, not null, when empty (the document's rule). */
function present<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

function transactionView(t: Transaction): unknown {
  return present({
    id: t.id,
    transactionId: t.transactionId,
    action: t.action,
    amount: t.amount,
    fee: t.fee,
    paymentInfo: t.method === 'card' ? { cardType: t.cardType, cardNum: t.cardNum, method: 'card', cardName: t.cardName } : { method: t.method },
    status: t.status,
    userId: t.userId,
    userName: t.userName,
    userEmail: t.userEmail,
    orderId: t.orderId,
    note: t.note,
    createdAt: t.createdAt,
    refundAmount: t.refundAmount,
    refundedAt: t.refundedAt,
  });
}

function validationMessage(err: z.ZodError): string {
  return err.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

export function createOenSandbox({ token, merchantId = 'oentech', now = () => new Date() }: OenSandboxOptions): {
  app: FastifyInstance;
  core: EmulatorCore<OenRoute>;
} {
  const transactions = new Map<string, Transaction>();
  const subscriptions = new Map<string, Subscription>();
  const refunds: SandboxRefund[] = [];
  const refundRequests: SandboxRefundRequest[] = [];

  const seed = (body: unknown) => {
    const parsed = oenSeed.parse(body);
    for (const t of parsed.transactions) {
      transactions.set(t.id, { ...t, createdAt: t.createdAt ?? now().toISOString() });
    }
    for (const s of parsed.subscriptions) {
      const createdAt = s.createdAt ?? now().toISOString();
      subscriptions.set(s.id, { ...s, createdAt, startedAt: s.startedAt ?? createdAt });
    }
  };

  const core: EmulatorCore<OenRoute> = {
    faults: new Faults(oenRoutes, Math.random, { f0001: f0001Fault }),
    timeline: new Timeline(),
    requests: routeCounters(oenRoutes),
    refunds,
    refundRequests,
    seed,
    state: () => ({ transactions: [...transactions.values()], subscriptions: [...subscriptions.values()] }),
    reset() {
      transactions.clear();
      subscriptions.clear();
      refunds.length = 0;
      refundRequests.length = 0;
      core.faults.reset();
      core.timeline.clear();
      for (const route of oenRoutes) core.requests[route] = 0;
      seed(oenDocumentSeed);
    },
  };
  core.reset();

  const app = createSandboxServer(core);

  const authorised = async (request: FastifyRequest, reply: FastifyReply): Promise<boolean> => {
    if (bearerToken(request) === token) return true;
    await reply.code(401).send({ code: 'A0001', message: '未授權' });
    return false;
  };

  app.get<{ Params: { orderId: string }; Querystring: { pageToken?: string } }>('/order/:orderId/transactions', async (request, reply) => {
    if (!(await authorised(request, reply))) return;
    await answerWithFaults(
      core,
      'listTransactions',
      request,
      reply,
      () => {
        const all = [...transactions.values()].filter((t) => t.orderId === request.params.orderId);
        let offset = 0;
        if (request.query.pageToken) {
          offset = Number(
            Buffer.from(request.query.pageToken, 'base64url')
              .toString('utf8')
              .replace(/^offset:/, ''),
          );
          if (!Number.isInteger(offset) || offset < 0) return fail(400, 'V0001', 'invalid pageToken');
        }
        const page = all.slice(offset, offset + PAGE_SIZE);
        const next = offset + PAGE_SIZE < all.length ? Buffer.from(`offset:${offset + PAGE_SIZE}`).toString('base64url') : undefined;
        return ok(present({ transactions: page.map(transactionView), pageToken: next }));
      },
      request.params.orderId,
    );
  });

  app.post<{ Params: { transactionHid: string } }>('/refunds/:transactionHid', async (request, reply) => {
    if (!(await authorised(request, reply))) return;
    const hid = request.params.transactionHid;
    const asked = (request.body as { amount?: unknown } | undefined)?.amount;
    const seen = transactions.get(hid);
    const entry: SandboxRefundRequest = {
      provider: 'oen',
      reference: hid,
      ...(typeof asked === 'number' && { amount: asked }),
      receivedAt: now().toISOString(),
      alreadyRefunded: seen !== undefined && (seen.status === 'refunded' || seen.refundAmount > 0),
      result: 'not processed',
    };
    refundRequests.push(entry);
    const refund = (): ProviderAnswer => {
      const body = refundBody.safeParse(request.body);
      if (!body.success) return fail(400, 'V0001', validationMessage(body.error));
      const { amount, reason } = body.data;
      if (body.data.merchantId !== merchantId) return fail(400, 'V0001', 'merchantId does not match the token');
      const t = transactions.get(request.params.transactionHid);
      if (!t) return fail(400, 'V0001', 'transaction not found (the path takes the HID, e.g. P20240620ABCD1234)');
      if (t.method !== 'card') {
        return fail(400, 'V0001', 'only credit card transactions can be refunded by API; refund ATM/CVS in the CRM');
      }
      if (t.status !== 'charged' || t.refundAmount > 0) return fail(400, 'V0002', `transaction is ${t.status}`);
      if (amount < 1 || amount > t.amount) return fail(400, 'V0001', `amount must be from 1 to ${t.amount}`);
      if (amount < 100) return fail(400, 'T0001', 'transaction failed (testing: amounts under 100 fail)');
      if (t.cardNum === FAILURE_TEST_CARD) return fail(400, 'T0005', 'authorisation refused');

      const refundedAt = now().toISOString();
      Object.assign(t, { status: 'refunded', refundAmount: amount, refundedAt, ...(reason !== undefined && { note: reason }) });
      refunds.push({ provider: 'oen', reference: t.id, orderId: t.orderId, amount, providerReference: t.id, refundedAt });
      return ok(transactionView(t));
    };
    const fault = await answerWithFaults(
      core,
      'refund',
      request,
      reply,
      () => {
        const answer = refund();
        entry.result = answer.status === 200 ? 'refunded' : 'refused';
        return answer;
      },
      hid,
    );
    if (fault !== undefined) entry.fault = fault;
  });

  app.put<{ Params: { subscriptionId: string } }>('/subscriptions/:subscriptionId', async (request, reply) => {
    if (!(await authorised(request, reply))) return;
    await answerWithFaults(
      core,
      'cancelSubscription',
      request,
      reply,
      () => {
        const body = cancelBody.safeParse(request.body);
        if (!body.success) return fail(400, 'V0001', validationMessage(body.error));
        if (body.data.merchantId !== merchantId) return fail(400, 'V0001', 'merchantId does not match the token');
        const s = subscriptions.get(request.params.subscriptionId);
        if (!s) return fail(400, 'V0001', 'subscription not found');
        if (s.status !== 'active') return fail(400, 'V0002', `subscription is ${s.status}`);
        Object.assign(s, { status: 'cancelled', cancelledAt: now().toISOString(), reason: body.data.reason });
        return ok(present({ ...s }));
      },
      request.params.subscriptionId,
    );
  });

  return { app, core };
}
