import type { Fault } from '../../src/sandbox/faults.js';
import { both, doubtful, gateway504, html, json, type FaultRow, type RowIds } from './row.js';

const oenCode = (code: string, message = '') => json({ code, message });
const refusal = (status: number, code: string): Omit<Fault, 'commit'> => ({ then: 'answer', status, body: oenCode(code, '請求錯誤') });

/** What a half-written success body looks like (cut inside `data`). */
const truncatedOen = '{"code":"S0000","message":"","data":{"id":"P2026';

/** The row's transaction as Oen shows it, with `fields` changed: what a list or a refund answer says of it. */
const transaction = ({ reference, orderId, amount }: RowIds, fields: Record<string, unknown>) => ({
  id: reference,
  action: 'onetime',
  amount,
  fee: 30,
  paymentInfo: { cardType: 'Visa', cardNum: '4242424242424242', method: 'card' },
  status: 'charged',
  orderId,
  createdAt: '2026-01-01T00:00:00.000Z',
  refundAmount: 0,
  ...fields,
});
const ok = (data: unknown): Omit<Fault, 'commit'> => ({ then: 'answer', status: 200, body: json({ code: 'S0000', message: '', data }) });
const list = (transactions: unknown[]): Fault => ({ commit: false, ...ok({ transactions }) });

/** A list late to show a refund Oen made: the transaction still charged. */
const stale = (ids: RowIds) => list([transaction(ids, {})]);
const lateList = "Oen's list late to show the first refund";

const refused = (status: number, code: string, end: 'failed' | 'requires_attention' = 'failed'): FaultRow => ({
  provider: 'oen',
  call: 'refund',
  answer: `${status}, Oen's ${code}${code === 'V0002' ? ' (transaction still charged)' : ''}`,
  acted: false,
  fault: { commit: false, ...refusal(status, code) },
  end,
  sends: 1,
  code: `Oen${code}`,
});

const retried = { end: 'succeeded', sends: 2, code: null, why: 'Oen showed no refund' } as const;
const once = { end: 'succeeded', sends: 1, code: null } as const;
const unexplained = { end: 'requires_attention', sends: 1, code: 'OenStateUnexplained' } as const;

const oenRefundRows: FaultRow[] = [
  ...(['A0001', 'V0001', 'T0001', 'T0002', 'T0003', 'T0004', 'T0005'] as const).map((code) => refused(code === 'A0001' ? 401 : 400, code)),
  refused(400, 'V0002', 'requires_attention'),
  // Oen documents a result code in its envelope on each of its statuses: a refusal is one at 200 and 401 too.
  ...(['A0001', 'V0001', 'T0001'] as const).map((code) => refused(200, code)),
  ...(['V0001', 'T0005'] as const).map((code) => refused(401, code)),
  refused(200, 'V0002', 'requires_attention'),
  refused(401, 'V0002', 'requires_attention'),
  // A V0002 says the transaction is no longer charged: after Oen acted, the check finds our refund.
  { provider: 'oen', call: 'refund', answer: "400, Oen's V0002", acted: true, fault: { commit: true, ...refusal(400, 'V0002') }, ...once },
  { provider: 'oen', call: 'refund', answer: "500, Oen's F0001", acted: false, fault: { commit: false, ...refusal(500, 'F0001') }, ...retried },
  // A success whose data is not our refund proves nothing: a person decides, nothing is sent again.
  ...both('oen', '200, S0000 showing the transaction still charged', (ids) => ok(transaction(ids, {})), { notActed: unexplained, acted: unexplained }),
  ...both('oen', '200, S0000 showing another amount refunded (NT$500)', (ids) => ok(transaction(ids, { status: 'refunded', refundAmount: 500 })), {
    notActed: unexplained,
    acted: unexplained,
  }),
  ...both(
    'oen',
    '200, S0000 showing another transaction refunded',
    (ids) => ok(transaction({ ...ids, reference: 'P20260101OTHERTXN' }, { status: 'refunded', refundAmount: ids.amount })),
    {
      notActed: unexplained,
      acted: unexplained,
    },
  ),
  ...both('oen', '200, JSON cut short', { then: 'answer', status: 200, body: truncatedOen }, { notActed: retried, acted: once }),
  ...both('oen', '400, a code Oen does not document', { then: 'answer', status: 400, body: oenCode('X9999', 'new') }, { notActed: retried, acted: once }),
  ...both(
    'oen',
    "502 with Oen's V0001 (a status Oen does not give it)",
    { then: 'answer', status: 502, body: oenCode('V0001') },
    { notActed: retried, acted: once },
  ),
  ...both(
    'oen',
    '500, plain text',
    { then: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' },
    { notActed: retried, acted: once },
  ),
  // Oen is asked after every answer that proves nothing: sent again only when it shows no refund.
  ...doubtful.flatMap(([answer, fault]) => both('oen', answer, fault, { notActed: retried, acted: once })),
  // A refusal after an earlier send proves nothing of that send: Oen is asked before `failed`.
  {
    provider: 'oen',
    call: 'refund',
    answer: "504, then Oen's T0005 to the resend",
    acted: false,
    plan: () => ({ refund: [gateway504(false), { commit: false, ...refusal(400, 'T0005') }] }),
    end: 'failed',
    sends: 2,
    code: 'OenT0005',
    why: 'Oen showed no refund, before the resend and after its refusal',
  },
  {
    provider: 'oen',
    call: 'refund',
    answer: `504, then Oen's T0005 to the resend (${lateList})`,
    acted: true,
    plan: (ids) => ({ refund: [gateway504(true), { commit: false, ...refusal(400, 'T0005') }], list: [null, stale(ids), stale(ids)] }),
    end: 'succeeded',
    sends: 2,
    code: null,
    why: 'the list showed no refund; after the refusal it did',
    known: { resentToRefunded: 1, refunds: 1, operatorSees: 'succeeded: the check after the refusal found the first refund' },
  },
  {
    provider: 'oen',
    call: 'refund',
    answer: `504, then Oen's own V0002 to the resend (${lateList})`,
    acted: true,
    plan: (ids) => ({ refund: [gateway504(true)], list: [null, stale(ids), stale(ids)] }),
    end: 'succeeded',
    sends: 2,
    code: null,
    why: 'the list showed no refund; after the V0002 it did',
    known: { resentToRefunded: 1, refunds: 1, operatorSees: 'succeeded: the check after the V0002 found the first refund' },
  },
  {
    provider: 'oen',
    call: 'refund',
    answer: 'connection refused, every time',
    acted: false,
    fault: 'refused',
    end: 'requires_attention',
    sends: 0,
    code: 'OenConnectionFailed',
  },
];

/** What Oen's list may show after a doubtful send that is neither our refund nor the transaction still charged. */
const unexplainedLists: Array<[string, (ids: RowIds) => Fault]> = [
  ['200, the list shows another amount refunded (NT$500)', (ids) => list([transaction(ids, { status: 'refunded', refundAmount: 500 })])],
  ['200, the list shows a status Oen does not document', (ids) => list([transaction(ids, { status: 'disputed' })])],
  ['200, the list does not show the transaction', () => list([])],
  ['200, the list shows an ATM payment', (ids) => list([transaction(ids, { paymentInfo: { method: 'atm' } })])],
];

/** Oen's list, asked after the refund was answered with a gateway's 504 (after Oen acted unless the row says not). */
const oenCheckRows: FaultRow[] = [
  ...[
    ...doubtful.filter(([answer]) => !/^(401|404)/.test(answer)),
    ['200, JSON cut short', { then: 'answer', status: 200, body: truncatedOen }] as const,
    ["500, Oen's F0001", refusal(500, 'F0001')] as const,
    ["400, Oen's V0001", refusal(400, 'V0001')] as const,
  ].map(([answer, fault]): FaultRow => ({ provider: 'oen', call: 'check', answer, acted: true, fault: { ...fault, commit: false }, ...once })),
  ...(
    [
      ['401, an HTML page', { then: 'answer', status: 401, body: html(401), contentType: 'text/html' }],
      ["401, Oen's A0001", refusal(401, 'A0001')],
      ['404, an HTML page', { then: 'answer', status: 404, body: html(404), contentType: 'text/html' }],
    ] as const
  ).flatMap(([answer, fault]): FaultRow[] => [
    // A list that cannot improve by asking again: the check cannot be made, and a person decides.
    { provider: 'oen', call: 'check', answer, acted: true, fault: { ...fault, commit: false }, end: 'requires_attention', sends: 1, code: 'OenCheckFailed' },
    {
      provider: 'oen',
      call: 'check before sending',
      answer,
      acted: false,
      fault: { ...fault, commit: false },
      end: 'requires_attention',
      sends: 0,
      code: 'OenCheckFailed',
    },
  ]),
  // Neither refunded of our amount nor still charged: nothing proves either way, a person decides.
  ...unexplainedLists.flatMap(([answer, shown]) =>
    [false, true].map((acted): FaultRow => ({
      provider: 'oen',
      call: 'check',
      answer,
      acted,
      plan: (ids) => ({ refund: [gateway504(acted)], list: [null, shown(ids)] }),
      ...unexplained,
    })),
  ),
];

export const oenRows: FaultRow[] = [...oenRefundRows, ...oenCheckRows];
