import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { pgliteDatabase, postgresDatabase, type Database } from '../../src/ledger/database.js';
import { migrate } from '../../src/ledger/migrations.js';
import type { OenRefundRequested } from '../../src/domain/schemas/refund-request.js';
import type { TemporalTarget } from './temporal.js';

/**
 * The ledger runs on PostgreSQL and on PGlite, and its tests run on both. PostgreSQL is the server at
 * TEST_DATABASE_URL (default: this machine's, 127.0.0.1:5432, database `test`). CI sets
 * REQUIRE_POSTGRES=1, so an unreachable server fails the run; elsewhere those tests are skipped and
 * the run says so.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function postgresProblem(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Whether the PostgreSQL tests run here; throws when CI requires them and the server is not there. */
export async function postgresAvailable(): Promise<boolean> {
  const problem = await postgresProblem();
  if (problem === undefined) return true;
  const message = `PostgreSQL at ${TEST_DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')} is unreachable (${problem})`;
  if (process.env.REQUIRE_POSTGRES === '1') throw new Error(`${message}; REQUIRE_POSTGRES=1 makes that a failure`);
  console.warn(`${message}: the ledger's PostgreSQL tests are SKIPPED. Set TEST_DATABASE_URL to run them.`);
  return false;
}

export type DatabaseKind = 'pglite' | 'postgres';

/** What a ledger test runs on: PGlite, and PostgreSQL where it is reachable. */
export async function ledgerKinds(): Promise<DatabaseKind[]> {
  return (await postgresAvailable()) ? ['pglite', 'postgres'] : ['pglite'];
}

/**
 * The ledgers a process-crash case runs on, per Temporal: on the dev server PostgreSQL (where
 * reachable) and the embedded PGlite on disk; on the production-shaped cluster only the ledger
 * production uses, PostgreSQL.
 */
export function crashCasesOn(target: TemporalTarget, postgres: boolean): Array<{ target: TemporalTarget; kind: DatabaseKind }> {
  if (target === 'dev') return (postgres ? (['postgres', 'pglite'] as const) : (['pglite'] as const)).map((kind) => ({ target, kind }));
  return postgres ? [{ target, kind: 'postgres' }] : [];
}

/** A ledger test's n-th Oen refund (n below 10): its own refund id, order and transaction. */
export const oenRequest = (n: number): OenRefundRequested => ({
  refundId: `RF-${n}`,
  provider: 'oen',
  orderId: `ORDER-${n}`,
  transactionHid: `P2026112900000${n}`,
  amount: 1000,
});

/** A migrated, empty ledger database: PGlite in memory, or a PostgreSQL schema of its own. */
export async function freshDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === 'pglite') {
    const db = await pgliteDatabase();
    await migrate(db);
    return db;
  }
  const schema = await postgresSchema();
  const db = postgresDatabase(schema.url);
  await migrate(db);
  return {
    ...db,
    async close() {
      await db.close();
      await schema.drop();
    },
  };
}

/** For a describe block: a fresh ledger database of `kind` (freshDatabase), emptied of `tables` (e.g. "refunds") before each test, closed after. */
export function useFreshDatabase(kind: DatabaseKind, tables: string): () => Database {
  let db: Database | undefined;
  beforeAll(async () => {
    db = await freshDatabase(kind);
  });
  beforeEach(async () => {
    await db?.exec(`TRUNCATE ${tables}`);
  });
  afterAll(async () => {
    await db?.close();
  });
  return () => {
    if (!db) throw new Error('the ledger database runs only inside tests');
    return db;
  };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A PostgreSQL schema of the test's own, and a DATABASE_URL that selects it, for processes the test
 * starts (they share the ledger through it).
 */
export async function postgresSchema(): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `rf_test_${randomUUID().replaceAll('-', '')}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return { url: url.toString(), drop: () => adminQuery(`DROP SCHEMA ${schema} CASCADE`) };
}

/**
 * For a test file whose processes share a ledger: a migrated PostgreSQL schema of its own for the
 * file (nothing when PostgreSQL is not available: the file's tests are skipped then), dropped after.
 */
export function usePostgresLedger(available: boolean): () => { url: string; db: Database } {
  let schema: { url: string; drop: () => Promise<void> } | undefined;
  let db: Database | undefined;
  beforeAll(async () => {
    if (!available) return;
    schema = await postgresSchema();
    db = postgresDatabase(schema.url);
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await schema?.drop();
  });
  return () => {
    if (!schema || !db) throw new Error('the PostgreSQL ledger runs only inside tests, with PostgreSQL');
    return { url: schema.url, db };
  };
}
