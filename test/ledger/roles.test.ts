import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyCounts } from '../../src/domain/reconcile.js';
import { ApiKeys } from '../../src/ledger/api-keys.js';
import { AuditTrail } from '../../src/ledger/audit.js';
import { pgliteDatabase, postgresDatabase, type Database } from '../../src/ledger/database.js';
import { readLedgerGauges } from '../../src/ledger/gauges.js';
import { runtimePrivileges } from '../../src/ledger/grants.js';
import { EventInbox } from '../../src/ledger/inbox.js';
import { openLedgerDatabase } from '../../src/ledger/index.js';
import { migrate, migrations } from '../../src/ledger/migrations.js';
import { OutcomeDeliveryLog } from '../../src/ledger/outcomes.js';
import { ReconciliationLedger } from '../../src/ledger/reconciliation.js';
import { OutcomeOutbox } from '../../src/ledger/outbox.js';
import { RefundLedger } from '../../src/ledger/refunds.js';
import { ResolutionLedger } from '../../src/ledger/resolution.js';
import { SubscriptionLedger } from '../../src/ledger/subscriptions.js';
import { SharedRateLimiter } from '../../src/providers/rate-limit.js';
import { oenRequest, postgresAvailable, TEST_DATABASE_URL } from '../helpers/databases.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { accepted } from '../helpers/inbox.js';

/**
 * The ledger's two roles (docs/operations.md, "The ledger's two roles"): a database of its own, owned
 * by an owner role that migrates it through `refundflow ledger migrate`, and a runtime role — what the
 * API, the worker and the CLI connect as — that may use the ledger but cannot change or remove the
 * audit trail: no UPDATE, DELETE or TRUNCATE (refused for want of the privilege, before any trigger),
 * no ALTER, DROP or DISABLE TRIGGER (it owns nothing), no session_replication_role (not a superuser).
 * Each refusal is shown beside someone who may do it, so it is the role that is refused.
 */

const available = await postgresAvailable();

describe("the runtime role's privileges cover every ledger table", () => {
  it('src/ledger/grants.ts names each table the migrations make, and no other', async () => {
    const db = await pgliteDatabase();
    try {
      await migrate(db);
      const { rows } = await db.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name",
      );
      expect(rows.map((row) => row.table_name)).toEqual(Object.keys(runtimePrivileges).sort());
    } finally {
      await db.close();
    }
  });
});

/** `npx refundflow …` in its own process, with `env` as its only ledger settings. */
function refundflow(args: string[], env: Record<string, string>): Promise<CliRun> {
  return runCli(args, { ...process.env, DATABASE_URL: undefined, LEDGER_MIGRATION_URL: undefined, ...env });
}

/** The code of the error `work` fails with (42501: insufficient privilege), and its message. */
async function refusal(work: () => Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await work();
  } catch (err) {
    return { code: String((err as { code?: unknown }).code), message: err instanceof Error ? err.message : String(err) };
  }
  throw new Error('it was not refused');
}

/** `sql` in a transaction that is rolled back, so what it does (an owner's DROP) is not kept. */
async function triedAndRolledBack(db: Database, sql: string): Promise<void> {
  await db
    .transaction(async (tx) => {
      await tx.exec(sql);
      throw new RolledBack();
    })
    .catch((err: unknown) => {
      if (!(err instanceof RolledBack)) throw err;
    });
}
class RolledBack extends Error {}

const INSUFFICIENT_PRIVILEGE = '42501';

describe.runIf(available)('a ledger with an owner and a runtime role, on PostgreSQL', () => {
  const suffix = randomUUID().replaceAll('-', '').slice(0, 12);
  const ownerRole = `rf_owner_${suffix}`;
  const runtimeRole = `rf_runtime_${suffix}`;
  const database = `rf_roles_${suffix}`;
  const urlAs = (role: string) => {
    const url = new URL(TEST_DATABASE_URL);
    url.username = role;
    url.password = 'role-test-password';
    url.pathname = `/${database}`;
    url.search = '';
    return url.toString();
  };
  const ownerUrl = urlAs(ownerRole);
  const runtimeUrl = urlAs(runtimeRole);
  const superuserUrl = (() => {
    const url = new URL(TEST_DATABASE_URL);
    url.pathname = `/${database}`;
    url.search = '';
    return url.toString();
  })();
  let admin: pg.Client;
  let owner: Database;
  let runtime: Database;
  let migrated: CliRun;

  beforeAll(async () => {
    admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    // As docs/operations.md has them: two login roles, the database owned by the owner.
    await admin.query(`CREATE ROLE ${ownerRole} LOGIN PASSWORD 'role-test-password'`);
    await admin.query(`CREATE ROLE ${runtimeRole} LOGIN PASSWORD 'role-test-password'`);
    await admin.query(`CREATE DATABASE ${database} OWNER ${ownerRole}`);
    migrated = await refundflow(['ledger', 'migrate'], { LEDGER_MIGRATION_URL: ownerUrl, DATABASE_URL: runtimeUrl });
    owner = postgresDatabase(ownerUrl);
    runtime = postgresDatabase(runtimeUrl);
  });

  afterAll(async () => {
    await runtime?.close();
    await owner?.close();
    if (!admin) return;
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`DROP ROLE IF EXISTS ${runtimeRole}`);
    await admin.query(`DROP ROLE IF EXISTS ${ownerRole}`);
    await admin.end();
  });

  it('refundflow ledger migrate applies every migration as the owner and grants the runtime role', async () => {
    expect(migrated.stderr).toBe('');
    expect(migrated.stdout).toContain(`applied ledger migrations ${migrations.map((m) => m.version).join(', ')}`);
    expect(migrated.stdout).toContain(`granted "${runtimeRole}" the engine's privileges`);
    expect(migrated.code).toBe(0);
    const { rows } = await owner.query<{ tableowner: string }>('SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = current_schema()');
    expect(rows).toEqual([{ tableowner: ownerRole }]);
  });

  it("the runtime role holds exactly src/ledger/grants.ts's privileges on each table: no TRUNCATE, REFERENCES or TRIGGER anywhere", async () => {
    const all = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];
    for (const [table, granted] of Object.entries(runtimePrivileges)) {
      const { rows } = await owner.query<{ privilege: string; held: boolean }>(
        'SELECT p AS privilege, has_table_privilege($1::name, $2::regclass, p) AS held FROM unnest($3::text[]) AS p',
        [runtimeRole, table, all],
      );
      expect(
        rows.filter((row) => row.held).map((row) => row.privilege),
        table,
      ).toEqual(all.filter((p) => (granted as readonly string[]).includes(p)));
    }
    expect(runtimePrivileges.operator_audit).toEqual(['SELECT', 'INSERT']);
  });

  it('as the runtime role, the audit trail takes new entries and reads them', async () => {
    const audit = new AuditTrail(runtime);
    const entry = await audit.append({
      actor: { id: 'key:ann', name: 'ann', role: 'approver' },
      action: 'approve',
      refundId: 'RF-A1',
      outcome: 'done',
      requestId: 'req-a1',
    });
    expect((await audit.list({ refundId: 'RF-A1', limit: 10 })).entries).toEqual([entry]);
  });

  it('as the runtime role, UPDATE, DELETE and TRUNCATE of the audit trail are refused for want of the privilege; the owner meets the trigger', async () => {
    await new AuditTrail(runtime).append({
      actor: { id: 'key:ann', name: 'ann' },
      action: 'cancel',
      refundId: 'RF-A2',
      outcome: 'refused',
      requestId: 'req-a2',
    });
    for (const sql of ["UPDATE operator_audit SET reason = 'rewritten'", 'DELETE FROM operator_audit', 'TRUNCATE operator_audit']) {
      const asRuntime = await refusal(() => runtime.query(sql));
      expect(asRuntime, sql).toEqual({ code: INSUFFICIENT_PRIVILEGE, message: 'permission denied for table operator_audit' });
      // The owner holds the privilege: the append-only trigger is what stops it.
      const asOwner = await refusal(() => owner.query(sql));
      expect(asOwner.code, sql).not.toBe(INSUFFICIENT_PRIVILEGE);
      expect(asOwner.message, sql).toMatch(/operator_audit is append-only/);
    }
    expect((await new AuditTrail(runtime).list({ refundId: 'RF-A2', limit: 10 })).entries).toHaveLength(1);
  });

  it.each([
    ['ALTER TABLE operator_audit DISABLE TRIGGER ALL', /must be owner of table operator_audit/],
    ['ALTER TABLE operator_audit DISABLE TRIGGER operator_audit_no_update', /must be owner of table operator_audit/],
    ['ALTER TABLE operator_audit DROP COLUMN reason', /must be owner of table operator_audit/],
    ['DROP TABLE operator_audit', /must be owner of table operator_audit/],
    ['CREATE TABLE operator_audit_copy (id bigint)', /permission denied for schema public/],
  ])('as the runtime role, %s is refused; the owner may', async (sql, message) => {
    const asRuntime = await refusal(() => runtime.exec(sql));
    expect(asRuntime.code).toBe(INSUFFICIENT_PRIVILEGE);
    expect(asRuntime.message).toMatch(message);
    await triedAndRolledBack(owner, sql);
  });

  it('as the runtime role, session_replication_role (which would skip the triggers) cannot be set; a superuser can', async () => {
    const asRuntime = await refusal(() => runtime.transaction((tx) => tx.exec('SET LOCAL session_replication_role = replica')));
    expect(asRuntime.code).toBe(INSUFFICIENT_PRIVILEGE);
    expect(asRuntime.message).toMatch(/permission denied to set parameter "session_replication_role"/);
    const superuser = postgresDatabase(superuserUrl);
    try {
      await superuser.transaction((tx) => tx.exec('SET LOCAL session_replication_role = replica'));
    } finally {
      await superuser.close();
    }
  });

  it('the engine does its ordinary work as the runtime role: the ledger opens (nothing pending) and every table is used as the modules use it', async () => {
    const db = await openLedgerDatabase({ DATABASE_URL: runtimeUrl, DATA_DIR: '.data-unused' });
    try {
      // The intake: an accepted event, its request claimed; a refused request kept; the dispatcher's lease.
      const request = oenRequest(1);
      const eventId = await accepted(db, 'refund.requested', request);
      const inbox = new EventInbox(db);
      expect((await inbox.claimPending(10, 60_000)).map((e) => e.eventId)).toContain(eventId);
      await inbox.markStarted(eventId);
      await inbox.reject({ statusCode: 422, reason: 'schema', bodyHash: 'h', bodySize: 2, body: '{}' });
      expect(await inbox.rejected(1)).toHaveLength(1);
      // A refund opened, claimed, sent and finished.
      const refunds = new RefundLedger(db);
      expect(await refunds.open(request, 'oen-refund-1', 'run-1')).toMatchObject({ opened: { status: 'received' } });
      await refunds.transition(request.refundId, 'submitting');
      await refunds.recordAttempt(request.refundId, 1);
      expect(await refunds.markSending(request.refundId, 'run-1 attempt 1')).toBeDefined();
      await refunds.noteSend(request.refundId);
      expect(await refunds.markAnswered(request.refundId, 'run-1 attempt 1', 'P-REF')).toBe(true);
      expect(await refunds.transition(request.refundId, 'succeeded', { providerReference: 'P-REF' })).toMatchObject({ status: 'succeeded' });
      // The provider rate limit shared by the workers, outcome delivery, reconciliation, subscriptions, resolutions.
      await new SharedRateLimiter(db, 'oen', 1000).reserve();
      const outcomes = new OutcomeDeliveryLog(db);
      await outcomes.failed({ deliveryId: 'd-1', type: 'refund.succeeded', subject: request.refundId });
      await outcomes.failed({ deliveryId: 'd-1', type: 'refund.succeeded', subject: request.refundId });
      await outcomes.delivered('d-1');
      const reconciliation = new ReconciliationLedger(db);
      const report = {
        workflowId: 'refundflow-reconcile',
        runId: 'r-1',
        startedAt: '2026-11-29T08:00:00.000Z',
        finishedAt: '2026-11-29T08:00:01.000Z',
        policy: { submittingAfterSeconds: 3600, succeededWithinDays: 7, resubmit: false },
        examined: 1,
        counts: { ...emptyCounts(), confirmed: 1 },
        changed: [],
        notes: [],
        mwdUnresolved: [],
      };
      await reconciliation.saveReport(report);
      await reconciliation.saveReport(report);
      await reconciliation.markConfirmed([request.refundId]);
      await new SubscriptionLedger(db).recordUnconfirmed({ subscriptionId: 'SUB-1', orderId: 'ORDER-1', reason: 'no answer', workflowId: 'wf-sub' });
      expect(
        await new ResolutionLedger(db).claimProof({
          statementSha256: 'a'.repeat(64),
          action: 'resolve',
          refundId: request.refundId,
          workflowId: 'resolve:RF-1',
          runId: 'run-r',
        }),
      ).toEqual({ claimed: true });
      // Operators: a key made, used and revoked, each audited; the API's gauges.
      const keys = new ApiKeys(db);
      const { key } = await keys.add('first-admin', 'admin', 'cli:ops');
      expect(await keys.actorFor(key)).toMatchObject({ name: 'first-admin', role: 'admin' });
      await new AuditTrail(db).append({
        actor: { id: 'cli:ops', name: 'ops' },
        action: 'operator.add',
        outcome: 'done',
        detail: { name: 'first-admin' },
        requestId: 'req-k1',
      });
      expect(await keys.revoke('first-admin', 'cli:ops')).toMatchObject({ name: 'first-admin' });
      expect((await readLedgerGauges(db)).reconciliation?.counts.confirmed).toBe(1);
      // The outbox: the refund's end and the subscription cancel wrote their events (as the owner's
      // triggers), the relay gives them positions, registers and leases a destination and moves its cursor.
      const outbox = new OutcomeOutbox(db);
      expect((await outbox.ofSubject(request.refundId)).map((e) => e.type)).toEqual(['refund.succeeded']);
      expect((await outbox.ofSubject('SUB-1')).map((e) => e.type)).toEqual(['subscription.requires_attention']);
      expect(await outbox.sequence()).toBe(2);
      await outbox.register(['webhook']);
      expect(await outbox.lease('webhook', 'relay-1', 30_000)).toBe(2);
      await outbox.failed('webhook', 'relay-1', 'HTTP 503');
      expect(await outbox.delivered('webhook', 'relay-1', 2, 30_000)).toBe(true);
      await outbox.release('webhook', 'relay-1');
      // No outcome is written, changed or removed by hand: only a refund's status writes one.
      for (const sql of [
        "INSERT INTO outcome_events (event_id, type, subject, occurred_at, data) VALUES ('forged', 'refund.succeeded', 'RF-X', now(), '{}')",
        "UPDATE outcome_events SET type = 'refund.failed'",
        'DELETE FROM outcome_events',
      ]) {
        expect((await refusal(() => db.query(sql))).code, sql).toBe(INSUFFICIENT_PRIVILEGE);
      }
      // But not what the privileges leave out: a refund row cannot be deleted, a used proof not freed.
      expect((await refusal(() => db.query('DELETE FROM refunds'))).code).toBe(INSUFFICIENT_PRIVILEGE);
      expect((await refusal(() => db.query('DELETE FROM decision_proofs_used'))).code).toBe(INSUFFICIENT_PRIVILEGE);
      expect((await refusal(() => db.query("UPDATE refund_requests SET request_hash = 'other'"))).code).toBe(INSUFFICIENT_PRIVILEGE);
    } finally {
      await db.close();
    }
  });

  it("with a migration pending, the runtime role stops at start, naming what to run; the owner's migration lets it start again", async () => {
    const latest = migrations.at(-1)!;
    await owner.query('DELETE FROM schema_migrations WHERE version = $1', [latest.version]);
    try {
      const stopped = await refusal(() => openLedgerDatabase({ DATABASE_URL: runtimeUrl, DATA_DIR: '.data-unused' }));
      expect(stopped.message).toBe(
        `DATABASE_URL's role "${runtimeRole}" does not own the ledger (its owner is "${ownerRole}"), so it may not migrate it (pending: ${latest.version} ${latest.name}); ` +
          "migrate as the ledger's owner: `npx refundflow ledger migrate` with LEDGER_MIGRATION_URL set to the owner's URL (docker compose: the ledger-migrate service; docs/operations.md, \"The ledger's two roles\")",
      );
      // A process: the CLI's straight-to-the-ledger commands open it the same way.
      const cli = await refundflow(['operator', 'list', '--database-url', runtimeUrl], {});
      expect(cli.code).not.toBe(0);
      expect(cli.stderr).toContain(`DATABASE_URL's role "${runtimeRole}" does not own the ledger`);
      // Nothing was applied by the runtime role.
      expect((await owner.query('SELECT 1 FROM schema_migrations WHERE version = $1', [latest.version])).rows).toEqual([]);
    } finally {
      await owner.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [latest.version, latest.name]);
    }
    await (await openLedgerDatabase({ DATABASE_URL: runtimeUrl, DATA_DIR: '.data-unused' })).close();
  });

  it("with nothing granted, the runtime role stops at start, told to run the owner's migration, which grants it again", async () => {
    await owner.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${runtimeRole}`);
    const stopped = await refusal(() => openLedgerDatabase({ DATABASE_URL: runtimeUrl, DATA_DIR: '.data-unused' }));
    expect(stopped.message).toMatch(
      new RegExp(
        `^DATABASE_URL's role "${runtimeRole}" may not read the ledger \\(schema_migrations\\): it was not granted the engine's privileges; migrate as the ledger's owner: \`npx refundflow ledger migrate\``,
      ),
    );
    const again = await refundflow(['ledger', 'migrate'], { LEDGER_MIGRATION_URL: ownerUrl, DATABASE_URL: runtimeUrl });
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toContain(`the ledger is up to date (migration ${migrations.at(-1)?.version})`);
    await (await openLedgerDatabase({ DATABASE_URL: runtimeUrl, DATA_DIR: '.data-unused' })).close();
  });

  it('ledger migrate refuses the runtime role as the migrator, and the owner as the runtime role', async () => {
    const asRuntime = await refundflow(['ledger', 'migrate'], { LEDGER_MIGRATION_URL: runtimeUrl, DATABASE_URL: ownerUrl });
    expect(asRuntime.code).toBe(1);
    expect(asRuntime.stderr).toContain(`LEDGER_MIGRATION_URL's role "${runtimeRole}" does not own the ledger (its owner is "${ownerRole}")`);
    // A runtime role that is a member of the owner acts as the owner: it could alter the audit trail.
    await admin.query(`GRANT ${ownerRole} TO ${runtimeRole}`);
    try {
      const member = await refundflow(['ledger', 'migrate'], { LEDGER_MIGRATION_URL: ownerUrl, DATABASE_URL: runtimeUrl });
      expect(member.code).toBe(1);
      expect(member.stderr).toContain(`the runtime role "${runtimeRole}" owns the ledger`);
    } finally {
      await admin.query(`REVOKE ${ownerRole} FROM ${runtimeRole}`);
    }
  });
});
