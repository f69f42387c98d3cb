import { join, resolve } from 'node:path';
import { pgliteDatabase, postgresDatabase, type Database } from './database.js';
import { LedgerMigrationError, migrateIfPending } from './migrations.js';

/** DATABASE_URL and DATA_DIR, as the configuration holds them. */
export interface LedgerLocation {
  DATABASE_URL?: string | undefined;
  DATA_DIR: string;
}

/**
 * The ledger's database, migrated: PostgreSQL at DATABASE_URL, else PGlite under DATA_DIR/ledger.
 * Nothing is written when it is up to date, so DATABASE_URL may be the runtime role, which may not
 * migrate: with migrations pending, that role stops the process here, with a message saying what to
 * run (docs/operations.md, "The ledger's two roles"). A single role that owns the ledger migrates it.
 */
export async function openLedgerDatabase(config: LedgerLocation): Promise<Database> {
  const db = config.DATABASE_URL ? postgresDatabase(config.DATABASE_URL) : await pgliteDatabase(join(resolve(config.DATA_DIR), 'ledger'));
  try {
    await migrateIfPending(db);
  } catch (err) {
    await db.close();
    throw err instanceof LedgerMigrationError ? new LedgerMigrationError(`DATABASE_URL's ${err.message}`) : err;
  }
  return db;
}

export function ledgerLocation(config: LedgerLocation): string {
  return config.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : `PGlite in ${join(resolve(config.DATA_DIR), 'ledger')}`;
}
