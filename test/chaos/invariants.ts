import type { SandboxRefund, SandboxRefundRequest } from '../../src/sandbox/server.js';
import type { OutcomeDelivery, OutcomeReceiver } from './processes.js';

/** One refund the chaos run asked for, and the API's answers to each delivery of its event. */
export interface SentRefund {
  refundId: string;
  provider: 'oen' | 'mwd';
  /** Oen: the transaction HID; MWD: the order id (what the emulators key their refunds by). */
  reference: string;
  orderId: string;
  amount: number;
  deliveries: number;
  /** How its event went in: POST /v1/events, or published to RabbitMQ or NATS (test/chaos/brokers.ts). */
  transport: 'http' | 'amqp' | 'nats';
  /** HTTP status per delivery; 0 when the API never answered. */
  answers: number[];
  /** Over a broker: the publishes the broker acknowledged (a confirm, a JetStream ack). */
  acknowledged?: number;
}

export interface LedgerRow {
  refund_id: string;
  provider: string;
  status: string;
  amount: number;
  error_code?: string | null;
  error_message: string | null;
}

/** One outcome event in the ledger's outbox (outcome_events): its stream position, null until sequenced. */
export interface OutboxRow {
  event_id: string;
  type: string;
  subject: string;
  position: string | number | null;
}

/** A place outcome events go (the webhook, a broker), and every delivery it took, in the order it took them. */
export interface Destination {
  name: string;
  deliveries: OutcomeDelivery[];
}

export interface Invariant {
  name: string;
  figure: string;
  /** The refunds (or references) that break it, first few. */
  violations: string[];
}

export interface ChaosReport {
  options: { refunds: number; seed: number; workers: number; concurrency: number };
  durationMs: number;
  figures: Array<[string, string]>;
  invariants: Invariant[];
  ok: boolean;
}

interface Observed {
  /** The card-number and secret scans (test/chaos/scans.ts), when they ran. */
  scans?: { figures: string; invariants: Invariant[] };
  options: ChaosReport['options'];
  durationMs: number;
  refunds: SentRefund[];
  ledger: LedgerRow[];
  sandboxRefunds: SandboxRefund[];
  /** Every refund request that reached the emulators, refused or not. */
  sandboxRequests: SandboxRefundRequest[];
  receiver: Pick<OutcomeReceiver, 'deliveries' | 'refused' | 'badSignatures'>;
  /** The webhook's receiver and, in a run with brokers, the outcome exchange's queue and the outcome stream. */
  destinations: Destination[];
  outbox: OutboxRow[];
  /** Every refusal the intakes kept (rejected_requests): the run sends only good events, so each is a lost one. */
  refusals: string[];
  /** The refunds people resolved after the drain (test/chaos/resolves.ts), and any that did not settle as asked. */
  resolutions?: { figure: string; problems: string[] };
  /** Messages the broker intakes dead-lettered, in a run with brokers. */
  deadLetters?: { amqp: number; nats: number };
  /**
   * temporalFaults: what each server-side fault did and saw; temporalProblems: a Temporal host that
   * exited on its own, or one killed and not seen back (in the membership, owning shards).
   */
  chaos: {
    workerKills: number;
    apiKills: number;
    temporalFaults: string[];
    /** What each broker restart did (a run with brokers). */
    brokerFaults?: string[];
    temporalProblems: string[];
    unplannedExits: string[];
  };
}

const FINAL_WITH_OUTCOME = new Set(['succeeded', 'failed', 'requires_attention', 'cancelled']);

/**
 * The share of refunds that must end succeeded at the default fault mix (an engine that refunds
 * nothing would pass every other invariant). At that mix about 92 % do: Oen's faults are all
 * retried or checked, MWD's unknown outcomes (about 13 % of its requests, plus sends cut by worker
 * kills) go to a person. 80 % leaves room for the 100-refund run's spread.
 */
export const SUCCEEDED_FLOOR = 0.8;

/** The invariants of issues 7 and 16, each with its figure; a violation lists the refunds that break it. */
export function checkInvariants(o: Observed): ChaosReport {
  const ledger = new Map(o.ledger.map((row) => [row.refund_id, row]));
  const atProvider = new Map<string, SandboxRefund[]>();
  for (const refund of o.sandboxRefunds)
    atProvider.set(`${refund.provider}:${refund.reference}`, [...(atProvider.get(`${refund.provider}:${refund.reference}`) ?? []), refund]);
  // Accepted: the API answered 202 or 200 to a delivery, or a broker acknowledged a publish.
  const accepted = o.refunds.filter((r) => r.answers.some((status) => status === 202 || status === 200) || (r.acknowledged ?? 0) > 0);
  const ours = new Set(o.refunds.map((r) => `${r.provider}:${r.reference}`));

  const twice = [...atProvider.entries()].filter(([, list]) => list.length > 1).map(([key, list]) => `${key} refunded ${list.length} times`);
  // A request that reached a transaction or order already refunded is a double send, even where the
  // emulator refused it (the real provider may not).
  const doubleSends = o.sandboxRequests
    .filter((r) => r.alreadyRefunded)
    .map((r) => `${r.provider}:${r.reference}: a refund request at ${r.receivedAt} after it was refunded (${r.result}${r.fault ? `, ${r.fault}` : ''})`);

  const unsettled = accepted.flatMap((r) => {
    const row = ledger.get(r.refundId);
    if (!row) return [`${r.refundId}: accepted, not in the ledger`];
    if (!['succeeded', 'failed', 'cancelled', 'requires_attention'].includes(row.status)) return [`${r.refundId}: ${row.status}`];
    if (row.status === 'requires_attention' && !row.error_message) return [`${r.refundId}: requires_attention without a reason`];
    return [];
  });

  const mismatched = o.refunds.flatMap((r) => {
    const row = ledger.get(r.refundId);
    const done = atProvider.get(`${r.provider}:${r.reference}`) ?? [];
    if (!row) return done.length > 0 ? [`${r.refundId}: refunded at the provider, not in the ledger`] : [];
    if (row.status === 'succeeded' && (done.length !== 1 || done[0]?.amount !== r.amount)) {
      return [`${r.refundId}: succeeded in the ledger, ${done.length} refund(s) at the provider`];
    }
    if ((row.status === 'failed' || row.status === 'cancelled') && done.length > 0) {
      const why = row.error_code ? ` (${row.error_code}: ${row.error_message ?? ''})` : '';
      return [`${r.refundId} (${r.provider}): ${row.status} in the ledger${why}, refunded at the provider`];
    }
    return [];
  });
  const strangers = [...atProvider.keys()].filter((key) => !ours.has(key)).map((key) => `${key}: refunded, not asked for`);
  const attention = o.ledger.filter((row) => row.status === 'requires_attention');
  const refundedAtProvider = (row: LedgerRow) => {
    const r = o.refunds.find((x) => x.refundId === row.refund_id);
    return r !== undefined && (atProvider.get(`${r.provider}:${r.reference}`)?.length ?? 0) > 0;
  };
  const attentionRefunded = attention.filter(refundedAtProvider).length;
  // Oen can always be asked: each Oen refund left to a person, and whether Oen refunded it.
  const oenAttention = attention.filter((row) => row.provider === 'oen');
  const oenAttentionRefunded = oenAttention.filter(refundedAtProvider).length;
  // Why the Oen ones went to a person, by error code, most first: the report keeps the reasons.
  const byCode = new Map<string, number>();
  for (const row of oenAttention) byCode.set(row.error_code ?? '(none)', (byCode.get(row.error_code ?? '(none)') ?? 0) + 1);
  const oenCodes = [...byCode]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ');
  const failedButRefunded = o.ledger
    .filter((row) => row.status === 'failed' && refundedAtProvider(row))
    .map((row) => `${row.refund_id}: failed (${row.error_code ?? ''}: ${row.error_message ?? ''}), refunded at the provider`);
  const succeeded = o.ledger.filter((row) => row.status === 'succeeded').length;
  const floorBroken = o.refunds.length > 0 && succeeded < Math.ceil(SUCCEEDED_FLOOR * o.refunds.length);

  const outcomeProblems = outcomesAsTheLedgerHasThem(o.ledger, o.outbox, o.destinations);
  const expectingOutcome = o.ledger.filter((row) => FINAL_WITH_OUTCOME.has(row.status)).length;

  const count = (status: string) => o.ledger.filter((row) => row.status === status).length;
  const invariants: Invariant[] = [
    { name: 'no transaction refunded twice at the sandbox', figure: `${twice.length} of ${atProvider.size} refunded references`, violations: twice },
    {
      name: 'no refund request after the refund (no double send)',
      figure: `${doubleSends.length} of ${o.sandboxRequests.length} refund requests reached a refunded transaction or order`,
      violations: doubleSends,
    },
    {
      name: 'failed ⇒ not refunded at the provider, refund by refund',
      figure: `${o.ledger.filter((row) => row.status === 'failed').length} failed, ${failedButRefunded.length} of them refunded`,
      violations: failedButRefunded,
    },
    {
      name: `at least ${Math.round(SUCCEEDED_FLOOR * 100)} % of the refunds succeeded`,
      figure: `${succeeded} of ${o.refunds.length} (${o.refunds.length ? Math.round((succeeded / o.refunds.length) * 1000) / 10 : 0} %)`,
      violations: floorBroken ? [`only ${succeeded} of ${o.refunds.length} succeeded`] : [],
    },
    {
      name: 'every accepted refund settled (requires_attention with a reason)',
      figure: `${accepted.length - unsettled.length} of ${accepted.length} accepted`,
      violations: unsettled,
    },
    {
      name: 'the ledger equals the sandbox, refund by refund',
      figure:
        `${o.refunds.length - mismatched.length} of ${o.refunds.length} agree; ${strangers.length} unknown refunds at the sandbox; ` +
        `requires_attention: ${attentionRefunded} refunded at the provider, ${attention.length - attentionRefunded} not ` +
        `(Oen, checked at the emulator: ${oenAttentionRefunded} refunded, ${oenAttention.length - oenAttentionRefunded} not` +
        `${oenCodes ? `; by code: ${oenCodes}` : ''})`,
      violations: [...mismatched, ...strangers],
    },
    {
      name: 'every end has one outcome event, as the ledger has it, at every destination at least once, in order per refund',
      figure:
        `${expectingOutcome - new Set(outcomeProblems.map((p) => p.refundId)).size} of ${expectingOutcome}; ` +
        `${o.destinations.map((d) => `${d.name} took ${d.deliveries.length}`).join(', ')}; the webhook refused ${o.receiver.refused} (503), sent again`,
      violations: outcomeProblems.map((p) => p.problem),
    },
    nothingAcknowledgedLost(o, accepted),
    ...(o.resolutions ? [{ name: 'each resolution by a person settled as they asked', figure: o.resolutions.figure, violations: o.resolutions.problems }] : []),
    {
      name: 'Temporal came back whole from each fault, and no host of it exited on its own',
      figure: `${o.chaos.temporalFaults.length} faults, ${o.chaos.temporalProblems.length} problems`,
      violations: o.chaos.temporalProblems,
    },
    ...(o.scans?.invariants ?? []),
  ];
  const deliveries = o.refunds.reduce((n, r) => n + r.answers.length, 0);
  const answers = (status: number) => o.refunds.reduce((n, r) => n + r.answers.filter((a) => a === status).length, 0);
  return {
    options: o.options,
    durationMs: o.durationMs,
    figures: [
      [
        'refunds asked for',
        `${o.refunds.length} (Oen ${o.refunds.filter((r) => r.provider === 'oen').length}, MWD ${o.refunds.filter((r) => r.provider === 'mwd').length})`,
      ],
      ['event deliveries', `${deliveries}: 202 ${answers(202)}, 200 (duplicate) ${answers(200)}, other ${deliveries - answers(202) - answers(200)}`],
      [
        'ledger',
        `succeeded ${count('succeeded')}, failed ${count('failed')}, requires_attention ${count('requires_attention')}, cancelled ${count('cancelled')}`,
      ],
      ['refunds at the sandbox', String(o.sandboxRefunds.length)],
      [
        'chaos',
        `${o.chaos.workerKills} worker SIGKILLs, ${o.chaos.apiKills} API SIGKILLs, ${o.chaos.temporalFaults.join(', ') || 'no Temporal fault'}, ` +
          `${o.chaos.brokerFaults?.length ? `${o.chaos.brokerFaults.join(', ')}, ` : ''}${o.chaos.unplannedExits.length} unplanned exits`,
      ],
      ...o.chaos.unplannedExits.map((exit): [string, string] => ['unplanned exit (restarted)', exit]),
      ['outcome signatures refused', String(o.receiver.badSignatures)],
      ...(o.scans ? ([['scanned', o.scans.figures]] as Array<[string, string]>) : []),
      ['duration', `${Math.round(o.durationMs / 1000)} s`],
    ],
    invariants,
    ok: invariants.every((i) => i.violations.length === 0),
  };
}

/**
 * Each refund in a final status has exactly one outcome event in the outbox, of its status; every
 * destination took that event at least once and no other for the refund; and where a refund has
 * more than one, each destination first took them in the outbox's order.
 */
export function outcomesAsTheLedgerHasThem(
  ledger: LedgerRow[],
  outbox: OutboxRow[],
  destinations: Destination[],
): Array<{ refundId: string; problem: string }> {
  const events = new Map<string, OutboxRow[]>();
  for (const row of outbox) events.set(row.subject, [...(events.get(row.subject) ?? []), row]);
  const position = (row: OutboxRow) => (row.position === null ? Infinity : Number(row.position));
  const arrivals = destinations.map((d) => {
    const byRefund = new Map<string, string[]>();
    for (const delivery of d.deliveries) {
      const seen = byRefund.get(delivery.refundId) ?? [];
      if (!seen.includes(delivery.id)) byRefund.set(delivery.refundId, [...seen, delivery.id]);
    }
    return { name: d.name, byRefund };
  });
  return ledger.flatMap((row) => {
    const problem = (text: string) => ({ refundId: row.refund_id, problem: `${row.refund_id}: ${text}` });
    const own = (events.get(row.refund_id) ?? []).sort((a, b) => position(a) - position(b));
    if (!FINAL_WITH_OUTCOME.has(row.status)) return []; // not settled: the settling invariant says so
    const ofStatus = own.filter((e) => e.type === `refund.${row.status}`);
    if (ofStatus.length !== 1) return [problem(`${row.status}, ${ofStatus.length} outcome events of it in the outbox (${own.map((e) => e.type).join(', ')})`)];
    const unsequenced = own.filter((e) => e.position === null);
    if (unsequenced.length > 0) return [problem(`${unsequenced.length} outcome events never given a stream position`)];
    const expected = own.map((e) => e.event_id);
    return arrivals.flatMap(({ name, byRefund }) => {
      const got = byRefund.get(row.refund_id) ?? [];
      if (got.length === 0) return [problem(`${row.status}, never told at ${name}`)];
      const strangers = got.filter((id) => !expected.includes(id));
      if (strangers.length > 0) return [problem(`told at ${name} an event the outbox does not have: ${strangers.join(', ')}`)];
      if (got.length !== expected.length) return [problem(`${name} took ${got.length} of its ${expected.length} outcome events`)];
      if (got.some((id, i) => id !== expected[i])) return [problem(`${name} took its outcome events out of order: ${got.join(', ')}`)];
      return [];
    });
  });
}

/**
 * Nothing acknowledged is lost: every event a broker acknowledged (or the API answered) reached the
 * ledger, and no good event was refused or dead-lettered (the run sends only good ones).
 */
function nothingAcknowledgedLost(o: Observed, accepted: SentRefund[]): Invariant {
  const ledger = new Set(o.ledger.map((row) => row.refund_id));
  const lost = accepted.filter((r) => !ledger.has(r.refundId)).map((r) => `${r.refundId}: acknowledged over ${r.transport}, not in the ledger`);
  const dead = o.deadLetters ? o.deadLetters.amqp + o.deadLetters.nats : 0;
  const deadLetters = dead > 0 ? [`${o.deadLetters?.amqp ?? 0} dead letters on RabbitMQ, ${o.deadLetters?.nats ?? 0} on NATS`] : [];
  const over = (transport: SentRefund['transport']) => o.refunds.filter((r) => r.transport === transport);
  const published = (transport: SentRefund['transport']) => {
    const sent = over(transport);
    const acked = sent.filter((r) => (r.acknowledged ?? 0) > 0);
    const copies = acked.reduce((n, r) => n + (r.acknowledged ?? 0), 0);
    return `${transport === 'amqp' ? 'RabbitMQ' : 'NATS'} ${acked.length} of ${sent.length} acknowledged (${copies} publishes)`;
  };
  const brokers = o.refunds.some((r) => r.transport !== 'http') ? `; ${published('amqp')}, ${published('nats')}` : '';
  return {
    name: 'nothing acknowledged lost: every accepted event in the ledger, no good event refused or dead-lettered',
    figure: `${accepted.length - lost.length} of ${accepted.length} accepted in the ledger${brokers}; ${o.refusals.length} refused, ${dead} dead letters`,
    violations: [...lost, ...o.refusals, ...deadLetters],
  };
}

export function formatReport(report: ChaosReport): string {
  const width = Math.max(...report.figures.map(([label]) => label.length), ...report.invariants.map((i) => i.name.length));
  const lines = [
    `refundflow chaos run — ${report.options.refunds} refunds, seed ${report.options.seed}, ${report.options.workers} workers, ${report.options.concurrency} senders`,
    '',
    ...report.figures.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`),
    '',
    'Invariants',
    ...report.invariants.flatMap((i) => [
      `  ${i.violations.length === 0 ? 'PASS' : 'FAIL'}  ${i.name.padEnd(width)}  ${i.figure}`,
      ...i.violations.slice(0, 10).map((v) => `          ${v}`),
    ]),
    '',
    report.ok ? 'All invariants hold.' : 'INVARIANTS VIOLATED.',
  ];
  return lines.join('\n');
}
