import { gatewayPage, type Fault } from '../../src/sandbox/faults.js';

/**
 * The fault model: every kind of answer a provider, or a proxy or gateway in front of it, can give to
 * each call, before and after the provider acted, and how the engine must end the refund. It is the
 * test (test/fault-model/fault-table.test.ts runs every row against the emulators over real HTTP,
 * on the real Temporal dev server) and the documentation (docs/providers.md, "The fault model",
 * rendered from it by `npm run docs:fault-table` and checked against it by the test).
 *
 * Whatever the row, three invariants hold: never refunded twice (no refund request reaches a
 * transaction or order already refunded); `failed` ⇒ not refunded; `succeeded` ⇒ refunded once, of
 * our amount.
 */
export type End = 'succeeded' | 'failed' | 'requires_attention';

export interface FaultRow {
  provider: 'oen' | 'mwd';
  /** `refund`: the refund call; `check`: Oen's transaction list, asked after a refund answer that proved nothing. */
  call: 'refund' | 'check' | 'check before sending';
  /** How the answer reads in the table. */
  answer: string;
  /** Did the provider carry out the refund before answering? */
  acted: boolean;
  /**
   * The fault served to the first request of the call (the emulators' `next` queue, keyed to this
   * refund's transaction or order); later requests get real answers. `refused`: the connection is
   * refused (the provider's address has no listener), for every request.
   */
  fault: Fault | 'refused';
  end: End;
  /** Refund requests that reach the provider. */
  sends: number;
  /** The error code the ledger records, where it matters. */
  code?: string;
}

const json = (body: unknown) => JSON.stringify(body);
const html = (status: number) => gatewayPage(`${status}`);
const oenCode = (code: string, message = '') => json({ code, message });

/** What a half-written success body looks like (cut inside `data`). */
const truncatedOen = '{"code":"S0000","message":"","data":{"id":"P2026';
const truncatedMwd = '{"RtnCode":"1000","RtnMessage":"交易成功","ResponseParams":{"ResultCode":"10';

/**
 * A doubtful answer, given both before the provider acted and after: the rows for both, with the
 * end each gets.
 */
function both(
  provider: 'oen' | 'mwd',
  answer: string,
  fault: Omit<Fault, 'commit'>,
  ends: { notActed: Pick<FaultRow, 'end' | 'sends' | 'code'>; acted: Pick<FaultRow, 'end' | 'sends' | 'code'> },
): FaultRow[] {
  return [
    { provider, call: 'refund', answer, acted: false, fault: { ...fault, commit: false }, ...ends.notActed },
    { provider, call: 'refund', answer, acted: true, fault: { ...fault, commit: true }, ...ends.acted },
  ];
}

/** The doubtful answers both providers can get from anything in front of them. */
const doubtful: Array<[string, Omit<Fault, 'commit'>]> = [
  ['200, an HTML page', { then: 'answer', status: 200, body: html(200), contentType: 'text/html' }],
  ['200, an empty body', { then: 'answer', status: 200, body: '' }],
  ['302 to another address', { then: 'answer', status: 302, body: '', headers: { Location: 'https://elsewhere.invalid/' } }],
  ['400, an HTML page', { then: 'answer', status: 400, body: html(400), contentType: 'text/html' }],
  ['401, an HTML page', { then: 'answer', status: 401, body: html(401), contentType: 'text/html' }],
  ['403, an HTML page', { then: 'answer', status: 403, body: html(403), contentType: 'text/html' }],
  ['404, an HTML page', { then: 'answer', status: 404, body: html(404), contentType: 'text/html' }],
  ['408, an HTML page', { then: 'answer', status: 408, body: html(408), contentType: 'text/html' }],
  ['409, an HTML page', { then: 'answer', status: 409, body: html(409), contentType: 'text/html' }],
  // 3 s: longer than the check after the answer and the retry's backoff take, so a resend that did not
  // wait for it shows (the fault-table test checks the gap).
  ['429 with Retry-After: 3', { then: 'answer', status: 429, body: 'Too Many Requests', contentType: 'text/plain', headers: { 'Retry-After': '3' } }],
  ['502, an HTML page', { then: 'answer', status: 502, body: html(502), contentType: 'text/html' }],
  ['503, an HTML page', { then: 'answer', status: 503, body: html(503), contentType: 'text/html' }],
  ['504, an HTML page', { then: 'answer', status: 504, body: html(504), contentType: 'text/html' }],
  ['connection reset, no answer', { then: 'reset' }],
  ['no answer until the timeout', { then: 'hang' }],
  ['half an answer, then the connection cut', { then: 'truncate' }],
];

const oenRefundRows: FaultRow[] = [
  ...(['A0001', 'V0001', 'T0001', 'T0002', 'T0003', 'T0004', 'T0005'] as const).map(
    (code): FaultRow => ({
      provider: 'oen',
      call: 'refund',
      answer: `${code === 'A0001' ? 401 : 400}, Oen's ${code}`,
      acted: false,
      fault: { commit: false, then: 'answer', status: code === 'A0001' ? 401 : 400, body: oenCode(code, '請求錯誤') },
      end: 'failed',
      sends: 1,
      code: `Oen${code}`,
    }),
  ),
  {
    provider: 'oen',
    call: 'refund',
    answer: "400, Oen's V0002 (transaction still charged)",
    acted: false,
    fault: { commit: false, then: 'answer', status: 400, body: oenCode('V0002', '交易狀態錯誤') },
    end: 'requires_attention',
    sends: 1,
    code: 'OenV0002',
  },
  {
    provider: 'oen',
    call: 'refund',
    answer: "500, Oen's F0001",
    acted: false,
    fault: { commit: false, then: 'answer', status: 500, body: oenCode('F0001', '系統錯誤') },
    end: 'succeeded',
    sends: 2,
  },
  ...both('oen', '200, JSON cut short', { then: 'answer', status: 200, body: truncatedOen }, {
    notActed: { end: 'succeeded', sends: 2 },
    acted: { end: 'succeeded', sends: 1 },
  }),
  ...both('oen', "400, a code Oen does not document", { then: 'answer', status: 400, body: oenCode('X9999', 'new') }, {
    notActed: { end: 'succeeded', sends: 2 },
    acted: { end: 'succeeded', sends: 1 },
  }),
  ...both('oen', "502 with Oen's V0001 (a status Oen does not give it)", { then: 'answer', status: 502, body: oenCode('V0001') }, {
    notActed: { end: 'succeeded', sends: 2 },
    acted: { end: 'succeeded', sends: 1 },
  }),
  ...both('oen', '500, plain text', { then: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' }, {
    notActed: { end: 'succeeded', sends: 2 },
    acted: { end: 'succeeded', sends: 1 },
  }),
  // Oen is asked after every answer that proves nothing: sent again only when it shows no refund.
  ...doubtful.flatMap(([answer, fault]) =>
    both('oen', answer, fault, { notActed: { end: 'succeeded', sends: 2 }, acted: { end: 'succeeded', sends: 1 } }),
  ),
  { provider: 'oen', call: 'refund', answer: 'connection refused, every time', acted: false, fault: 'refused', end: 'requires_attention', sends: 0 },
];

/** Oen's list, asked after the refund was carried out and answered with a gateway's 504. */
const oenCheckRows: FaultRow[] = [
  ...[
    ...doubtful.filter(([answer]) => !/^(401|404)/.test(answer)),
    ['200, JSON cut short', { then: 'answer', status: 200, body: truncatedOen }] as const,
    ["500, Oen's F0001", { then: 'answer', status: 500, body: oenCode('F0001', '系統錯誤') }] as const,
    ["400, Oen's V0001", { then: 'answer', status: 400, body: oenCode('V0001', '請求錯誤') }] as const,
  ].map(
    ([answer, fault]): FaultRow => ({
      provider: 'oen',
      call: 'check',
      answer,
      acted: true,
      fault: { ...fault, commit: false },
      end: 'succeeded',
      sends: 1,
    }),
  ),
  ...(
    [
      ['401, an HTML page', { then: 'answer', status: 401, body: html(401), contentType: 'text/html' }],
      ["401, Oen's A0001", { then: 'answer', status: 401, body: oenCode('A0001', '未授權') }],
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
];

const mwdSuccess = (fields: Record<string, string>) =>
  json({
    RtnCode: '1000',
    RtnMessage: '交易成功',
    ResponseParams: { ResultCode: '1000', ResultMessage: '交易成功', ResultData: { RetCode: '00', ServiceTradeNo: 'MW2026000000001', TradeType: '5', ...fields } },
  });

/** A person decides: MWD cannot be asked, and nothing is sent again. */
const mwdInDoubt = { end: 'requires_attention', sends: 1 } as const;

const mwdRefundRows: FaultRow[] = [
  ...(
    [
      ['200, MWD\'s refusal (RtnCode 2002, no order)', 200, { RtnCode: '2002', RtnMessage: '查無訂單' }],
      ['200, MWD\'s refusal (RtnCode, ResultCode and RetCode agree)', 200, { RtnCode: '2012', ResponseParams: { ResultCode: '2012', ResultData: { RetCode: '12' } } }],
      ['400, MWD\'s refusal (RtnCode 1001)', 400, { RtnCode: '1001', RtnMessage: '參數錯誤' }],
      ['401, MWD\'s refusal (RtnCode 401)', 401, { RtnCode: '401', RtnMessage: 'Unauthorized' }],
    ] as const
  ).map(
    ([answer, status, body]): FaultRow => ({
      provider: 'mwd',
      call: 'refund',
      answer,
      acted: false,
      fault: { commit: false, then: 'answer', status, body: json(body) },
      end: 'failed',
      sends: 1,
      code: 'MwdRefused',
    }),
  ),
  // MWD's HTTP 500 is MWD saying it did not refund (the design card: retry on 500).
  { provider: 'mwd', call: 'refund', answer: '500, plain text', acted: false, fault: { commit: false, then: 'answer', status: 500, body: 'Internal Server Error', contentType: 'text/plain' }, end: 'succeeded', sends: 2 },
  { provider: 'mwd', call: 'refund', answer: "500, MWD's refusal", acted: false, fault: { commit: false, then: 'answer', status: 500, body: json({ RtnCode: '9999', RtnMessage: '系統錯誤' }) }, end: 'succeeded', sends: 2 },
  ...both('mwd', '500 whose body says it refunded', { then: 'answer', status: 500, body: mwdSuccess({}) }, { notActed: mwdInDoubt, acted: mwdInDoubt }),
  ...both('mwd', '200, JSON cut short', { then: 'answer', status: 200, body: truncatedMwd }, { notActed: mwdInDoubt, acted: mwdInDoubt }),
  ...both('mwd', '200, RtnCode refused but RetCode 00', { then: 'answer', status: 200, body: json({ RtnCode: '2001', ResponseParams: { ResultCode: '2001', ResultData: { RetCode: '00', ServiceTradeNo: 'MW1' } } }) }, {
    notActed: mwdInDoubt,
    acted: mwdInDoubt,
  }),
  ...both('mwd', '200, RtnCode 1000 but ResultCode refused', { then: 'answer', status: 200, body: json({ RtnCode: '1000', ResponseParams: { ResultCode: '2001' } }) }, {
    notActed: mwdInDoubt,
    acted: mwdInDoubt,
  }),
  {
    provider: 'mwd',
    call: 'refund',
    answer: '200, success echoing another amount',
    acted: true,
    fault: { commit: true, then: 'answer', status: 200, body: mwdSuccess({ TradeAmount: '100' }) },
    end: 'requires_attention',
    sends: 1,
    code: 'MwdRefundMismatch',
  },
  ...doubtful.flatMap(([answer, fault]) => both('mwd', answer, fault, { notActed: mwdInDoubt, acted: mwdInDoubt })),
  // Nothing was sent: asked again within the retry window, then a person decides.
  { provider: 'mwd', call: 'refund', answer: 'connection refused, every time', acted: false, fault: 'refused', end: 'requires_attention', sends: 0 },
];

export const faultTable: FaultRow[] = [...oenRefundRows, ...oenCheckRows, ...mwdRefundRows];

const endWords: Record<End, string> = { succeeded: 'succeeded', failed: '**failed**', requires_attention: 'requires_attention' };

function describeEnd(row: FaultRow): string {
  const sent = row.sends === 0 ? 'nothing sent' : row.sends === 1 ? 'sent once' : `sent ${row.sends} times (Oen showed no refund)`;
  const retried = row.end === 'succeeded' && row.sends > 1 ? 'retried, then ' : '';
  return `${retried}${endWords[row.end]}${row.code ? ` (${row.code})` : ''}, ${sent}`;
}

/** The table as docs/providers.md shows it. */
export function renderFaultTable(): string {
  const lines = [
    '| provider | call | answer | provider acted | end |',
    '|---|---|---|---|---|',
    ...faultTable.map(
      (row) => `| ${row.provider === 'oen' ? 'Oen' : 'MWD'} | ${row.call} | ${row.answer.replaceAll('|', '\\|')} | ${row.acted ? 'yes' : 'no'} | ${describeEnd(row)} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

export const TABLE_START = '<!-- fault-table:start (rendered from test/fault-model/table.ts by `npm run docs:fault-table`) -->';
export const TABLE_END = '<!-- fault-table:end -->';
