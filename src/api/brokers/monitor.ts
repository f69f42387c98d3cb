import type { Logger } from 'pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { intakeTitles, type BrokerIntakeName } from '../../domain/intakes.js';
import { apiMetricNames } from '../metrics.js';

/** Why an intake is down before its first connection. */
const NOT_CONNECTED_YET = 'not connected yet';

/** What became of one broker message: acked (accepted, or a duplicate), dead-lettered (refused), or left for redelivery (failed). */
export type MessageResult = 'accepted' | 'duplicate' | 'dead_lettered' | 'failed';

interface IntakeState {
  where: string;
  up: boolean;
  /** When it last went up or down. */
  since: Date;
  /** Why it is down. */
  error?: string;
  /** Whether it has been up at all: its first connection is "consuming", a later one "back". */
  wasUp: boolean;
}

/**
 * The broker intakes of one API process, as /readyz, /metrics and the logs tell them: each is down
 * until it consumes, down again while its broker is away (one warning line), and back once it
 * consumes again (one line).
 */
export class IntakeMonitor {
  /** The API's /metrics serves this beside its own (src/api/metrics.ts). */
  readonly registry = new Registry();
  private readonly states = new Map<BrokerIntakeName, IntakeState>();
  private readonly messages: Counter<'intake' | 'result'>;

  constructor(private readonly log: Pick<Logger, 'info' | 'warn'>) {
    const states = this.states;
    new Gauge({
      name: apiMetricNames.intakeUp,
      help: "1 while an intake takes events: http always (the API answers), a broker's while it consumes; 0 while its broker is away or refuses it (it reconnects by itself)",
      labelNames: ['intake'] as const,
      registers: [this.registry],
      collect() {
        // HTTP's is there for every API, so that each API's intakes are listed, and the series the alert reads always exists.
        this.set({ intake: 'http' }, 1);
        for (const [intake, state] of states) this.set({ intake }, state.up ? 1 : 0);
      },
    });
    this.messages = new Counter({
      name: apiMetricNames.intakeMessages,
      help: 'Broker messages handled, by intake and result: accepted and duplicate were acked, dead_lettered refused (kept, published to the dead-letter destination, acked), failed left for redelivery',
      labelNames: ['intake', 'result'] as const,
      registers: [this.registry],
    });
  }

  /** An intake that is configured: down until it first consumes. */
  add(intake: BrokerIntakeName, where: string): void {
    this.states.set(intake, { where, up: false, since: new Date(), error: NOT_CONNECTED_YET, wasUp: false });
    for (const result of ['accepted', 'duplicate', 'dead_lettered', 'failed'] as const) this.messages.inc({ intake, result }, 0);
  }

  /** It consumes (again). */
  up(intake: BrokerIntakeName): void {
    const state = this.states.get(intake);
    if (!state || state.up) return;
    const title = intakeTitles[intake];
    if (state.wasUp) this.log.info(`${title} intake back: consuming ${state.where} again, after ${seconds(state.since)} s down`);
    else this.log.info(`${title} intake consuming ${state.where}`);
    Object.assign(state, { up: true, since: new Date(), wasUp: true, error: undefined });
  }

  /** Its broker went away or refused it: it reconnects by itself, and messages wait in the broker meanwhile. One line when it goes down (or first fails to connect). */
  down(intake: BrokerIntakeName, error: string): void {
    const state = this.states.get(intake);
    if (!state) return;
    if (state.up || state.error === NOT_CONNECTED_YET) {
      this.log.warn(`${intakeTitles[intake]} intake down (${state.where}): ${error}; reconnecting with backoff (messages wait in the broker, nothing is lost)`);
    }
    if (state.up) state.since = new Date();
    Object.assign(state, { up: false, error });
  }

  count(intake: BrokerIntakeName, result: MessageResult): void {
    this.messages.inc({ intake, result });
  }

  isUp(intake: BrokerIntakeName): boolean {
    return this.states.get(intake)?.up ?? false;
  }

  /** One /readyz check per configured intake, `intake:<name>`. */
  checks(): Array<{ name: string; status: 'ok' | 'failing'; error?: string }> {
    return [...this.states].map(([intake, state]) =>
      state.up
        ? { name: `intake:${intake}`, status: 'ok' as const }
        : {
            name: `intake:${intake}`,
            status: 'failing' as const,
            error: `${intakeTitles[intake]} (${state.where}) down since ${state.since.toISOString()}: ${state.error}`,
          },
    );
  }
}

const seconds = (since: Date) => Math.round((Date.now() - since.getTime()) / 1000);
