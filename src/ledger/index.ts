import { join, resolve } from 'node:path';
import type { Config } from '../config.js';
import { pgliteDatabase, postgresDatabase, type Database } from './database.js';
import { migrate } from './migrations.js';

/** The ledger's database, migrated: PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR/ledger. */
export async function openLedgerDatabase(config: Config): Promise<Database> {
  const db = config.DATABASE_URL
    ? postgresDatabase(config.DATABASE_URL)
    : await pgliteDatabase(join(resolve(config.DATA_DIR), 'ledger'));
  await migrate(db);
  return db;
}

export function ledgerLocation(config: Config): string {
  return config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${join(resolve(config.DATA_DIR), 'ledger')}`;
}
