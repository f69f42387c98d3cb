import type { Config } from '../../config.js';
import { startAmqpIntake } from './amqp.js';
import type { BrokerIntakeDeps, RunningIntake } from './intake-deps.js';
import { startNatsIntake } from './nats.js';

export { IntakeMonitor } from './monitor.js';
export type { RunningIntake } from './intake-deps.js';

/**
 * The broker intakes the configuration turns on: RabbitMQ with AMQP_URL, NATS JetStream with
 * NATS_URL. Each connects (and reconnects) in the background: the API serves, and its HTTP intake
 * takes events, whether or not a broker is there; /readyz says which is down.
 */
export function startBrokerIntakes(config: Config, deps: BrokerIntakeDeps): RunningIntake[] {
  const intakes: RunningIntake[] = [];
  if (config.AMQP_URL) {
    intakes.push(startAmqpIntake({ url: config.AMQP_URL, queue: config.AMQP_QUEUE, deadLetterExchange: config.AMQP_DEAD_LETTER_EXCHANGE }, deps));
  }
  if (config.NATS_URL) {
    intakes.push(
      startNatsIntake(
        {
          urls: config.NATS_URL,
          stream: config.NATS_STREAM,
          subject: config.NATS_SUBJECT,
          consumer: config.NATS_CONSUMER,
          deadLetterSubject: config.NATS_DEAD_LETTER_SUBJECT,
        },
        deps,
      ),
    );
  }
  return intakes;
}
