/**
 * The doors events come in by (docs/api.md): the HTTP API's POST /v1/events, always, and the broker
 * intakes, each on when configured. The ledger keeps which one brought each event and each refusal;
 * the API's metrics and /readyz name the broker intakes by these names.
 */
export const intakeNames = ['http', 'amqp', 'nats'] as const;
export type IntakeName = (typeof intakeNames)[number];

/** The broker intakes: consumers that ack, dead-letter or leave a message for redelivery. */
export type BrokerIntakeName = Exclude<IntakeName, 'http'>;

/** How an intake is named to people (logs, the banner, /readyz errors). */
export const intakeTitles: Record<IntakeName, string> = { http: 'HTTP', amqp: 'RabbitMQ', nats: 'NATS JetStream' };
