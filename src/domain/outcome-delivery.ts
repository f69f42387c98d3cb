/**
 * How an outcome event is offered again while its receiver does not take it: 1 s after the first
 * refusal, doubling, at most a minute apart, until it is taken. The API's relay delivers the outbox
 * so (src/outcomes/relay.ts), and a run recorded before the outbox retried its delivery activity so
 * (profiles.delivery.untilDelivered, src/workflows/activity-options.ts).
 */
export const REDELIVERY = { firstMs: 1_000, coefficient: 2, maximumMs: 60_000 } as const;
