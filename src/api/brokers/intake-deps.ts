import type { Logger } from 'pino';
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
  /** What it consumes, and where (no password), for the banner and the logs. */
  where: string;
  /** Stops consuming, lets the messages in hand finish (acked, or left to the broker), and closes the connection. */
  close(): Promise<void>;
}

/** A broker URL as it may be shown: its password, or a NATS token, left out. */
export function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '…';
  else if (parsed.username !== '' && parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') parsed.username = '…';
  return parsed.toString().replace(/\/$/, '');
}

/** A header value as text: a string, a number or a boolean as written, bytes as UTF-8; undefined for anything else. */
export function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}
