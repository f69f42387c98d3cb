import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { connectionHint, describeTemporalConnection, type TemporalConnection } from './temporal-connection.js';

/**
 * Connecting to Temporal as src/wiring/temporal-connection.ts describes, with an error that says
 * where, how, and what to change when the connection fails: the SDK's own message ("transport
 * error", a TLS alert's name) is kept at the end, but does not tell an operator which setting is
 * wrong. No secret is in either (the SDK's messages carry none).
 */
export class TemporalUnreachableError extends Error {
  override readonly name = 'TemporalUnreachableError';
}

function unreachable(err: unknown, connection: TemporalConnection): TemporalUnreachableError {
  const message = err instanceof Error ? err.message : String(err);
  const hint = connectionHint(message, connection);
  return new TemporalUnreachableError(`cannot connect to Temporal at ${describeTemporalConnection(connection)}: ${hint ? `${hint} (${message})` : message}`);
}

/** A worker's connection, or a TemporalUnreachableError saying why not. */
export async function connectNative(connection: TemporalConnection): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect(connection.nativeConnectionOptions);
  } catch (err) {
    throw unreachable(err, connection);
  }
}

/** A client's connection, or a TemporalUnreachableError saying why not. */
export async function connectClient(connection: TemporalConnection, extra: { connectTimeout?: number } = {}): Promise<Connection> {
  try {
    return await Connection.connect({ ...connection.connectionOptions, ...extra });
  } catch (err) {
    throw unreachable(err, connection);
  }
}
