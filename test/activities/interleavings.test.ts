import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMwdActivities } from '../../src/activities/mwd.js';
import { createOenActivities } from '../../src/activities/oen.js';
import type { MwdRefundRequested, OenRefundRequested, RefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { ProviderOutcome } from '../../src/domain/provider-call.js';
import type { RecordedOutcome } from '../../src/activities/submission.js';
import type { Database } from '../../src/ledger/database.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { ProviderError } from '../../src/providers/errors.js';
import type { MwdClient } from '../../src/providers/mwd/client.js';
import type { OenClient } from '../../src/providers/oen/client.js';
import { startSandboxes, type RunningSandboxes } from '../../src/sandbox/index.js';
import { randomHid } from '../../src/providers/oen/hid.js';
import { freshDatabase, postgresAvailable } from '../helpers/databases.js';
import { sandboxClients } from '../helpers/engine.js';

/**
 * Issue 7, part 5. Temporal starts an activity's retry when an attempt times out, but it cannot stop
 * the timed-out attempt: that one may still be running, beside its retry, on a worker that is slow
 * or cut off. fast-check's scheduler orders every step both attempts take — each ledger call, each
 * provider request, each answer's arrival, a retry's start, the stale attempt's cancellation — in
 * random interleavings, over the real activities, the real ledger (PostgreSQL when it is here, else
 * PGlite) and the real emulators over HTTP, with provider faults drawn per request.
 *
 * Whatever the order: never two refunds at the provider; MWD, which cannot be asked, is never sent
 * the refund while an earlier send's outcome is unknown or a success; and the result Temporal keeps
 * (the latest attempt's) agrees with the provider — `succeeded` only with the provider's refund and
 * its reference, a final failure only without one.
 */
const RUNS = Number(process.env.INTERLEAVING_RUNS ?? 300);
const MAX_ATTEMPTS = 4;
/** Thousands of attempts fail on purpose here; only errors are worth a line. */
const quiet = new DefaultLogger('ERROR');

type Fault = 'none' | 'f0001' | 'http500' | 'commitThenDrop';

/** What Temporal does with an attempt's end. */
type Ending =
  | { kind: 'outcome'; outcome: ProviderOutcome }
  | { kind: 'final-failure'; type: string; message: string }
  | { kind: 'retryable-failure'; type: string; message: string }
  | { kind: 'cancelled' };

function endingOf(settled: PromiseSettledResult<ProviderOutcome>): Ending {
  if (settled.status === 'fulfilled') return { kind: 'outcome', outcome: settled.value };
  const err: unknown = settled.reason;
  if (err instanceof ApplicationFailure) {
    return { kind: err.nonRetryable ? 'final-failure' : 'retryable-failure', type: err.type ?? 'Error', message: err.message };
  }
  if (err instanceof Error && err.name === 'CancelledFailure') return { kind: 'cancelled' };
  // Anything else thrown by an activity is retried by Temporal.
  return { kind: 'retryable-failure', type: err instanceof Error ? err.name : 'unknown', message: String(err) };
}

/** One refund request that reached the provider, and what the attempt that sent it was told. */
interface Send {
  attempt: number;
  fault: Fault;
  answer: 'success' | 'unknown' | 'refused';
  /** Another attempt had sent too, past its own check, and was still running when this one sent. */
  overlapping: boolean;
}

/**
 * The world of one run: every ledger call and provider request is a step the scheduler releases one
 * at a time, and the next is picked only once the last one's I/O is over — so a seed replays the same
 * interleaving, and a counterexample shrinks.
 */
class World {
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  readonly sends: Send[] = [];
  /** The attempts still running (runAttempts keeps it). */
  readonly running = new Set<number>();

  constructor(
    readonly s: fc.Scheduler,
    private readonly faults: Fault[],
  ) {}

  /** A gate the scheduler opens, labelled with the attempt that waits at it. */
  gate(what: string): Promise<void> {
    return this.s.schedule(Promise.resolve(), `attempt ${currentAttempt()}: ${what}`).then(() => undefined);
  }

  async step<T>(what: string, io: () => Promise<T>): Promise<T> {
    await this.gate(what);
    this.inflight += 1;
    try {
      return await io();
    } finally {
      this.inflight -= 1;
      if (this.inflight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  nextFault(): Fault {
    return this.faults.shift() ?? 'none';
  }

  /** Every step's I/O over, and every continuation run up to its next gate. */
  async quiet(): Promise<void> {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.inflight === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.inflight === 0) return;
      } else {
        await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      }
    }
  }
}

function currentAttempt(): number | string {
  try {
    return Context.current().info.attempt;
  } catch {
    return '?';
  }
}

/** The ledger as the activities see it, each call a step. */
function steppedLedger(ledger: RefundLedger, world: World): RefundLedger {
  return new Proxy(ledger, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => world.step(`ledger.${String(property)}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
    },
  });
}

/**
 * A provider refund as a step at the emulator (the fault drawn for it set just before), then its
 * answer's arrival as a gate of its own: another attempt may act between the two.
 */
async function providerRefund<T>(world: World, emulator: RunningSandboxes['oen'] | RunningSandboxes['mwd'], label: string, send: () => Promise<T>): Promise<T> {
  const fault = world.nextFault();
  const answered = await world.step(`${label} (${fault})`, async () => {
    emulator.core.faults.set(fault === 'none' ? {} : { refund: { next: [fault] } });
    const before = emulator.core.requests.refund;
    const result = await send().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    if (emulator.core.requests.refund > before) {
      const unknown = !result.ok && result.error instanceof ProviderError && result.error.kind === 'unknown';
      const attempt = Number(currentAttempt());
      const overlapping = world.sends.some((earlier) => earlier.attempt !== attempt && world.running.has(earlier.attempt));
      world.sends.push({ attempt, fault, answer: result.ok ? 'success' : unknown ? 'unknown' : 'refused', overlapping });
    }
    return result;
  });
  await world.gate(`${label}: the answer arrives`);
  if (!answered.ok) throw answered.error;
  return answered.value;
}

function steppedOen(oen: OenClient, world: World, sandboxes: RunningSandboxes): OenClient {
  return new Proxy(oen, {
    get(target, property, receiver) {
      if (property === 'refund') {
        return (...args: Parameters<OenClient['refund']>) => providerRefund(world, sandboxes.oen, 'Oen refund', () => target.refund(...args));
      }
      if (property === 'listTransactions') {
        return (...args: Parameters<OenClient['listTransactions']>) => {
          const fault = world.nextFault();
          const listFault = fault === 'commitThenDrop' ? 'none' : fault;
          return world.step(`Oen list (${listFault})`, () => {
            sandboxes.oen.core.faults.set(listFault === 'none' ? {} : { listTransactions: { next: [listFault] } });
            return target.listTransactions(...args);
          });
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

function steppedMwd(mwd: MwdClient, world: World, sandboxes: RunningSandboxes): MwdClient {
  return new Proxy(mwd, {
    get(target, property, receiver) {
      if (property === 'refund') {
        return (...args: Parameters<MwdClient['refund']>) => providerRefund(world, sandboxes.mwd, 'MWD refund', () => target.refund(...args));
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

interface Attempt {
  number: number;
  env: MockActivityEnvironment;
  done: boolean;
  ending?: Ending;
}

/**
 * Temporal's side: attempt 1 starts; while the current attempt runs, its timeout may fire (a step),
 * which starts the next attempt beside it and may later cancel the stale one (a step); an attempt
 * ending in a retryable failure is followed by the next. The latest attempt's ending is the one kept.
 */
async function runAttempts(
  world: World,
  submit: (request: RefundRequested) => Promise<ProviderOutcome>,
  request: RefundRequested,
  timeouts: boolean[],
  cancelStale: boolean[],
): Promise<{ kept: Ending | 'retries exhausted'; attempts: Attempt[] }> {
  const attempts: Attempt[] = [];
  let kept: Ending | 'retries exhausted' | undefined;

  const start = (number: number): void => {
    const env = new MockActivityEnvironment(
      {
        attempt: number,
        activityType: request.provider === 'oen' ? 'submitOenRefund' : 'submitMwdRefund',
        workflowExecution: { workflowId: `refund-${request.refundId}`, runId: 'run-1' },
      },
      { logger: quiet },
    );
    const attempt: Attempt = { number, env, done: false };
    attempts.push(attempt);
    world.running.add(number);
    const isCurrent = () => attempts.at(-1) === attempt;

    const body = async (): Promise<ProviderOutcome> => {
      try {
        return await submit(request);
      } finally {
        attempt.done = true;
        world.running.delete(number);
      }
    };
    void env
      .run<[], ProviderOutcome, typeof body>(body)
      .then(
        (value: ProviderOutcome) => ({ status: 'fulfilled' as const, value }),
        (reason: unknown) => ({ status: 'rejected' as const, reason }),
      )
      .then((settled) => {
        attempt.ending = endingOf(settled);
        if (!isCurrent() || kept !== undefined) return; // a stale attempt's result: Temporal drops it
        if (attempt.ending.kind === 'retryable-failure') {
          if (number < MAX_ATTEMPTS) start(number + 1);
          else kept = 'retries exhausted';
        } else {
          kept = attempt.ending;
        }
      });

    if (timeouts[number - 1] === true) {
      void world.s.schedule(Promise.resolve(), `attempt ${number} times out`).then(() => {
        if (!isCurrent() || attempt.ending !== undefined || kept !== undefined) return;
        if (number >= MAX_ATTEMPTS) {
          kept = 'retries exhausted';
        } else {
          start(number + 1);
        }
        if (cancelStale[number - 1] === true) {
          void world.s.schedule(Promise.resolve(), `attempt ${number} is told it was cancelled`).then(() => env.cancel('TIMED_OUT'));
        }
      });
    }
  };

  start(1);
  for (;;) {
    await world.quiet();
    if (kept !== undefined && attempts.every((a) => a.done && a.ending !== undefined)) break;
    if (world.s.count() === 0)
      throw new Error(
        `stuck: no step left to take, yet the attempts have not ended\n${world.s
          .report()
          .map((t) => t.label)
          .join('\n')}`,
      );
    await world.s.waitNext(1);
  }
  if (kept === undefined) throw new Error('no attempt was kept');
  return { kept, attempts };
}

const oenFaults = fc.array(fc.constantFrom<Fault>('none', 'none', 'f0001', 'http500', 'commitThenDrop'), { maxLength: 8 });
const mwdFaults = fc.array(fc.constantFrom<Fault>('none', 'none', 'http500', 'commitThenDrop'), { maxLength: 6 });
const flags = fc.array(fc.boolean(), { minLength: MAX_ATTEMPTS, maxLength: MAX_ATTEMPTS });

describe('a timed-out attempt still running beside its retry', () => {
  let sandboxes: RunningSandboxes;
  let db: Database;
  let ledger: RefundLedger;

  beforeAll(async () => {
    sandboxes = await startSandboxes({ oenPort: 0, mwdPort: 0 });
    db = await freshDatabase((await postgresAvailable()) ? 'postgres' : 'pglite');
    ledger = new RefundLedger(db);
  });
  afterAll(async () => {
    await sandboxes.close();
    await db.close();
  });

  /** The refund opened and moved to `submitting`, as the workflow does before its provider call. */
  async function opened(request: RefundRequested): Promise<void> {
    await ledger.open(request, `refund-${request.refundId}`);
    await ledger.transition(request.refundId, 'submitting');
  }

  /**
   * The end the attempts recorded themselves (`recordEnd`, as a refund run asks): `succeeded` only with
   * the provider's one refund, never `failed` (a provider call records no refusal), and the kept
   * attempt answers the ledger's record: its own end, or the one a stale attempt recorded first. Only
   * a stale attempt's success may follow it; the run's end is never left unrecorded.
   */
  async function expectRecordedEnd(refundId: string, kept: Ending | 'retries exhausted', refunds: number, why: string, askable: boolean): Promise<void> {
    const end = await ledger.get(refundId);
    expect(end?.status, `the attempts recorded failed\n${why}`).not.toBe('failed');
    if (end?.status === 'succeeded') expect(refunds, `recorded succeeded without the provider's refund\n${why}`).toBe(1);
    if (kept !== 'retries exhausted' && kept.kind === 'outcome') {
      const { record } = kept.outcome as RecordedOutcome;
      expect(record, `the kept outcome answers no record\n${why}`).toBeDefined();
      // The run closes with the ledger's end as the kept attempt found it; only a success a stale
      // attempt had from the provider (the one refund, above) may follow it.
      if (end?.status !== record?.status) expect(end?.status, `the ledger moved on from the kept attempt's record\n${why}`).toBe('succeeded');
    }
    // Oen is asked: a refund there is recorded as the success it is. (MWD cannot be: a send never
    // answered is a person's, refunded or not.)
    if (askable && refunds === 1 && kept !== 'retries exhausted' && kept.kind === 'outcome')
      expect(end?.status, `Oen refunded, yet the recorded end is not a success\n${why}`).toBe('succeeded');
  }

  function describeRun(world: World, result: { kept: Ending | 'retries exhausted'; attempts: Attempt[] }): string {
    const endings = result.attempts.map((a) => `attempt ${a.number}: ${JSON.stringify(a.ending)}`).join('\n');
    return `kept: ${JSON.stringify(result.kept)}\n${endings}\nsends: ${JSON.stringify(world.sends)}\nsteps, in the order taken:\n${world.s
      .report()
      .filter((task) => task.status !== 'pending')
      .map((task) => `  ${task.label}`)
      .join('\n')}`;
  }

  it('Oen: never two refunds, and the kept result agrees with Oen', async () => {
    let sentTwice = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), oenFaults, flags, flags, async (s, faults, timeouts, cancelStale) => {
        const world = new World(s, [...faults]);
        const hid = randomHid();
        const request: OenRefundRequested = {
          refundId: `RF-${randomUUID()}`,
          provider: 'oen',
          orderId: `ORDER-${randomUUID().slice(0, 8)}`,
          transactionHid: hid,
          amount: 1000,
        };
        sandboxes.oen.core.seed({ transactions: [{ id: hid, orderId: request.orderId, amount: 1000 }] });
        await opened(request);
        const { submitOenRefund } = createOenActivities({
          oen: steppedOen(sandboxClients(sandboxes).oen, world, sandboxes),
          ledger: steppedLedger(ledger, world),
        });

        const result = await runAttempts(world, (r) => submitOenRefund(r as OenRefundRequested, 600_000, { recordEnd: true }), request, timeouts, cancelStale);
        sandboxes.oen.core.faults.reset();
        if (world.sends.some((send) => send.overlapping)) sentTwice += 1;
        const refunds = sandboxes.oen.core.refunds.filter((r) => r.reference === hid);
        const why = describeRun(world, result);

        expect(refunds.length, `two refunds of ${hid}\n${why}`).toBeLessThanOrEqual(1);
        const { kept } = result;
        if (kept !== 'retries exhausted' && kept.kind === 'outcome' && kept.outcome.outcome === 'succeeded') {
          expect(refunds, `succeeded without Oen's refund\n${why}`).toHaveLength(1);
          expect(kept.outcome.providerReference).toBe(hid);
        }
        if (kept !== 'retries exhausted' && kept.kind === 'final-failure') {
          expect(refunds, `a final failure while Oen refunded\n${why}`).toHaveLength(0);
        }
        // Oen answers every question: a refund there is never left kept as a failure or in doubt by an
        // attempt. Retries exhausted is the workflow's requires_attention (providerCallEnd), checked
        // like any: at most one refund (above), either way at Oen — the last attempt may have timed
        // out still running, and refunded after; reconciliation settles it on Oen's evidence.
        if (refunds.length === 1 && kept !== 'retries exhausted') {
          expect(kept.kind === 'outcome' && kept.outcome.outcome, `Oen refunded, yet the kept result is not a success\n${why}`).toBe('succeeded');
        }
        await expectRecordedEnd(request.refundId, kept, refunds.length, why, true);
      }),
      { numRuns: RUNS },
    );
    // The generator reaches the race that matters: two attempts running at once, both past their
    // check, both sending (counted only then: a retry that sends after the earlier attempt ended is
    // not that race).
    expect(sentTwice).toBeGreaterThan(0);
  });

  it('MWD: never sent again while a send is unanswered or answered with success, and the kept result agrees with MWD', async () => {
    let sentTwice = 0;
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), mwdFaults, flags, flags, async (s, faults, timeouts, cancelStale) => {
        const world = new World(s, [...faults]);
        const orderId = `2026${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        const cardToken = `tok-${randomUUID()}`;
        const request: MwdRefundRequested = { refundId: `RF-${randomUUID()}`, provider: 'mwd', orderId, amount: 550, cardToken };
        sandboxes.mwd.core.seed({ orders: [{ orderId, cardToken, amount: 550 }] });
        await opened(request);
        const { submitMwdRefund } = createMwdActivities({
          mwd: steppedMwd(sandboxClients(sandboxes).mwd, world, sandboxes),
          ledger: steppedLedger(ledger, world),
        });

        const result = await runAttempts(world, (r) => submitMwdRefund(r as MwdRefundRequested, 600_000, { recordEnd: true }), request, timeouts, cancelStale);
        sandboxes.mwd.core.faults.reset();
        const refunds = sandboxes.mwd.core.refunds.filter((r) => r.orderId === orderId);
        const why = describeRun(world, result);
        if (world.sends.length > 1) sentTwice += 1;

        expect(refunds.length, `two refunds of ${orderId}\n${why}`).toBeLessThanOrEqual(1);
        world.sends.forEach((send, i) => {
          const blind = world.sends.slice(0, i).find((earlier) => earlier.answer !== 'refused');
          expect(blind, `attempt ${send.attempt} sent again after ${JSON.stringify(blind)}\n${why}`).toBeUndefined();
        });
        const { kept } = result;
        if (kept !== 'retries exhausted' && kept.kind === 'outcome' && kept.outcome.outcome === 'succeeded') {
          expect(refunds, `succeeded without MWD's refund\n${why}`).toHaveLength(1);
          expect(kept.outcome.providerReference).toBe(refunds[0]?.providerReference);
        }
        if (kept !== 'retries exhausted' && kept.kind === 'final-failure') {
          expect(refunds, `a final failure while MWD refunded\n${why}`).toHaveLength(0);
        }
        await expectRecordedEnd(request.refundId, kept, refunds.length, why, false);
      }),
      { numRuns: RUNS },
    );
    // The generator reaches the case that matters: a send answered "not refunded", then a second one.
    expect(sentTwice).toBeGreaterThan(0);
  });
});
