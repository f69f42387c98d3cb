import { createHash } from 'node:crypto';

/** The hashes the intake keeps: of a body as sent (a re-sent event is the same event), and of a request (a refund id asks one thing). */

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Key order does not change what a request means: hash it with sorted keys. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

/**
 * What an accepted request asks, as a hash: the intake keeps it (refund_requests) and the gate
 * (./acceptance.ts) compares a run's input with it, so both must hash the same way.
 */
export function acceptedRequestHash(data: unknown): string {
  return sha256(canonicalJson(data));
}
