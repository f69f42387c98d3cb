import { describe, expect, it } from 'vitest';
import type { SandboxRefund, SandboxRefundRequest } from '../../src/sandbox/server.js';
import { checkInvariants, formatReport, type Destination, type LedgerRow, type OutboxRow, type SentRefund } from './invariants.js';
import { unplannedExit } from './processes.js';

/** The checker itself, on made-up observations: each broken invariant is caught and named. */
const sent = (i: number, provider: 'oen' | 'mwd' = 'oen'): SentRefund => ({
  refundId: `RF-${i}`,
  provider,
  reference: `REF-${i}`,
  orderId: `O-${i}`,
  amount: 1000,
  deliveries: 1,
  transport: 'http',
  answers: [202],
});
const row = (i: number, status: string, error_message: string | null = null): LedgerRow => ({
  refund_id: `RF-${i}`,
  provider: 'oen',
  status,
  amount: 1000,
  error_message,
});
const atSandbox = (i: number, provider: 'oen' | 'mwd' = 'oen'): SandboxRefund => ({
  provider,
  reference: `REF-${i}`,
  orderId: `O-${i}`,
  amount: 1000,
  providerReference: `REF-${i}`,
  refundedAt: '2026-11-25T00:00:00Z',
});
const delivery = (i: number, status = 'succeeded', at = 1) => ({ id: `RF-${i}.${status}.${at}`, type: `refund.${status}`, refundId: `RF-${i}` });
const FINAL = ['succeeded', 'failed', 'requires_attention', 'cancelled'];
/** The outbox a ledger has: one event per refund in a final status (id as `delivery` makes it), in ledger order. */
const outboxOf = (ledger: LedgerRow[]): OutboxRow[] =>
  ledger
    .filter((r) => FINAL.includes(r.status))
    .map((r, i) => ({ event_id: `${r.refund_id}.${r.status}.1`, type: `refund.${r.status}`, subject: r.refund_id, position: i + 1 }));

const request = (i: number, alreadyRefunded = false, provider: 'oen' | 'mwd' = 'oen'): SandboxRefundRequest => ({
  provider,
  reference: `REF-${i}`,
  amount: 1000,
  receivedAt: '2026-11-25T00:00:00Z',
  alreadyRefunded,
  result: alreadyRefunded ? 'refused' : 'refunded',
});

function check(o: {
  refunds: SentRefund[];
  ledger: LedgerRow[];
  sandboxRefunds: SandboxRefund[];
  sandboxRequests?: SandboxRefundRequest[];
  deliveries: ReturnType<typeof delivery>[];
  /** The outbox; by default, outboxOf(ledger). */
  outbox?: OutboxRow[];
  /** Broker destinations besides the webhook. */
  brokers?: Destination[];
  refusals?: string[];
  deadLetters?: { amqp: number; nats: number };
  resolutions?: { figure: string; problems: string[] };
  unplannedExits?: string[];
  temporalProblems?: string[];
}) {
  return checkInvariants({
    options: { refunds: o.refunds.length, seed: 1, workers: 1, concurrency: 1 },
    durationMs: 1000,
    refunds: o.refunds,
    ledger: o.ledger,
    sandboxRefunds: o.sandboxRefunds,
    sandboxRequests: o.sandboxRequests ?? [],
    receiver: { deliveries: o.deliveries, refused: 0, badSignatures: 0 },
    destinations: [{ name: 'webhook', deliveries: o.deliveries }, ...(o.brokers ?? [])],
    outbox: o.outbox ?? outboxOf(o.ledger),
    refusals: o.refusals ?? [],
    ...(o.deadLetters && { deadLetters: o.deadLetters }),
    ...(o.resolutions && { resolutions: o.resolutions }),
    chaos: { workerKills: 0, apiKills: 0, temporalFaults: [], temporalProblems: o.temporalProblems ?? [], unplannedExits: o.unplannedExits ?? [] },
  });
}

/** The violations of the invariant whose name starts with `name`. */
const violations = (report: ReturnType<typeof check>, name: string) => report.invariants.find((i) => i.name.startsWith(name))?.violations;

describe('checkInvariants', () => {
  it('passes a clean run', () => {
    const report = check({
      refunds: [sent(1), sent(2), sent(3), sent(4), sent(5)],
      ledger: [row(1, 'succeeded'), row(2, 'succeeded'), row(3, 'succeeded'), row(4, 'succeeded'), row(5, 'failed')],
      sandboxRefunds: [atSandbox(1), atSandbox(2), atSandbox(3), atSandbox(4)],
      sandboxRequests: [request(1), request(2), request(3), request(4)],
      deliveries: [delivery(1), delivery(2), delivery(3), delivery(4), delivery(5, 'failed')],
    });
    expect(report.invariants.filter((i) => i.violations.length > 0)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(formatReport(report)).toMatch(/All invariants hold\.$/);
  });

  it('names each process that exited on its own, how, and its last line', () => {
    const exits = [unplannedExit('worker-2', 1, '{"msg":"Worker polling"}\nError: connect ECONNREFUSED 127.0.0.1:7233\n'), unplannedExit('api', 'SIGSEGV', '')];
    expect(exits).toEqual(['worker-2 exited with code 1; last line: Error: connect ECONNREFUSED 127.0.0.1:7233', 'api was killed by SIGSEGV']);
    const text = formatReport(check({ refunds: [], ledger: [], sandboxRefunds: [], deliveries: [], unplannedExits: exits }));
    expect(text).toMatch(/2 unplanned exits/);
    expect(text).toMatch(/unplanned exit \(restarted\) +worker-2 exited with code 1; last line: Error: connect ECONNREFUSED/);
    expect(text).toMatch(/unplanned exit \(restarted\) +api was killed by SIGSEGV/);
  });

  it('fails the run on a Temporal host that exited on its own, or a killed history host not seen back', () => {
    const problems = [
      "the cluster's matching exited (code 1); its log: /tmp/x/matching.log",
      "history-2 was SIGKILLed and started again, and 120 s later the cluster's tables show no shard owned by its new process",
    ];
    const report = check({ refunds: [], ledger: [], sandboxRefunds: [], deliveries: [], temporalProblems: problems });
    expect(report.ok).toBe(false);
    expect(violations(report, 'Temporal came back whole from each fault, and no host of it exited on its own')).toEqual(problems);
    expect(formatReport(report)).toMatch(/FAIL {2}Temporal came back whole[\s\S]*matching exited \(code 1\)[\s\S]*INVARIANTS VIOLATED\.$/);
  });

  it('catches a reference refunded twice, and a ledger that says succeeded for it', () => {
    const report = check({
      refunds: [sent(1, 'mwd')],
      ledger: [row(1, 'succeeded')],
      sandboxRefunds: [atSandbox(1, 'mwd'), atSandbox(1, 'mwd')],
      deliveries: [delivery(1)],
    });
    expect(violations(report, 'no transaction refunded twice')).toEqual(['mwd:REF-1 refunded 2 times']);
    expect(violations(report, 'the ledger equals the sandbox')).toEqual(['RF-1: succeeded in the ledger, 2 refund(s) at the provider']);
    expect(formatReport(report)).toMatch(/FAIL {2}no transaction refunded twice[\s\S]*INVARIANTS VIOLATED\.$/);
  });

  it('catches an accepted refund missing from the ledger, one left submitting, and requires_attention without a reason', () => {
    const report = check({
      refunds: [sent(1), sent(2), sent(3)],
      ledger: [row(2, 'submitting'), row(3, 'requires_attention')],
      sandboxRefunds: [],
      deliveries: [delivery(3, 'requires_attention')],
    });
    expect(violations(report, 'every accepted refund settled')).toEqual([
      'RF-1: accepted, not in the ledger',
      'RF-2: submitting',
      'RF-3: requires_attention without a reason',
    ]);
  });

  it('catches a failed refund the provider did carry out, and a refund nobody asked for', () => {
    const failed = { ...row(1, 'failed', 'MWD: refund refused · already refunded'), error_code: 'MwdRefused' };
    const report = check({
      refunds: [sent(1), sent(2)],
      ledger: [failed, row(2, 'cancelled')],
      sandboxRefunds: [atSandbox(1), atSandbox(2), atSandbox(9)],
      deliveries: [delivery(1, 'failed')],
    });
    expect(violations(report, 'failed ⇒ not refunded')).toEqual([
      'RF-1: failed (MwdRefused: MWD: refund refused · already refunded), refunded at the provider',
    ]);
    expect(violations(report, 'the ledger equals the sandbox')).toEqual([
      'RF-1 (oen): failed in the ledger (MwdRefused: MWD: refund refused · already refunded), refunded at the provider',
      'RF-2 (oen): cancelled in the ledger, refunded at the provider',
      'oen:REF-9: refunded, not asked for',
    ]);
  });

  const told = 'every end has one outcome event';

  it('catches a missing outcome event and one the outbox does not have; the same one twice is fine', () => {
    const report = check({
      refunds: [sent(1), sent(2), sent(3)],
      ledger: [row(1, 'succeeded'), row(2, 'succeeded'), row(3, 'succeeded')],
      sandboxRefunds: [atSandbox(1), atSandbox(2), atSandbox(3)],
      deliveries: [delivery(2, 'succeeded', 1), delivery(2, 'succeeded', 2), delivery(3), delivery(3)],
    });
    expect(violations(report, told)).toEqual([
      'RF-1: succeeded, never told at webhook',
      'RF-2: told at webhook an event the outbox does not have: RF-2.succeeded.2',
    ]);
  });

  it('catches an end told as another status, and a cancelled refund never told', () => {
    const report = check({
      refunds: [sent(1), sent(2)],
      ledger: [row(1, 'requires_attention', 'x'), row(2, 'cancelled')],
      sandboxRefunds: [],
      deliveries: [delivery(1, 'succeeded')],
    });
    expect(violations(report, told)).toEqual([
      'RF-1: told at webhook an event the outbox does not have: RF-1.succeeded.1',
      'RF-2: cancelled, never told at webhook',
    ]);
  });

  it('catches an outbox with no event, or two, of a final status, and one never given a position', () => {
    const ledger = [row(1, 'succeeded'), row(2, 'succeeded'), row(3, 'failed')];
    const [, two, three] = outboxOf(ledger);
    const report = check({
      refunds: [sent(1), sent(2), sent(3)],
      ledger,
      sandboxRefunds: [atSandbox(1), atSandbox(2)],
      outbox: [two!, { ...two!, event_id: 'RF-2.succeeded.2', position: 9 }, { ...three!, position: null }],
      deliveries: [delivery(1), delivery(2), delivery(3, 'failed')],
    });
    expect(violations(report, told)).toEqual([
      'RF-1: succeeded, 0 outcome events of it in the outbox ()',
      'RF-2: succeeded, 2 outcome events of it in the outbox (refund.succeeded, refund.succeeded)',
      'RF-3: 1 outcome events never given a stream position',
    ]);
  });

  it('catches a broker destination that missed an event, and one that took a refund’s two events out of order', () => {
    // RF-1 went to a person, then was resolved: two events, in this order in the outbox.
    const ledger = [row(1, 'succeeded'), row(2, 'succeeded')];
    const outbox: OutboxRow[] = [
      { event_id: 'RF-1.requires_attention.1', type: 'refund.requires_attention', subject: 'RF-1', position: 1 },
      { event_id: 'RF-1.succeeded.1', type: 'refund.succeeded', subject: 'RF-1', position: 2 },
      { event_id: 'RF-2.succeeded.1', type: 'refund.succeeded', subject: 'RF-2', position: 3 },
    ];
    const inOrder = [delivery(1, 'requires_attention'), delivery(1), delivery(2)];
    const report = check({
      refunds: [sent(1), sent(2)],
      ledger,
      sandboxRefunds: [atSandbox(1), atSandbox(2)],
      outbox,
      deliveries: inOrder,
      brokers: [
        // Out of order first, then again in order: the first arrivals count.
        { name: 'RabbitMQ', deliveries: [delivery(1), delivery(1, 'requires_attention'), delivery(1), delivery(2)] },
        { name: 'NATS', deliveries: [delivery(1, 'requires_attention'), delivery(1)] },
      ],
    });
    expect(violations(report, told)).toEqual([
      'RF-1: RabbitMQ took its outcome events out of order: RF-1.succeeded.1, RF-1.requires_attention.1',
      'RF-2: succeeded, never told at NATS',
    ]);
    expect(violations(check({ refunds: [sent(1), sent(2)], ledger, sandboxRefunds: [atSandbox(1), atSandbox(2)], outbox, deliveries: inOrder }), told)).toEqual(
      [],
    );
  });

  it('catches an event a broker acknowledged that never reached the ledger, a good event refused, and dead letters', () => {
    const overAmqp = { ...sent(1), transport: 'amqp' as const, answers: [], acknowledged: 2 };
    const overNats = { ...sent(2), transport: 'nats' as const, answers: [], acknowledged: 1 };
    // Never acknowledged: not accepted, so not missed.
    const neverAcked = { ...sent(3), transport: 'nats' as const, answers: [] };
    const report = check({
      refunds: [overAmqp, overNats, neverAcked],
      ledger: [row(2, 'succeeded')],
      sandboxRefunds: [atSandbox(2)],
      deliveries: [delivery(2)],
      refusals: ['nats refused evt-RF-4: 401 no signature in webhook-signature matches'],
      deadLetters: { amqp: 0, nats: 1 },
    });
    const lost = report.invariants.find((i) => i.name.startsWith('nothing acknowledged lost'));
    expect(lost?.violations).toEqual([
      'RF-1: acknowledged over amqp, not in the ledger',
      'nats refused evt-RF-4: 401 no signature in webhook-signature matches',
      '0 dead letters on RabbitMQ, 1 on NATS',
    ]);
    expect(lost?.figure).toBe(
      '1 of 2 accepted in the ledger; RabbitMQ 1 of 1 acknowledged (2 publishes), NATS 1 of 2 acknowledged (1 publishes); 1 refused, 1 dead letters',
    );
    expect(violations(report, 'every accepted refund settled')).toEqual(['RF-1: accepted, not in the ledger']);
  });

  it('catches a resolution that did not settle as the person asked', () => {
    const report = check({
      refunds: [sent(1)],
      ledger: [row(1, 'requires_attention', 'Oen could not be asked')],
      sandboxRefunds: [],
      deliveries: [delivery(1, 'requires_attention')],
      resolutions: {
        figure: '1 of 1 requires_attention resolved by a person: 0 succeeded, 0 failed',
        problems: ['RF-1 (oen): resolved as succeeded, the ledger says requires_attention'],
      },
    });
    expect(violations(report, 'each resolution by a person settled as they asked')).toEqual([
      'RF-1 (oen): resolved as succeeded, the ledger says requires_attention',
    ]);
  });

  it('catches a refund request that reached a transaction already refunded, even one the emulator refused', () => {
    const report = check({
      refunds: [sent(1)],
      ledger: [row(1, 'succeeded')],
      sandboxRefunds: [atSandbox(1)],
      sandboxRequests: [request(1), request(1, true)],
      deliveries: [delivery(1)],
    });
    expect(violations(report, 'no refund request after the refund')).toEqual([
      'oen:REF-1: a refund request at 2026-11-25T00:00:00Z after it was refunded (refused)',
    ]);
  });

  it('catches an engine that refunds nothing: too few refunds succeeded', () => {
    const refunds = Array.from({ length: 10 }, (_, i) => sent(i));
    const report = check({
      refunds,
      ledger: refunds.map((_, i) => row(i, 'requires_attention', 'no')),
      sandboxRefunds: [],
      deliveries: refunds.map((_, i) => delivery(i, 'requires_attention')),
    });
    expect(violations(report, 'at least 80 % of the refunds succeeded')).toEqual(['only 0 of 10 succeeded']);
  });
});
