import axios from 'axios';
import { Signer } from '../webhooks/signing.js';
import type { OutcomeCloudEvent } from './cloud-event.js';

/**
 * A place outcome events go: the webhook (OUTCOME_WEBHOOK_URL), and, when configured, a broker.
 * `send` resolves once the destination has taken the event, and throws, saying why, when it has not
 * (the relay sends it again). Every destination gets the same event with the same id.
 */
export interface OutcomeDestination {
  /** Its name in the ledger (outcome_destinations) and in messages: `webhook`, `amqp`, `nats`. */
  readonly name: string;
  send(event: OutcomeCloudEvent, body: string): Promise<void>;
  close?(): Promise<void>;
}

/** The structured-mode body every destination sends (and GET /v1/outcomes shows the same event). */
export const outcomeEventBody = (event: OutcomeCloudEvent): string => JSON.stringify(event);

/**
 * POSTs each event as a signed CloudEvent (Standard Webhooks headers over the body). Any answer but
 * 2xx, a redirect included, or none within the timeout, is a failed delivery.
 */
export function webhookDestination(target: { url: string; secret: string; timeoutMs?: number }): OutcomeDestination {
  const signer = new Signer(target.secret);
  return {
    name: 'webhook',
    async send(event, body) {
      const response = await axios.post(target.url, body, {
        // application/json, as the runs' own delivery sent it before the outbox.
        headers: { 'content-type': 'application/json', ...signer.sign(event.id, body) },
        timeout: target.timeoutMs ?? 10_000,
        validateStatus: () => true,
        maxRedirects: 0,
      });
      if (response.status < 200 || response.status >= 300) throw new Error(`the outcome receiver answered HTTP ${response.status}`);
    },
  };
}
