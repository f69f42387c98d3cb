import type { Fault } from '../../src/sandbox/faults.js';
import { both, doubtful, json, type FaultRow, type RowIds } from './row.js';

const truncatedMwd = '{"RtnCode":"1000","RtnMessage":"交易成功","ResponseParams":{"ResultCode":"10';

/** MWD's request to the bank for the row's order, as its answer carries it in OriRequestParams. */
const bankRequest = ({ orderId, amount }: RowIds) => ({
  ApiVer: '1.0.2',
  ApposId: '86519539000000000171',
  RequestParams: {
    MerchantTradeNo: `${orderId}_refund_120757785`,
    TradeAmount: String(amount * 100),
    CardToken: 'tok-echoed-back',
    TradeType: '5',
    OriMerchantTradeNo: orderId,
    Remark1: null,
  },
  CheckSum: 'TRYZW8OMZ5H3WAX0PWGTG+WWMH9B4O9HOIKQTPXENQG=',
});

/** MWD's success for the row's order, echoing `fields` in ResultData instead of what we asked. */
const success = (ids: RowIds, fields: Record<string, string>) =>
  json({
    RtnCode: '1000',
    RtnMessage: '交易成功',
    OriRequestParams: bankRequest(ids),
    ResponseParams: {
      ResultCode: '1000',
      ResultMessage: '交易成功',
      ResultData: {
        RetCode: '00',
        ServiceTradeNo: 'MW2026000000001',
        TradeType: '5',
        TradeAmount: String(ids.amount * 100),
        OriMerchantTradeNo: ids.orderId,
        ...fields,
      },
    },
  });

/** MWD failed after sending the refund to the bank: its request is there, the bank's answer is not. */
const bankAnswerLost =
  (status: number) =>
  (ids: RowIds): Omit<Fault, 'commit'> => ({
    then: 'answer',
    status,
    body: json({ RtnCode: '9999', RtnMessage: '系統錯誤 (system error)', OriRequestParams: bankRequest(ids), TimeStamp: '1597637234' }),
  });

/** A person decides: MWD cannot be asked, and nothing is sent again. */
const inDoubt = (code: string) => ({ end: 'requires_attention', sends: 1, code }) as const;
const bankAsked = { ...inDoubt('MwdNoBankAnswer'), says: "MWD's request to the bank: MerchantTradeNo" } as const;
const mismatch = inDoubt('MwdRefundMismatch');

/** What MWD's doubtful answers end with: the failure type its status or transport gives. */
function doubtfulCode(fault: Omit<Fault, 'commit'>): string {
  if (fault.then !== 'answer') return 'MwdOutcomeUnknown';
  return fault.status === 200 ? 'MwdMalformedResponse' : `MwdHttp${fault.status}`;
}

const http500: Omit<Fault, 'commit'> = { then: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' };
const designCard = "MWD's 500 taken at its word: retried";

export const mwdRows: FaultRow[] = [
  ...(
    [
      ["200, MWD's refusal (RtnCode 2002, no order)", 200, { RtnCode: '2002', RtnMessage: '查無訂單' }],
      [
        "200, MWD's refusal (RtnCode, ResultCode and RetCode agree)",
        200,
        { RtnCode: '2012', ResponseParams: { ResultCode: '2012', ResultData: { RetCode: '12' } } },
      ],
      ["400, MWD's refusal (RtnCode 1001)", 400, { RtnCode: '1001', RtnMessage: '參數錯誤' }],
      ["401, MWD's refusal (RtnCode 401)", 401, { RtnCode: '401', RtnMessage: 'Unauthorized' }],
    ] as const
  ).map(([answer, status, body]): FaultRow => ({
    provider: 'mwd',
    call: 'refund',
    answer,
    acted: false,
    fault: { commit: false, then: 'answer', status, body: json(body) },
    end: 'failed',
    sends: 1,
    code: 'MwdRefused',
  })),
  // The refund reached the bank and its answer did not come back: the bank may have refunded.
  ...both('mwd', "200, MWD's refusal with its request to the bank and no bank answer", bankAnswerLost(200), {
    notActed: bankAsked,
    acted: bankAsked,
  }),
  ...both('mwd', "500, MWD's refusal with its request to the bank and no bank answer", bankAnswerLost(500), {
    notActed: bankAsked,
    acted: bankAsked,
  }),
  // MWD's HTTP 500 is MWD saying it did not refund (the design card: retry on 500).
  {
    provider: 'mwd',
    call: 'refund',
    answer: '500, plain text',
    acted: false,
    fault: { commit: false, ...http500 },
    end: 'succeeded',
    sends: 2,
    code: null,
    why: designCard,
  },
  {
    provider: 'mwd',
    call: 'refund',
    answer: "500, MWD's refusal",
    acted: false,
    fault: { commit: false, then: 'answer', status: 500, body: json({ RtnCode: '9999', RtnMessage: '系統錯誤' }) },
    end: 'succeeded',
    sends: 2,
    code: null,
    why: designCard,
  },
  // The same 500 after MWD refunded cannot be told apart: the resend reaches a refunded order.
  {
    provider: 'mwd',
    call: 'refund',
    answer: '500, plain text; MWD carries out the resend',
    acted: true,
    fault: { commit: true, ...http500 },
    end: 'succeeded',
    sends: 2,
    code: null,
    why: designCard,
    attempts: 2,
    known: { resentToRefunded: 1, refunds: 2, operatorSees: 'succeeded, attempts 2, no error: nothing on the record says MWD refunded twice' },
  },
  {
    provider: 'mwd',
    call: 'refund',
    answer: '500, plain text; MWD refuses the resend (already refunded)',
    acted: true,
    fault: { commit: true, ...http500 },
    seed: { refuseSecondRefund: true },
    end: 'requires_attention',
    sends: 2,
    code: 'MwdRefusedAfterResend',
    why: designCard,
    attempts: 2,
    says: 'code RtnCode 2001, ResultCode 2001 · HTTP 200 · "原交易已退貨 (already refunded)',
    known: { resentToRefunded: 1, refunds: 1, operatorSees: "requires_attention, attempts 2, MWD's refusal (already refunded) after an earlier send" },
  },
  // A refusal after a retried 500 may be MWD refusing a second refund: never `failed`.
  {
    provider: 'mwd',
    call: 'refund',
    answer: "500, plain text, then MWD's refusal to the resend",
    acted: false,
    plan: () => ({
      refund: [
        { commit: false, ...http500 },
        { commit: false, then: 'answer', status: 200, body: json({ RtnCode: '2012', ResponseParams: { ResultCode: '2012', ResultData: { RetCode: '12' } } }) },
      ],
    }),
    end: 'requires_attention',
    sends: 2,
    code: 'MwdRefusedAfterResend',
    why: designCard,
    says: 'code RtnCode 2012, ResultCode 2012, RetCode 12 · HTTP 200 · refund of order',
  },
  ...both('mwd', '500 whose body says it refunded', (ids) => ({ then: 'answer', status: 500, body: success(ids, {}) }), {
    notActed: inDoubt('MwdCodesDisagree'),
    acted: inDoubt('MwdCodesDisagree'),
  }),
  ...both(
    'mwd',
    '200, JSON cut short',
    { then: 'answer', status: 200, body: truncatedMwd },
    {
      notActed: inDoubt('MwdMalformedResponse'),
      acted: inDoubt('MwdMalformedResponse'),
    },
  ),
  ...both(
    'mwd',
    '200, RtnCode refused but RetCode 00',
    {
      then: 'answer',
      status: 200,
      body: json({ RtnCode: '2001', ResponseParams: { ResultCode: '2001', ResultData: { RetCode: '00', ServiceTradeNo: 'MW1' } } }),
    },
    {
      notActed: inDoubt('MwdCodesDisagree'),
      acted: inDoubt('MwdCodesDisagree'),
    },
  ),
  ...both(
    'mwd',
    '200, RtnCode 1000 but ResultCode refused',
    { then: 'answer', status: 200, body: json({ RtnCode: '1000', ResponseParams: { ResultCode: '2001' } }) },
    {
      notActed: inDoubt('MwdCodesDisagree'),
      acted: inDoubt('MwdCodesDisagree'),
    },
  ),
  // A success that is not our refund: money may have moved, not as asked.
  ...both('mwd', '200, success echoing another amount', (ids) => ({ then: 'answer', status: 200, body: success(ids, { TradeAmount: '100' }) }), {
    notActed: mismatch,
    acted: mismatch,
  }),
  ...both(
    'mwd',
    '200, success echoing another OriMerchantTradeNo',
    (ids) => ({ then: 'answer', status: 200, body: success(ids, { OriMerchantTradeNo: '209912310001' }) }),
    {
      notActed: mismatch,
      acted: mismatch,
    },
  ),
  ...both('mwd', '200, success echoing TradeType 6 (cancel refund)', (ids) => ({ then: 'answer', status: 200, body: success(ids, { TradeType: '6' }) }), {
    notActed: mismatch,
    acted: mismatch,
  }),
  ...doubtful.flatMap(([answer, fault]) => both('mwd', answer, fault, { notActed: inDoubt(doubtfulCode(fault)), acted: inDoubt(doubtfulCode(fault)) })),
  // Nothing was sent: asked again within the retry window, then a person decides.
  {
    provider: 'mwd',
    call: 'refund',
    answer: 'connection refused, every time',
    acted: false,
    fault: 'refused',
    end: 'requires_attention',
    sends: 0,
    code: 'MwdConnectionFailed',
  },
];
