import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { apiMetricNames } from '../../src/api/metrics.js';
import { RefusalLimit } from '../../src/api/refusal-limit.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { pgliteDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import { apiOn } from '../helpers/api.js';

/**
 * Calls without a valid credential are refused 401, and an action's refusal is audited — but only so
 * many from one source a minute: past that, 429 with Retry-After and nothing written, so a flood of
 * bad keys cannot fill the audit trail. Both kinds are counted on /metrics. Over real HTTP.
 */
let db: Database;
let connection: Connection;
let app: FastifyInstance;
let url: string;
let viewerKey: string;
const LIMIT = 3;

beforeAll(async () => {
  db = await pgliteDatabase();
  await migrate(db);
  connection = Connection.lazy({ address: inject('temporalAddress') });
  app = apiOn(db, new Client({ connection }), { refusalsPerMinute: LIMIT });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  viewerKey = (await new ApiKeys(db).add('watcher', 'viewer', 'test')).key;
});

afterAll(async () => {
  await app?.close();
  await connection?.close();
  await db?.close();
});

const approveWith = (credential: string) => fetch(`${url}/v1/refunds/RF-FLOOD/approve`, { method: 'POST', headers: { authorization: `Bearer ${credential}` } });

async function refusalsOnMetrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${viewerKey}` } })).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(new RegExp(`^${apiMetricNames.unauthenticatedRefusals}\\{answer="(\\d+)"\\} (\\d+)$`, 'gm')))
    counts[match[1]!] = Number(match[2]);
  return counts;
}

describe('refusals of calls without a valid credential, per source', () => {
  it(`audits the first ${LIMIT} a minute, then answers 429 with Retry-After and writes nothing; a valid key is not held back`, async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < LIMIT + 4; i++) {
      const response = await approveWith(`rf_bogus_${i}`);
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('retry-after');
        expect(((await response.json()) as { error: string }).error).toMatch(
          /^too many calls without a valid credential from 127\.0\.0\.1; try again in \d+ s$/,
        );
      }
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(401), ...Array<number>(4).fill(429)]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    const { entries } = await new AuditTrail(db).list({ refundId: 'RF-FLOOD', limit: 100 });
    expect(entries).toHaveLength(LIMIT);
    expect(entries.every((e) => e.outcome === 'refused' && e.actor.id === 'unauthenticated')).toBe(true);
    expect(await refusalsOnMetrics()).toEqual({ '401': LIMIT, '429': 4 });
    // A caller with a valid credential from the same source is answered as ever.
    expect((await fetch(`${url}/v1/refunds/RF-FLOOD`, { headers: { authorization: `Bearer ${viewerKey}` } })).status).toBe(404);
  });
});

describe('RefusalLimit', () => {
  it('counts each source in its own one-minute window', () => {
    let now = 0;
    const limit = new RefusalLimit(2, () => now);
    expect([limit.take('a'), limit.take('a'), limit.take('b')]).toEqual([true, true, true]);
    expect(limit.take('a')).toEqual({ retryAfterSeconds: 60 });
    now = 59_500;
    expect(limit.take('a')).toEqual({ retryAfterSeconds: 1 });
    now = 60_000;
    expect(limit.take('a')).toBe(true);
  });
});
