import { Option, type Command } from 'commander';
import type { CliContext } from './api.js';
import { postgresUrl } from '../config.js';
import { CliError, usageError } from './exit-codes.js';
import { checkedBy } from './flags.js';
import { print } from './output.js';

/**
 * `ledger migrate`: the PostgreSQL ledger's migrations, applied as its owner, and the engine's
 * runtime role granted what it needs (docs/operations.md, "The ledger's two roles"). The API and the
 * worker only check that nothing is pending; this is what runs before them on an upgrade (compose:
 * the ledger-migrate service).
 */
export function ledgerCommands(program: Command, ctx: () => CliContext): void {
  const ledger = program.command('ledger').description('the PostgreSQL ledger itself');
  ledger
    .command('migrate')
    .description("apply the ledger's pending migrations as its owner, then grant DATABASE_URL's role (the API's, the worker's) exactly what the engine needs")
    .addOption(
      new Option('--migration-url <url>', "the ledger owner's PostgreSQL URL: it applies the migrations and makes the grants")
        .env('LEDGER_MIGRATION_URL')
        .argParser(checkedBy('--migration-url', postgresUrl)),
    )
    .addOption(
      new Option('--database-url <url>', 'the URL the API and the worker use: its role is the one granted (unset, or the same role: one role, no grants)')
        .env('DATABASE_URL')
        .argParser(checkedBy('--database-url', postgresUrl)),
    )
    .action(async (o: { migrationUrl?: string; databaseUrl?: string }) => {
      const c = ctx();
      const ownerUrl = o.migrationUrl ?? o.databaseUrl;
      if (ownerUrl === undefined) throw usageError("set LEDGER_MIGRATION_URL (or --migration-url) to the ledger owner's PostgreSQL URL");
      // Without LEDGER_MIGRATION_URL, DATABASE_URL is the owner: one role, as npm start and simple set-ups have it.
      const ownerVariable = o.migrationUrl === undefined ? 'DATABASE_URL' : 'LEDGER_MIGRATION_URL';
      const runtimeRole = runtimeRoleOf([ownerVariable, ownerUrl], o.migrationUrl === undefined ? undefined : o.databaseUrl);
      const [{ postgresDatabase }, { LedgerMigrationError, migrate, migrations }, { RuntimeRoleError }] = await Promise.all([
        import('../ledger/database.js'),
        import('../ledger/migrations.js'),
        import('../ledger/grants.js'),
      ]);
      const db = postgresDatabase(ownerUrl);
      try {
        const applied = await migrate(db, { runtimeRole }).catch((err: unknown) => {
          if (err instanceof LedgerMigrationError) throw new CliError(`${ownerVariable}'s ${err.message}`);
          if (err instanceof RuntimeRoleError) throw new CliError(err.message);
          const { host, pathname } = new URL(ownerUrl);
          throw new CliError(`cannot migrate the ledger at ${host}${pathname} (${ownerVariable}): ${err instanceof Error ? err.message : String(err)}`);
        });
        const latest = migrations.at(-1)?.version;
        print(c, { applied, latest, ...(runtimeRole !== undefined && { granted: runtimeRole }) }, () =>
          [
            applied.length === 0
              ? `the ledger is up to date (migration ${latest})`
              : `applied ledger migrations ${applied.join(', ')}; the ledger is at migration ${latest}`,
            runtimeRole === undefined
              ? 'no runtime role to grant: DATABASE_URL is the owner itself (or unset)'
              : `granted "${runtimeRole}" the engine's privileges (the audit trail: INSERT and SELECT only)`,
          ].join('\n'),
        );
      } finally {
        await db.close();
      }
    });
}

/** The role DATABASE_URL connects as, when it is not the owner's: the one to grant. */
function runtimeRoleOf([ownerVariable, ownerUrl]: [string, string], databaseUrl: string | undefined): string | undefined {
  const user = (name: string, url: string) => {
    if (!/^postgres(ql)?:\/\//.test(url)) throw usageError(`${name} must be a PostgreSQL URL (postgres://…); npm start's embedded ledger migrates itself`);
    return decodeURIComponent(new URL(url).username);
  };
  const owner = user(ownerVariable, ownerUrl);
  if (databaseUrl === undefined) return undefined;
  const runtime = user('DATABASE_URL', databaseUrl);
  if (runtime === '') throw usageError("DATABASE_URL names no user: the role it names is the one granted the engine's privileges");
  return runtime === owner ? undefined : runtime;
}
