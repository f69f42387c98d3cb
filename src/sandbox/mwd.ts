import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Faults } from './faults.js';
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
 * An emulator of MWD pay+ refund (docs/sandbox.md, "MWD"). Its answers have the document's shape
 * (OriRequestParams, ResponseParams with ResultData: masked CardNumber, ServiceTradeNo, TradeType 5).
 * The document gives only the success codes; the refusals below are our assumptions, each with
 * every code it carries agreeing on the refusal (the layer that refused, and the layers above it
 * passing its code up):
 * - unknown order or wrong CardToken: RtnCode "2002" / "2003" (the gateway refuses; no ResponseParams);
 * - order already refunded: RtnCode and ResultCode "2001" (pay+ refuses) — an option, on by default:
 *   the document does not say MWD refuses a second refund, and with `refuseSecondRefund: false` a
 *   second refund is carried out, as it may be in reality;
 * - amount over the original: RtnCode and ResultCode "2012", RetCode "12" (the bank refuses).
 */

export const mwdRoutes = ['refund'] as const;
export type MwdRoute = (typeof mwdRoutes)[number];

const seededOrder = z.object({
  orderId: z.string().min(1),
  cardToken: z.string().min(1),
  /** Whole NT$ of the original charge. */
  amount: z.number().int().positive(),
  cardNumberMasked: z.string().default('438045******2708'),
  paymentType: z.enum(['03', '04']).default('04'),
  refunded: z.boolean().default(false),
  /** This order's own choice of the `refuseSecondRefund` option, where a test needs both kinds of order at once. */
  refuseSecondRefund: z.boolean().optional(),
});

const mwdOptions = z
  .object({
    /** Refuse a second refund of an order (ResultCode 2001). Off: carry it out (a double refund). */
    refuseSecondRefund: z.boolean().default(true),
  })
  .strict();

const mwdSeed = z.object({ orders: z.array(seededOrder).default([]) });

type Order = z.output<typeof seededOrder>;

/** The document's request example: order 202008170002 with its CardToken, NT$55. */
export const mwdDocumentSeed: z.input<typeof mwdSeed> = {
  orders: [{ orderId: '202008170002', cardToken: '45dec174-3f16-471b-8cd2-d79ee9cf9ac2_0176352482860745', amount: 55 }],
};

const refundBody = z.object({
  CardToken: z.string().min(1),
  TradeAmount: z.string().regex(/^\d+$/, 'a string of digits with two implied decimals'),
});

export interface MwdSandboxOptions {
  token: string;
  now?: () => Date;
}

const APPOS_ID = '86519539000000000171';

function digits(count: number): string {
  return Array.from(randomBytes(count), (byte) => String(byte % 10)).join('');
}

function checksum(): string {
  return randomBytes(32).toString('base64').toUpperCase();
}

/** The gateway's own refusal: no ResponseParams, since pay+ was never asked. */
const gatewayRefusal = (code: string, message: string): ProviderAnswer => ({
  status: 200,
  body: { RtnCode: code, RtnMessage: message, TimeStamp: String(Math.floor(Date.now() / 1000)), Random: digits(16), CheckSum: checksum() },
});

export function createMwdSandbox({ token, now = () => new Date() }: MwdSandboxOptions): {
  app: FastifyInstance;
  core: EmulatorCore<MwdRoute>;
} {
  const orders = new Map<string, Order>();
  const refunds: SandboxRefund[] = [];
  const refundRequests: SandboxRefundRequest[] = [];
  let tradeSequence = 0;
  let options = mwdOptions.parse({});

  const seed = (body: unknown) => {
    for (const order of mwdSeed.parse(body).orders) orders.set(order.orderId, order);
  };

  const core: EmulatorCore<MwdRoute> = {
    faults: new Faults(mwdRoutes),
    timeline: new Timeline(),
    requests: routeCounters(mwdRoutes),
    refunds,
    refundRequests,
    seed,
    state: () => ({ orders: [...orders.values()] }),
    options: {
      get: () => options,
      set: (body) => (options = mwdOptions.parse(body)),
    },
    reset() {
      orders.clear();
      refunds.length = 0;
      refundRequests.length = 0;
      options = mwdOptions.parse({});
      core.faults.reset();
      core.timeline.clear();
      core.requests.refund = 0;
      seed(mwdDocumentSeed);
    },
  };
  core.reset();

  const app = createSandboxServer(core);

  app.post<{ Params: { orderId: string } }>('/v1/payment/mwd/:orderId/refund', async (request, reply) => {
    if (bearerToken(request) !== token) {
      await reply.code(401).send({ RtnCode: '401', RtnMessage: 'Unauthorized' });
      return;
    }
    const seen = orders.get(request.params.orderId);
    const asked = (request.body as { TradeAmount?: unknown } | undefined)?.TradeAmount;
    const entry: SandboxRefundRequest = {
      provider: 'mwd',
      reference: request.params.orderId,
      ...(typeof asked === 'string' && /^\d+$/.test(asked) && { amount: Number(asked) / 100 }),
      receivedAt: now().toISOString(),
      alreadyRefunded: seen?.refunded ?? false,
      result: 'not processed',
    };
    refundRequests.push(entry);
    const fault = await answerWithFaults(
      core,
      'refund',
      request,
      reply,
      () => {
        entry.result = 'refused';
        const body = refundBody.safeParse(request.body);
        if (!body.success) {
          const fields = body.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
          return { status: 400, body: { RtnCode: '1001', RtnMessage: `參數錯誤 (invalid parameters): ${fields}` } };
        }
        const { orderId } = request.params;
        const order = orders.get(orderId);
        if (!order) return gatewayRefusal('2002', '查無訂單 (order not found)');
        if (order.cardToken !== body.data.CardToken) return gatewayRefusal('2003', 'CardToken 不符 (card token does not match)');

        const at = now();
        const date = at.toISOString().slice(0, 10).replaceAll('-', '');
        const time = at.toISOString().slice(11, 19).replaceAll(':', '');
        const merchantTradeNo = `${orderId}_refund_${time}${String(at.getMilliseconds()).padStart(3, '0')}`;
        const requestParams = {
          MerchantTradeNo: merchantTradeNo,
          MerchantTradeDate: date,
          MerchantTradeTime: time,
          TradeAmount: body.data.TradeAmount,
          CardToken: body.data.CardToken,
          TradeType: '5',
          OriMerchantTradeNo: orderId,
          Remark1: null,
          Remark2: null,
          Remark3: null,
          Item: null,
          ResultUrl: 'https%3A//sandbox.invalid/payment/mwd/refund_result',
        };
        const cents = Number(body.data.TradeAmount);
        if (order.refunded && (order.refuseSecondRefund ?? options.refuseSecondRefund)) {
          return {
            status: 200,
            body: {
              RtnCode: '2001',
              RtnMessage: '原交易已退貨 (already refunded)',
              ResponseParams: { ResultCode: '2001', ResultMessage: '原交易已退貨 (already refunded)' },
              TimeStamp: String(Math.floor(at.getTime() / 1000)),
              Random: digits(16),
              CheckSum: checksum(),
            },
          };
        }
        const overAmount = cents <= 0 || cents > order.amount * 100;
        const resultCode = overAmount ? '2012' : '1000';
        const resultMessage = overAmount ? '退貨金額超過原交易金額 (amount over the original)' : '交易成功';
        const retCode = overAmount ? '12' : '00';
        const retMsg = overAmount ? resultMessage : '';
        const success = !overAmount;
        tradeSequence += 1;
        const serviceTradeNo = `MW${date}${String(tradeSequence).padStart(10, '0')}`;
        if (success) {
          entry.result = 'refunded';
          order.refunded = true;
          refunds.push({
            provider: 'mwd',
            reference: orderId,
            orderId,
            amount: cents / 100,
            providerReference: serviceTradeNo,
            refundedAt: at.toISOString(),
          });
        }
        return {
          status: 200,
          body: {
            RtnCode: resultCode,
            RtnMessage: resultMessage,
            OriRequestParams: {
              ApiVer: '1.0.2',
              ApposId: APPOS_ID,
              RequestParams: requestParams,
              Random: digits(16),
              TimeStamp: String(Math.floor(at.getTime() / 1000)),
              CheckSum: checksum(),
            },
            ResponseParams: {
              ResultCode: resultCode,
              ResultMessage: resultMessage,
              ResultData: {
                MemberId: '16301262_01061',
                AvailableAmount: '0',
                PaymentType: order.paymentType,
                ApposId: APPOS_ID,
                MerchantTradeNo: merchantTradeNo,
                MerchantTradeDate: date,
                MerchantTradeTime: time,
                CardToken: body.data.CardToken,
                TradeAmount: body.data.TradeAmount,
                OriMerchantTradeNo: orderId,
                RetCode: retCode,
                RetMsg: retMsg,
                ServiceTradeNo: serviceTradeNo,
                ServiceTradeDate: date,
                ServiceTradeTime: time,
                TradeType: '5',
                Install: { InstallPeriod: '0', InstallDownPay: '0', InstallPay: '0', InstallDownPayFee: '', InstallPayFee: '' },
                Redeem: { RedeemPt: '0', RedeemAmt: '0', PostRedeemPt: '0' },
                Item: '',
                AuthIdResp: digits(6),
                CardNumber: order.cardNumberMasked,
                GatewayBankNo: '812',
              },
            },
            TimeStamp: String(Math.floor(at.getTime() / 1000)),
            Random: digits(16),
            CheckSum: checksum(),
          },
        };
      },
      request.params.orderId,
    );
    if (fault !== undefined) entry.fault = fault;
  });

  return { app, core };
}
