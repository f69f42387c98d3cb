import { join, resolve } from 'node:path';
import { pgliteDatabase, postgresDatabase, type Database } from './database.js';
import { migrate } from './migrations.js';

/** The ledger's database, migrated: PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR/ledger. */
/** DATABASE_URL and DATA_DIR, as the configuration holds them. */
export interface LedgerLocation {
  DATABASE_URL?: string | undefined;
  DATA_DIR: string;
}

export async function openLedgerDatabase(config: LedgerLocation): Promise<Database> {
  const db = config.DATABASE_URL
    ? postgresDatabase(config.DATABASE_URL)
    : await pgliteDatabase(join(resolve(config.DATA_DIR), 'ledger'));
  await migrate(db);
  return db;
}

export function ledgerLocation(config: LedgerLocation): string {
  return config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${join(resolve(config.DATA_DIR), 'ledger')}`;
}
