import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pgliteDatabase, postgresDatabase } from '../../src/ledger/database.js';
import { postgresAvailable, postgresSchema, TEST_DATABASE_URL } from '../helpers/databases.js';

describe('the embedded PGlite ledger is one process’s database', () => {
  it('refuses a second opener of the same directory, saying what to do; reopens once closed', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'refundflow-pglite-')), 'ledger');
    const first = await pgliteDatabase(dir);
    await expect(pgliteDatabase(dir)).rejects.toThrow(new RegExp(`open in process ${process.pid} .*set DATABASE_URL to a PostgreSQL server`));
    await first.close();
    expect(existsSync(`${dir}.lock`)).toBe(false);
    const again = await pgliteDatabase(dir);
    await again.close();
  });

  it('takes over a lock left by a process that is gone', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'refundflow-pglite-')), 'ledger');
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${dir}.lock`, gone.stdout);
    const db = await pgliteDatabase(dir);
    expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
  });
});

describe.runIf(await postgresAvailable())('a PostgreSQL ledger whose connections PostgreSQL ends', () => {
  it('goes on with new ones, reporting each lost one, never ending the process', async () => {
    const schema = await postgresSchema();
    // Its own application name, so the test ends this pool's connections and nobody else's.
    const name = `rf_lost_${randomUUID().slice(0, 8)}`;
    const url = new URL(schema.url);
    url.searchParams.set('application_name', name);
    const lost: string[] = [];
    const db = postgresDatabase(url.toString(), (err) => lost.push(err.message));
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    try {
      // Four connections open, then idle in the pool, then ended by the server: four queries asked
      // at once of an empty pool each get a connection of their own (the count below checks it).
      await Promise.all([1, 2, 3, 4].map(() => db.query('SELECT 1')));
      const { rows } = await admin.query<{ ended: boolean }>('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1', [
        name,
      ]);
      expect(rows).toHaveLength(4);
      await expect.poll(() => lost.length).toBe(4);
      expect(lost[0]).toMatch(/terminating connection due to administrator command/);
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await db.close();
      await admin.end();
      await schema.drop();
    }
  });
});
