import type { Queryable } from '../../src/ledger/database.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import type { SandboxRefund } from '../../src/sandbox/server.js';
import type { SentRefund } from './invariants.js';

/**
 * After the drain, people settle some of the refunds left to them, as the emulators show each one
 * (what a person would read in the provider's back office): through POST /v1/refunds/:id/resolve,
 * Oen's by an operator (the engine asks Oen first), MWD's by an approver (their word and evidence).
 * Each resolved refund then has a second outcome event after its `refund.requires_attention`, so the
 * invariant "in order per refund" has pairs to check at every destination, not one event each.
 */
export interface Resolutions {
  /** What each resolution asked for and how it ended, counted. */
  figure: string;
  /** A resolution the API kept refusing, or one that never settled: the refund and the last answer. */
  problems: string[];
  /** The API keys the people used, for the secret scan. */
  keys: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function resolveSome(options: {
  db: Queryable;
  apiUrl: string;
  refunds: SentRefund[];
  atProvider: SandboxRefund[];
  /** At most this many, the first in refund order. */
  limit: number;
}): Promise<Resolutions> {
  const { db, apiUrl } = options;
  const { rows } = await db.query<{ refund_id: string }>("SELECT refund_id FROM refunds WHERE status = 'requires_attention' ORDER BY refund_id");
  const waiting = new Set(rows.map((row) => row.refund_id));
  const chosen = options.refunds.filter((r) => waiting.has(r.refundId)).slice(0, options.limit);
  if (chosen.length === 0) return { figure: 'none left to a person', problems: [], keys: [] };

  const keys = new ApiKeys(db);
  const operator = (await keys.add('chaos-operator', 'operator', 'chaos run', { person: 'olga' })).key;
  const approver = (await keys.add('chaos-approver', 'approver', 'chaos run', { person: 'ann' })).key;
  const results = { succeeded: 0, failed: 0 };
  const problems: string[] = [];
  for (const r of chosen) {
    const done = options.atProvider.find((x) => x.provider === r.provider && x.reference === r.reference);
    const outcome = done ? ('succeeded' as const) : ('failed' as const);
    const body = done
      ? {
          outcome,
          providerReference: r.provider === 'oen' ? r.reference : done.providerReference,
          evidence: 'chaos: the emulator lists it refunded',
        }
      : { outcome, evidence: 'chaos: the emulator has no refund of it' };
    const token = r.provider === 'oen' ? operator : approver;
    let last = '';
    // Oen's transaction list fails now and then under the run's faults (503 provider_unreachable): ask again.
    for (let attempt = 1; attempt <= 20; attempt += 1) {
      const response = await fetch(`${apiUrl}/v1/refunds/${r.refundId}/resolve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).catch((err: unknown) => ({ status: 0, text: () => Promise.resolve(String(err)) }));
      last = `${response.status} ${(await response.text()).slice(0, 300)}`;
      if (response.status === 200 || response.status === 202) break;
      await sleep(1_000); // a person's pause before they press the button again
    }
    // A 202 is still running: the ledger says when it is done.
    const settled = await settledAs(db, r.refundId, 60_000);
    if (settled === outcome) results[outcome] += 1;
    else problems.push(`${r.refundId} (${r.provider}): resolved as ${outcome}, the ledger says ${settled}; last answer ${last}`);
  }
  return {
    figure: `${chosen.length} of ${waiting.size} requires_attention resolved by a person: ${results.succeeded} succeeded, ${results.failed} failed`,
    problems,
    keys: [operator, approver],
  };
}

/** The refund's status once it has left requires_attention, or the status it still has after `timeoutMs`. */
async function settledAs(db: Queryable, refundId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ status: string }>('SELECT status FROM refunds WHERE refund_id = $1', [refundId]);
    const status = rows[0]?.status ?? 'missing';
    if (status !== 'requires_attention' || Date.now() > deadline) return status;
    await sleep(500);
  }
}
