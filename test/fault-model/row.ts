import { gatewayPage, type Fault } from '../../src/sandbox/faults.js';

/**
 * One row of the fault model (table.ts): an answer a provider, or a proxy or gateway in front of
 * it, gives to one call, before or after the provider acted, and how the engine must end the refund.
 */
export type End = 'succeeded' | 'failed' | 'requires_attention';

/** What a row's answers may name: the refund's transaction (Oen) or order (MWD), its order, its amount. */
export interface RowIds {
  /** Oen: the transaction HID; MWD: the order id. */
  reference: string;
  orderId: string;
  /** Whole NT$. */
  amount: number;
}

/** An emulator's `next` queue: a named fault, one written out in full, or `null` for the real answer. */
export type Queued = Fault | string | null;

/** The queues a row serves, per call: the refund, and (Oen) the order's transaction list. */
export interface Plan {
  refund?: Queued[];
  list?: Queued[];
}

export interface FaultRow {
  provider: 'oen' | 'mwd';
  /**
   * `refund`: the refund call; `check`: Oen's transaction list, asked after a refund answer that
   * proved nothing; `check before sending`: the list asked before the first send.
   */
  call: 'refund' | 'check' | 'check before sending';
  /** How the answer reads in the table. */
  answer: string;
  /** Did the provider carry out the refund before answering? */
  acted: boolean;
  /**
   * The fault served to the first request of the call (keyed to this refund's transaction or
   * order; later requests get real answers), written from the row's ids where it names them.
   * `refused`: the connection is refused (the provider's address has no listener), every time.
   */
  fault?: Fault | 'refused' | ((ids: RowIds) => Fault);
  /** A row that needs more than one faulted answer: every queue, in full (instead of `fault`). */
  plan?: (ids: RowIds) => Plan;
  /** Added to the transaction or order the emulator is seeded with. */
  seed?: Record<string, unknown>;
  end: End;
  /** Refund requests that reach the provider. */
  sends: number;
  /** The error code the ledger records; `null`: none (a success). */
  code: string | null;
  /** Why it was sent more than once, for the table. */
  why?: string;
  /**
   * A cost the row shows rather than hides, where the engine cannot see it coming: how many sends
   * reached a transaction or order already refunded, how many refunds the provider made, and what an
   * operator sees. Without it, the invariants hold: none, and at most one.
   */
  known?: { resentToRefunded: number; refunds: number; operatorSees: string };
  /** The record's `attempts`, where it is what an operator sees. */
  attempts?: number;
  /** What the record's error message must say: the evidence an operator reads. */
  says?: string;
}

export const json = (body: unknown) => JSON.stringify(body);
export const html = (status: number) => gatewayPage(`${status}`);

/** A gateway's 504 page, after the provider acted or before. */
export const gateway504 = (commit: boolean): Fault => ({ commit, then: 'answer', status: 504, body: html(504), contentType: 'text/html' });

/**
 * A doubtful answer, given both before the provider acted and after: the rows for both, with the
 * end each gets.
 */
export function both(
  provider: 'oen' | 'mwd',
  answer: string,
  fault: Omit<Fault, 'commit'> | ((ids: RowIds) => Omit<Fault, 'commit'>),
  ends: { notActed: Pick<FaultRow, 'end' | 'sends' | 'code' | 'why'>; acted: Pick<FaultRow, 'end' | 'sends' | 'code' | 'why'> },
): FaultRow[] {
  const at = (commit: boolean) => (typeof fault === 'function' ? (ids: RowIds) => ({ ...fault(ids), commit }) : { ...fault, commit });
  return [
    { provider, call: 'refund', answer, acted: false, fault: at(false), ...ends.notActed },
    { provider, call: 'refund', answer, acted: true, fault: at(true), ...ends.acted },
  ];
}

/** The doubtful answers both providers can get from anything in front of them. */
export const doubtful: Array<[string, Omit<Fault, 'commit'>]> = [
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

/**
 * What the row's emulator is told to answer: the queues per call (keyed to the refund's transaction
 * or order), or `refused` for a provider address with no listener.
 */
export function planOf(row: FaultRow, ids: RowIds): Plan | 'refused' {
  if (row.plan) return row.plan(ids);
  if (row.fault === undefined) throw new Error(`row "${row.answer}" has neither a fault nor a plan`);
  if (row.fault === 'refused') return 'refused';
  const fault = typeof row.fault === 'function' ? row.fault(ids) : row.fault;
  if (row.call === 'refund') return { refund: [fault] };
  // The list answers truly before the send; the fault is the check after a send a gateway's 504 left in doubt.
  if (row.call === 'check') return { refund: ['gateway504AfterCommit'], list: [null, fault] };
  return { list: [fault] };
}
