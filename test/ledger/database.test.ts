import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pgliteDatabase } from '../../src/ledger/database.js';

describe('the embedded PGlite ledger is one process’s database', () => {
  it('refuses a second opener of the same directory, saying what to do; reopens once closed', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'refundflow-pglite-')), 'ledger');
    const first = await pgliteDatabase(dir);
    await expect(pgliteDatabase(dir)).rejects.toThrow(
      new RegExp(`open in process ${process.pid} .*set DATABASE_URL to a PostgreSQL server`),
    );
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
