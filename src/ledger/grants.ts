import type { Queryable } from './database.js';

/**
 * What the engine's runtime role may do with each ledger table, when the ledger has two roles
 * (docs/operations.md, "The ledger's two roles"): the owner, which migrates (LEDGER_MIGRATION_URL),
 * and the runtime role the API, the worker and the CLI connect as (DATABASE_URL). Each entry is what
 * the ledger modules do to the table and nothing more: the append-only tables (the audit trail, the
 * used decision proofs, the accepted requests) are INSERT and SELECT only, so the runtime role can
 * neither change nor remove what is in them; no table gets TRUNCATE, REFERENCES or TRIGGER, and
 * the role owns nothing, so it cannot ALTER, DROP or disable a trigger. A new table needs its entry
 * here (test/ledger/roles.test.ts fails until it has one).
 */
export const runtimePrivileges = {
  refunds: ['SELECT', 'INSERT', 'UPDATE'],
  inbox_events: ['SELECT', 'INSERT', 'UPDATE'],
  refund_requests: ['SELECT', 'INSERT'],
  rejected_requests: ['SELECT', 'INSERT'],
  provider_rate_slots: ['SELECT', 'INSERT', 'UPDATE'],
  reconciliation_reports: ['SELECT', 'INSERT', 'UPDATE'],
  unconfirmed_subscription_cancels: ['SELECT', 'INSERT'],
  api_keys: ['SELECT', 'INSERT', 'UPDATE'],
  operator_audit: ['SELECT', 'INSERT'],
  // A failed delivery's row is deleted by the delivery that succeeds (src/ledger/outcomes.ts).
  undelivered_outcomes: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  decision_proofs_used: ['SELECT', 'INSERT'],
  // Written only by the ledger's own triggers, as its owner (migration 21); positions are given by
  // outcome_events_sequence(), also the owner's: the runtime role reads.
  outcome_events: ['SELECT'],
  outcome_destinations: ['SELECT', 'INSERT', 'UPDATE'],
  // Read at start, to see whether migrations are pending (src/ledger/migrations.ts).
  schema_migrations: ['SELECT'],
} as const satisfies Record<string, ReadonlyArray<'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE'>>;

export type LedgerTable = keyof typeof runtimePrivileges;

/** A runtime role the grants refuse: one that could change the audit trail whatever it is granted. */
export class RuntimeRoleError extends Error {
  override readonly name = 'RuntimeRoleError';
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Gives `role` exactly `runtimePrivileges` on the ledger's tables in the current schema, USAGE on
 * its sequences (the bigserial ids) and on the schema; whatever it held on them before is revoked
 * first, so running this again (every `refundflow ledger migrate` does) is idempotent and narrows as
 * well as widens. Refuses a role that does not exist, a superuser, and one that owns a ledger table
 * or acts as its owner (a member of the owning role): privileges would not bind them.
 */
export async function grantRuntime(tx: Queryable, role: string): Promise<void> {
  const tables = Object.keys(runtimePrivileges) as LedgerTable[];
  const { rows: found } = await tx.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = $1', [role]);
  const [runtime] = found;
  if (!runtime) throw new RuntimeRoleError(`the runtime role "${role}" does not exist: create it first (docs/operations.md, "The ledger's two roles")`);
  if (runtime.rolsuper)
    throw new RuntimeRoleError(
      `the runtime role "${role}" is a superuser, which no grant binds: the engine needs a role of its own (docs/operations.md, "The ledger's two roles")`,
    );
  const { rows: owned } = await tx.query<{ relname: string; owner: string }>(
    `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname = ANY($2::text[]) AND pg_has_role($1::name, c.relowner, 'USAGE')
     ORDER BY c.relname`,
    [role, tables],
  );
  if (owned.length > 0) {
    throw new RuntimeRoleError(
      `the runtime role "${role}" owns the ledger (${owned.map((t) => t.relname).join(', ')}: owner "${owned[0]?.owner ?? ''}"), so it could alter or drop the audit trail: ` +
        'give DATABASE_URL a role of its own and migrate as the owner (docs/operations.md, "The ledger\'s two roles")',
    );
  }
  const { rows: schemas } = await tx.query<{ schema: string }>('SELECT current_schema() AS schema');
  const schema = ident(schemas[0]?.schema ?? 'public');
  const grantee = ident(role);
  const { rows: usage } = await tx.query<{ granted: boolean }>("SELECT has_schema_privilege($1::name, current_schema(), 'USAGE') AS granted", [role]);
  if (!usage[0]?.granted) await tx.query(`GRANT USAGE ON SCHEMA ${schema} TO ${grantee}`);
  for (const table of tables) {
    await tx.query(`REVOKE ALL ON TABLE ${schema}.${table} FROM ${grantee}`);
    await tx.query(`GRANT ${runtimePrivileges[table].join(', ')} ON TABLE ${schema}.${table} TO ${grantee}`);
  }
  await tx.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${grantee}`);
  // USAGE: nextval for the ids of new rows; not UPDATE (setval).
  await tx.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${grantee}`);
}
