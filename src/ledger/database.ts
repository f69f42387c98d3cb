import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * The one SQL surface the ledger uses, over PostgreSQL (`DATABASE_URL`) or embedded PGlite (the
 * default): same SQL, same schema.
 */
export interface Queryable {
  query<Row>(sql: string, params?: unknown[]): Promise<{ rows: Row[] }>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A PostgreSQL ledger over a pool of 10 connections. A connection PostgreSQL ends while it is idle
 * (a restart, an administrator's terminate, a network cut) is reported to `onConnectionLost` — one
 * line on stderr by default — and replaced by the next query; it must never end the process, as an
 * 'error' no one listens to would. A query on a lost connection fails as that query's error.
 */
export function postgresDatabase(
  connectionString: string,
  onConnectionLost: (err: Error) => void = (err) => console.error(`ledger: a PostgreSQL connection was lost (${err.message}); the next query opens another`),
): Database {
  const pool = new pg.Pool({ connectionString, max: 10 });
  // Each connection's own listener reports it, also once the pool has let go of it while it closes
  // (pool.end()); the pool passes an idle connection's error on to its own listeners as well, where
  // it was reported already.
  pool.on('connect', (client) => client.on('error', onConnectionLost));
  pool.on('error', () => undefined);
  const over = (target: pg.Pool | pg.PoolClient): Queryable => ({
    query: async <Row>(sql: string, params?: unknown[]) => ({ rows: (await target.query(sql, params)).rows as Row[] }),
    exec: async (sql: string) => {
      await target.query(sql);
    },
  });
  return {
    kind: 'postgres',
    ...over(pool),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(over(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * PGlite in `dataDir` (a directory), or in memory when none is given. One process's database: a
 * second process opening the same directory would corrupt it, so the directory is locked (a pid file
 * beside it) and a second opener is refused with what to do instead.
 */
export async function pgliteDatabase(dataDir?: string): Promise<Database> {
  const unlock = dataDir ? lockPgliteDir(dataDir) : () => undefined;
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const over = (target: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    query: async <Row>(sql: string, params?: unknown[]) => ({ rows: (await target.query<Row>(sql, params)).rows }),
    exec: async (sql: string) => {
      await target.exec(sql);
    },
  });
  return {
    kind: 'pglite',
    ...over(db),
    transaction: (work) => db.transaction((tx) => work(over(tx))),
    close: async () => {
      await db.close();
      unlock();
    },
  };
}

function lockPgliteDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = `${dataDir.replace(/\/+$/, '')}.lock`;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(lockFile, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
      throw new Error(
        `The embedded ledger in ${dataDir} is open in process ${holder} (npm start?). PGlite is one process's database: ` +
          'stop that process, or set DATABASE_URL to a PostgreSQL server to share a ledger between processes',
      );
    }
    rmSync(lockFile, { force: true }); // left by a process that is gone
  }
}

/** Whether a process of this id is alive (EPERM: alive, another user's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
