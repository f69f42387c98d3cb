import { randomUUID } from 'node:crypto';
import type { Connection, Envelope, PublisherProps } from 'rabbitmq-client';

/** A header of each message while it is published: a return is matched to its send by it. */
const PUBLISH_ID = 'refundflow-publish-id';

/** Publishes with confirms, and says whether a queue took the message. */
export interface RoutedPublisher {
  /** Resolves true once the broker confirmed a message some queue took; false when it returned it as unroutable (mandatory). */
  send(envelope: Envelope, body: Buffer): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * A publisher with confirms whose every message is mandatory, so that one no queue would keep is
 * known (and not taken for delivered): what the intake's dead letters and the relay's outcome events
 * need. rabbitmq-client 5 ignores an onReturn option (its types list one): a return comes only as
 * the publisher's 'basic.return' event. RabbitMQ sends a return before the confirm it belongs to,
 * and the client emits the return on setImmediate after the confirm has resolved: one more turn
 * and it is here, if there is one.
 */
export function routedPublisher(connection: Connection, props: Omit<PublisherProps, 'confirm'> = {}): RoutedPublisher {
  const returned = new Set<string>();
  const publisher = connection.createPublisher({ ...props, confirm: true });
  publisher.on('basic.return', (message) => {
    const id: unknown = message.headers?.[PUBLISH_ID];
    if (typeof id === 'string') returned.add(id);
  });
  return {
    async send(envelope, body) {
      const id = randomUUID();
      await publisher.send({ ...envelope, mandatory: true, headers: { ...envelope.headers, [PUBLISH_ID]: id } }, body);
      await new Promise((resolve) => setImmediate(resolve));
      return !returned.delete(id);
    },
    close: () => publisher.close(),
  };
}
