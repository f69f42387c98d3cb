import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterBinaryPaths } from '../../scripts/cluster/binaries.js';
import { applySchema, type ClusterOptions } from '../../scripts/cluster/cluster.js';
import { postgresFromUrl } from '../../scripts/cluster/main.js';
import { dropDatabases } from '../helpers/cluster.js';
import { postgresAvailable } from '../helpers/databases.js';

/**
 * deploy/temporal/schema.sh, as npm run cluster and compose's temporal-schema run it before every
 * start: it creates the two databases, brings an older schema up to the server module's own latest
 * version, and leaves an up-to-date one — and what is in it — as it is.
 */
const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const postgres = await postgresAvailable();
const databases = { temporal: `rf_cluster_${process.pid}_schema_temporal`, visibility: `rf_cluster_${process.pid}_schema_visibility` };
const logDir = mkdtempSync(join(tmpdir(), 'refundflow-schema-'));
const binaries = clusterBinaryPaths();
const options = { binaries, postgres: postgresFromUrl(ADMIN_URL), databases, logDir } as ClusterOptions;

/** The newest version folder (v1.18 …) the module ships for a store. */
function latest(store: 'temporal' | 'visibility'): string {
  const versions = readdirSync(join(binaries.schemaDir, store, 'versioned')).map((name) => name.replace(/^v/, ''));
  return versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1) ?? '';
}

async function query<T extends pg.QueryResultRow>(database: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: Object.assign(new URL(ADMIN_URL), { pathname: `/${database}` }).toString() });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const version = async (database: string) => (await query<{ curr_version: string }>(database, 'SELECT curr_version FROM schema_version'))[0]?.curr_version;

afterAll(async () => {
  if (postgres) await dropDatabases((name) => name === databases.temporal || name === databases.visibility);
  rmSync(logDir, { recursive: true, force: true });
});

describe.skipIf(!postgres)('deploy/temporal/schema.sh', () => {
  it("upgrades an older schema to the module's latest, and leaves an up-to-date one and its data as they are", async () => {
    // An older server's schema: the SQL tool's own steps, stopped at 1.5.
    const sqlTool = (...args: string[]) =>
      execFileSync(
        binaries.sqlTool,
        ['--plugin', 'postgres12', '--ep', options.postgres.host, '-p', String(options.postgres.port), '-u', options.postgres.user, ...args],
        {
          env: { ...process.env, SQL_PASSWORD: options.postgres.password ?? '' },
          stdio: 'pipe',
        },
      );
    sqlTool('--db', databases.temporal, 'create');
    sqlTool('--db', databases.temporal, 'setup-schema', '-v', '0.0');
    sqlTool('--db', databases.temporal, 'update-schema', '-d', join(binaries.schemaDir, 'temporal', 'versioned'), '-v', '1.5');
    expect(await version(databases.temporal)).toBe('1.5');

    await applySchema(options);
    expect(latest('temporal')).toMatch(/^1\.\d+$/);
    expect(await version(databases.temporal)).toBe(latest('temporal'));
    expect(await version(databases.visibility)).toBe(latest('visibility'));

    // A second start: nothing to do, and what the server wrote stays.
    await query(databases.temporal, 'CREATE TABLE rf_marker AS SELECT 7 AS kept');
    await applySchema(options);
    expect(await version(databases.temporal)).toBe(latest('temporal'));
    expect(await query(databases.temporal, 'SELECT kept FROM rf_marker')).toEqual([{ kept: 7 }]);
  }, 120_000);
});
