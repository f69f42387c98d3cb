import type { Logger } from 'pino';
import type { BrokerIntakeName } from '../../domain/intakes.js';
import type { EventIntake } from '../intake.js';
import type { IntakeMonitor } from './monitor.js';

/** What a broker intake takes from the API process. */
export interface BrokerIntakeDeps {
  /** The API's own intake: the one path after the transport. */
  intake: EventIntake;
  monitor: IntakeMonitor;
  log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
  /** Whether a message without signature headers is refused (INGEST_WEBHOOK_SECRET set); present ones are always checked. */
  signatureRequired: boolean;
}

export interface RunningIntake {
  intake: BrokerIntakeName;
  /** What it consumes, and where (no password), for the banner and the logs. */
  where: string;
  /** Stops consuming, lets the messages in hand finish (acked, or left to the broker), and closes the connection. */
  close(): Promise<void>;
}

/** A broker URL as it may be shown: its password, or a NATS token (a user without a password), as "…". */
export function withoutPassword(url: string): string {
  const { protocol, username, password } = new URL(url);
  if (password !== '') return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:…@');
  if (username !== '' && protocol !== 'amqp:' && protocol !== 'amqps:') return url.replace(/\/\/[^@/]*@/, '//…@');
  return url;
}

/** A header value as text: a string, a number or a boolean as written, bytes as UTF-8; undefined for anything else. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
