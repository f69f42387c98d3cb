import type { Database, Queryable } from './database.js';
import { grantRuntime } from './grants.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Versioned migrations, applied in order, each once, in a transaction. Add new ones at the end;
 * never edit one that has shipped. A new table needs its runtime privileges in src/ledger/grants.ts.
 */
export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'refunds',
    sql: `
      CREATE TABLE refunds (
        refund_id          text PRIMARY KEY,
        provider           text NOT NULL CHECK (provider IN ('oen', 'mwd')),
        order_id           text NOT NULL,
        transaction_hid    text,
        amount             integer NOT NULL CHECK (amount > 0),
        status             text NOT NULL CHECK (status IN ('received', 'awaiting_approval', 'submitting',
                             'succeeded', 'failed', 'requires_attention', 'cancelled')),
        provider_reference text,
        attempts           integer NOT NULL DEFAULT 0,
        error_code         text,
        error_message      text,
        workflow_id        text NOT NULL,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now(),
        completed_at       timestamptz,
        CHECK (provider <> 'oen' OR transaction_hid IS NOT NULL)
      );
      -- Money-safety rule 1, beyond Temporal's retention: one live or succeeded refund per Oen
      -- transaction. Failed and cancelled ones do not count, so a new refund may follow them.
      CREATE UNIQUE INDEX refunds_one_per_oen_transaction ON refunds (transaction_hid)
        WHERE provider = 'oen' AND status NOT IN ('failed', 'cancelled');
      CREATE INDEX refunds_by_order ON refunds (order_id, created_at);
      CREATE INDEX refunds_by_status ON refunds (status, updated_at);
    `,
  },
  {
    version: 2,
    name: 'unanswered provider sends',
    // MWD cannot be asked what happened. An attempt that sent a refund and then died (worker crash,
    // activity timeout) leaves its number here; the next attempt sees it and hands the refund to a
    // person instead of sending again.
    sql: `ALTER TABLE refunds ADD COLUMN unanswered_send_attempt integer`,
  },
  {
    version: 3,
    name: 'unanswered sends named across runs',
    // Attempt numbers start again at 1 in every run (a Reset, a new run after a terminated one), so
    // an attempt number alone cannot tell "my own mark" from an earlier run's: the mark now names
    // the attempt and its run, and any mark left standing stops the next send.
    sql: `
      ALTER TABLE refunds ADD COLUMN unanswered_send text;
      UPDATE refunds SET unanswered_send = 'attempt ' || unanswered_send_attempt WHERE unanswered_send_attempt IS NOT NULL;
      ALTER TABLE refunds DROP COLUMN unanswered_send_attempt;
    `,
  },
  {
    version: 4,
    name: 'event inbox, refund requests, rejected requests',
    sql: `
      -- Every accepted event, written before the API answers; its workflow is started from here.
      CREATE TABLE inbox_events (
        event_id        text PRIMARY KEY,
        type            text NOT NULL,
        source          text NOT NULL,
        body_hash       text NOT NULL,
        event           jsonb NOT NULL,
        answer          text NOT NULL, -- JSON, kept as text so a duplicate gets the first answer byte for byte
        status          text NOT NULL CHECK (status IN ('pending', 'started', 'refused')),
        attempts        integer NOT NULL DEFAULT 0,
        last_error      text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        received_at     timestamptz NOT NULL DEFAULT now(),
        started_at      timestamptz
      );
      CREATE INDEX inbox_events_pending ON inbox_events (next_attempt_at) WHERE status = 'pending';
      -- The contents first accepted for each refund id: the same id with other contents is a conflict.
      CREATE TABLE refund_requests (
        refund_id    text PRIMARY KEY,
        event_id     text NOT NULL,
        request_hash text NOT NULL,
        received_at  timestamptz NOT NULL DEFAULT now()
      );
      -- Every request the API refused, so nothing order management sends is silently dropped.
      CREATE TABLE rejected_requests (
        id          bigserial PRIMARY KEY,
        received_at timestamptz NOT NULL DEFAULT now(),
        status_code integer NOT NULL,
        reason      text NOT NULL,
        problems    jsonb,
        event_id    text,
        event_type  text,
        body_hash   text NOT NULL,
        body_size   integer NOT NULL,
        body        text NOT NULL
      );
      CREATE INDEX rejected_requests_by_time ON rejected_requests (received_at);
    `,
  },
  {
    version: 5,
    name: 'provider rate limit slots',
    sql: `
      -- The next moment each provider may be sent a request: shared by every worker on this ledger,
      -- so a per-provider rate limit holds across all of them (src/providers/rate-limit.ts).
      CREATE TABLE provider_rate_slots (
        provider text PRIMARY KEY,
        next_at  timestamptz NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'reconciliation reports',
    sql: `
      -- Every reconciliation run's report (src/ledger/reconciliation.ts): its counts per outcome and
      -- the refunds whose status it changed, with the provider's evidence.
      CREATE TABLE reconciliation_reports (
        run_id      text PRIMARY KEY,
        workflow_id text NOT NULL,
        started_at  timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        report      jsonb NOT NULL
      );
      CREATE INDEX reconciliation_reports_by_time ON reconciliation_reports (finished_at);
      -- When reconciliation saw a succeeded refund refunded at the provider: it is not asked again.
      ALTER TABLE refunds ADD COLUMN confirmed_at timestamptz;
      -- How many times reconciliation claimed the refund to send it again: at most once.
      ALTER TABLE refunds ADD COLUMN reconcile_resubmits integer NOT NULL DEFAULT 0;
      -- What reconciliation looks for: succeeded refunds by when they completed.
      CREATE INDEX refunds_by_status_completed ON refunds (status, completed_at);
    `,
  },
  {
    version: 7,
    name: 'provider retry window',
    // Since when a refund's provider calls have been failing (transiently):
    // PROVIDER_RETRY_WINDOW_SECONDS counts from the first provider failure, not from when the call
    // was scheduled, so time queued behind a burst or lost to a dead worker is not counted.
    sql: `ALTER TABLE refunds ADD COLUMN retrying_since timestamptz`,
  },
  {
    version: 8,
    name: 'refund sends',
    // How many times the refund call was sent to the provider: a refusal of a send after an earlier
    // one proves nothing by itself (that earlier one may have been carried out), so Oen is asked.
    sql: `ALTER TABLE refunds ADD COLUMN sends integer NOT NULL DEFAULT 0`,
  },
  {
    version: 9,
    name: 'refund request and owning run',
    sql: `
      -- A hash of what the refund asks (provider, order, transaction, amount, card token): a run
      -- carrying another request for the same refund id is refused, never resumed.
      ALTER TABLE refunds ADD COLUMN request_hash text;
      -- The run that owns the refund: operator decisions go to it, not to whichever run of the
      -- workflow id is newest (a later refund of the same Oen transaction).
      ALTER TABLE refunds ADD COLUMN run_id text;
    `,
  },
  {
    version: 10,
    name: 'refund row version',
    sql: `
      -- Every write of a refund row counts: "is it still as I read it?" compares the version, not the
      -- last update's time (two writes can land in one millisecond).
      ALTER TABLE refunds ADD COLUMN version integer NOT NULL DEFAULT 0;
      CREATE FUNCTION refunds_next_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        NEW.version := OLD.version + 1;
        RETURN NEW;
      END;
      $$;
      CREATE TRIGGER refunds_version BEFORE UPDATE ON refunds FOR EACH ROW EXECUTE FUNCTION refunds_next_version();
    `,
  },
  {
    version: 11,
    name: 'unconfirmed subscription cancels',
    sql: `
      -- A subscription an order.cancelled event asked to cancel, whose cancel Oen did not confirm:
      -- kept for a person, with an outcome event (src/ledger/subscriptions.ts).
      CREATE TABLE unconfirmed_subscription_cancels (
        subscription_id text PRIMARY KEY,
        order_id        text NOT NULL,
        reason          text NOT NULL,
        workflow_id     text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 12,
    name: 'operator identities and decisions',
    sql: `
      -- Named API keys (npx refundflow operator add): only a SHA-256 of the secret part is kept; the
      -- key itself is printed once. A revoked key stays, so the audit trail's names keep their meaning.
      CREATE TABLE api_keys (
        name        text PRIMARY KEY,
        role        text NOT NULL CHECK (role IN ('viewer', 'operator', 'approver')),
        key_id      text NOT NULL UNIQUE,
        secret_hash text NOT NULL,
        created_by  text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        revoked_at  timestamptz,
        revoked_by  text
      );
      -- Who decided what on a refund (approvals, a rejection or cancel, a resolution), as the API
      -- verified them: appended by the move that carries the decision.
      ALTER TABLE refunds ADD COLUMN decisions jsonb NOT NULL DEFAULT '[]'::jsonb;
    `,
  },
  {
    version: 13,
    name: 'operator audit trail',
    sql: `
      -- Every operator action, refused ones included (src/ledger/audit.ts). Append-only: the
      -- triggers refuse every UPDATE and DELETE, whoever connects.
      CREATE TABLE operator_audit (
        id            bigserial PRIMARY KEY,
        at            timestamptz NOT NULL DEFAULT now(),
        actor_id      text NOT NULL,
        actor_name    text NOT NULL,
        role          text,
        action        text NOT NULL,
        refund_id     text,
        outcome       text NOT NULL CHECK (outcome IN ('done', 'refused')),
        status_before text,
        status_after  text,
        reason        text,
        detail        jsonb,
        request_id    text NOT NULL
      );
      CREATE INDEX operator_audit_by_refund ON operator_audit (refund_id, id);
      CREATE INDEX operator_audit_by_actor ON operator_audit (actor_id, id);
      CREATE FUNCTION operator_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'operator_audit is append-only: % is not allowed', TG_OP;
      END;
      $$;
      CREATE TRIGGER operator_audit_no_update BEFORE UPDATE OR DELETE ON operator_audit
        FOR EACH ROW EXECUTE FUNCTION operator_audit_append_only();
      CREATE TRIGGER operator_audit_no_truncate BEFORE TRUNCATE ON operator_audit
        FOR EACH STATEMENT EXECUTE FUNCTION operator_audit_append_only();
    `,
  },
  {
    version: 14,
    name: 'undelivered outcome events',
    sql: `
      -- Outcome events whose delivery failed and has not succeeded since (src/ledger/outcomes.ts):
      -- a row per delivery id, written by the attempt that failed, deleted by the one that delivers.
      CREATE TABLE undelivered_outcomes (
        delivery_id     text PRIMARY KEY,
        type            text NOT NULL,
        subject         text NOT NULL, -- the refund id, or the subscription id
        failures        integer NOT NULL DEFAULT 1,
        first_failed_at timestamptz NOT NULL DEFAULT now(),
        last_failed_at  timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 15,
    name: 'refund status since',
    sql: `
      -- When the refund entered its present status: how long it has waited there (src/ledger/gauges.ts,
      -- the API's /metrics). updated_at cannot say it: an attempt and reconciliation's evidence move
      -- it without a change of status. Kept by a trigger, so every writer of status keeps it. Rows
      -- from before this migration have none; their updated_at stands in.
      ALTER TABLE refunds ADD COLUMN status_since timestamptz;
      ALTER TABLE refunds ALTER COLUMN status_since SET DEFAULT now();
      CREATE FUNCTION refunds_status_since() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
          NEW.status_since := now();
        END IF;
        RETURN NEW;
      END;
      $$;
      CREATE TRIGGER refunds_status_since BEFORE UPDATE OF status ON refunds FOR EACH ROW EXECUTE FUNCTION refunds_status_since();
    `,
  },
  {
    version: 16,
    name: 'accepted order and subscription events, by subject',
    sql: `
      -- The gate (src/ledger/acceptance.ts) finds the accepted event behind an order or subscription
      -- run by the order or subscription it names.
      CREATE INDEX inbox_events_orders ON inbox_events ((event -> 'data' ->> 'orderId')) WHERE type = 'order.cancelled';
      CREATE INDEX inbox_events_subscriptions ON inbox_events ((event -> 'data' ->> 'subscriptionId')) WHERE type = 'subscription.cancelled';
    `,
  },
  {
    version: 17,
    name: 'keys belong to people',
    sql: `
      -- Four eyes count people, not keys (src/domain/four-eyes.ts). A key belongs to a person (an OIDC
      -- subject where OIDC is used); keys made before had none: each is its name's, as their
      -- decisions were counted. revealed_to: the other person the key was shown to when it was made
      -- (its granter, or the one who confirmed the grant), who could present it too; unknown (NULL)
      -- for older keys and for keys written straight into the ledger.
      ALTER TABLE api_keys ADD COLUMN person text;
      UPDATE api_keys SET person = name;
      ALTER TABLE api_keys ALTER COLUMN person SET NOT NULL;
      ALTER TABLE api_keys ADD COLUMN revealed_to text;
      -- A grant waiting for a second person's confirmation (dual approval on) has no secret yet.
      ALTER TABLE api_keys ADD COLUMN granted_by_person text;
      ALTER TABLE api_keys ADD COLUMN confirmed_by text;
      ALTER TABLE api_keys ADD COLUMN confirmed_at timestamptz;
      ALTER TABLE api_keys ALTER COLUMN secret_hash DROP NOT NULL;
      ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_check;
      ALTER TABLE api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('viewer', 'operator', 'approver', 'admin'));
    `,
  },
  {
    version: 18,
    name: 'decision proofs used',
    sql: `
      -- A signed resolution is single use (src/ledger/resolution.ts): the first run to present it
      -- claims it here, by the SHA-256 of the statement it signs (not of the signature, which could be
      -- re-encoded), before it changes anything; any other run presenting it — a copy of the input
      -- started again through Temporal — is refused, naming this one.
      CREATE TABLE decision_proofs_used (
        statement_sha256 text PRIMARY KEY,
        action           text NOT NULL,
        refund_id        text NOT NULL,
        workflow_id      text NOT NULL,
        run_id           text NOT NULL,
        used_at          timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 19,
    name: 'refund claimants',
    // Who holds a refund in submitting: the run that claimed it (its own, a reconciliation's, a
    // resolution's), so another writer moves it only once that run is closed.
    sql: `ALTER TABLE refunds ADD COLUMN claimed_by_workflow text, ADD COLUMN claimed_by_run text`,
  },
  {
    version: 20,
    name: 'audited before carried out',
    sql: `
      -- An operator action is written before it is carried out (attempted), then how it ended: done,
      -- refused, or pending (a resolution answered 202, still running or waiting for a second person).
      ALTER TABLE operator_audit DROP CONSTRAINT operator_audit_outcome_check;
      ALTER TABLE operator_audit ADD CONSTRAINT operator_audit_outcome_check CHECK (outcome IN ('attempted', 'done', 'refused', 'pending'));
    `,
  },
  {
    version: 21,
    name: 'outcome events outbox',
    sql: `
      -- Every outcome event, written by the database itself in the transaction that gives a refund
      -- its outcome status (or keeps a subscription cancel for a person): nothing else decides that
      -- an outcome exists (src/ledger/outbox.ts). The triggers' functions run as the ledger's owner
      -- (SECURITY DEFINER), so the runtime role, which may only read this table, cannot write an
      -- outcome no refund reached. The event id is the one the runs' own delivery used before
      -- (refund.status.epoch-milliseconds), so a receiver that has it already sees the same id.
      -- position: the stream's order (GET /v1/outcomes?after=), given by outcome_events_sequence()
      -- once the event's transaction has committed, one sequencer at a time: a later position never
      -- shows up before an earlier one, which a position taken at insert (in transactions that
      -- commit out of order) could not promise a reader who remembers only the last one it read.
      CREATE TABLE outcome_events (
        id          bigserial PRIMARY KEY,
        position    bigint UNIQUE,
        event_id    text NOT NULL UNIQUE,
        type        text NOT NULL,
        subject     text NOT NULL,
        occurred_at timestamptz NOT NULL,
        data        jsonb NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX outcome_events_unsequenced ON outcome_events (id) WHERE position IS NULL;

      CREATE FUNCTION outcome_event_of_refund() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      BEGIN
        IF NEW.status IN ('succeeded', 'failed', 'requires_attention', 'cancelled')
           AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
          INSERT INTO outcome_events (event_id, type, subject, occurred_at, data)
          VALUES (NEW.refund_id || '.' || NEW.status || '.' || floor(extract(epoch FROM NEW.updated_at) * 1000)::bigint,
                  'refund.' || NEW.status, NEW.refund_id, NEW.updated_at, to_jsonb(NEW))
          ON CONFLICT (event_id) DO NOTHING;
        END IF;
        RETURN NULL;
      END;
      $$;
      CREATE TRIGGER refunds_outcome_event AFTER INSERT OR UPDATE OF status ON refunds
        FOR EACH ROW EXECUTE FUNCTION outcome_event_of_refund();

      CREATE FUNCTION outcome_event_of_subscription() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      BEGIN
        INSERT INTO outcome_events (event_id, type, subject, occurred_at, data)
        VALUES (NEW.subscription_id || '.requires_attention.' || floor(extract(epoch FROM NEW.created_at) * 1000)::bigint,
                'subscription.requires_attention', NEW.subscription_id, NEW.created_at, to_jsonb(NEW))
        ON CONFLICT (event_id) DO NOTHING;
        RETURN NULL;
      END;
      $$;
      CREATE TRIGGER subscription_cancels_outcome_event AFTER INSERT ON unconfirmed_subscription_cancels
        FOR EACH ROW EXECUTE FUNCTION outcome_event_of_subscription();

      -- Gives the committed events without a position the next ones, oldest first; answers how many.
      CREATE FUNCTION outcome_events_sequence(batch integer) RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
      DECLARE
        given integer;
      BEGIN
        PERFORM pg_advisory_xact_lock(824112);
        WITH todo AS (
          SELECT id, row_number() OVER (ORDER BY id) AS n FROM outcome_events WHERE position IS NULL ORDER BY id LIMIT batch
        ), last AS (SELECT COALESCE(max(position), 0) AS p FROM outcome_events)
        UPDATE outcome_events o SET position = last.p + todo.n FROM todo, last WHERE o.id = todo.id;
        GET DIAGNOSTICS given = ROW_COUNT;
        RETURN given;
      END;
      $$;

      -- Where each destination's delivery stands (src/outcomes/relay.ts): every event up to
      -- delivered_through is delivered there. One relay holds a destination at a time (its lease).
      -- retired_at: a destination no longer configured (its cursor is kept, should it come back).
      CREATE TABLE outcome_destinations (
        destination       text PRIMARY KEY,
        delivered_through bigint NOT NULL,
        lease_holder      text,
        lease_until       timestamptz,
        failures          integer NOT NULL DEFAULT 0,
        last_error        text,
        last_failed_at    timestamptz,
        retired_at        timestamptz,
        created_at        timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 22,
    name: 'the intake of each event and refusal',
    // Events come by HTTP, RabbitMQ or NATS (src/domain/intakes.ts): the ledger says which brought each.
    sql: `
      ALTER TABLE inbox_events ADD COLUMN intake text NOT NULL DEFAULT 'http' CHECK (intake IN ('http', 'amqp', 'nats'));
      ALTER TABLE rejected_requests ADD COLUMN intake text NOT NULL DEFAULT 'http' CHECK (intake IN ('http', 'amqp', 'nats'));
    `,
  },
];

/** What to run when the connected role may not migrate: the owner's one-shot migration. */
const migrateAsOwner =
  "migrate as the ledger's owner: `npx refundflow ledger migrate` with LEDGER_MIGRATION_URL set to the owner's URL " +
  '(docker compose: the ledger-migrate service; docs/operations.md, "The ledger\'s two roles")';

/** The ledger has migrations pending that the connected role may not apply, or may not even read which. */
export class LedgerMigrationError extends Error {
  override readonly name = 'LedgerMigrationError';
}

const privilegeRefused = (err: unknown) => (err as { code?: unknown } | null)?.code === '42501';
/** " (pending: 20 name, 21 name)", or a range when a new ledger has them all to come. */
function pendingText(pending: readonly Migration[]): string {
  if (pending.length === 0) return '';
  const which = pending.length > 3 ? `${pending[0]?.version}–${pending.at(-1)?.version}` : pending.map((m) => `${m.version} ${m.name}`).join(', ');
  return ` (pending: ${which})`;
}

/** The migrations schema_migrations does not list. */
async function notApplied(db: Queryable): Promise<Migration[]> {
  const applied = new Set((await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version));
  return migrations.filter((m) => !applied.has(m.version));
}

/**
 * The migrations not yet applied, found without writing anything (no CREATE, no lock): a process
 * whose role may only use the ledger (the runtime role) starts when there are none.
 */
export async function pendingMigrations(db: Queryable): Promise<Migration[]> {
  const { rows } = await db.query<{ present: boolean; role: string }>("SELECT to_regclass('schema_migrations') IS NOT NULL AS present, current_user AS role");
  const [state] = rows;
  if (!state?.present) return [...migrations];
  try {
    return await notApplied(db);
  } catch (err) {
    if (!privilegeRefused(err)) throw err;
    throw new LedgerMigrationError(
      `role "${state.role}" may not read the ledger (schema_migrations): it was not granted the engine's privileges; ${migrateAsOwner}, which grants them to DATABASE_URL's role`,
    );
  }
}

/**
 * What a process does with its ledger at start: nothing when it is up to date (so the runtime role
 * starts), else `migrate` — which a role that does not own the ledger may not do: it is told to run
 * the owner's migration first.
 */
export async function migrateIfPending(db: Database): Promise<number[]> {
  return (await pendingMigrations(db)).length === 0 ? [] : migrate(db);
}

export interface MigrateOptions {
  /** The runtime role to grant the engine's privileges (src/ledger/grants.ts), after migrating. */
  runtimeRole?: string | undefined;
}

/**
 * Applies the pending migrations in one transaction, then, given a runtime role, grants it what the
 * engine needs (again each time: a new table is covered). Only the ledger's owner (or a role acting
 * as it) may apply migrations, so the tables keep one owner and the runtime role never comes to own
 * one; any other role gets a LedgerMigrationError saying what to run.
 */
export async function migrate(db: Database, options: MigrateOptions = {}): Promise<number[]> {
  let role = 'the connected role';
  let pending: Migration[] = [...migrations];
  try {
    return await db.transaction(async (tx) => {
      // Several processes may start at once against one PostgreSQL: one migrates, the others wait.
      await tx.query('SELECT pg_advisory_xact_lock(824111)');
      const { rows } = await tx.query<{ role: string; owner: string | null; acts_as_owner: boolean | null }>(
        `SELECT current_user AS role, pg_get_userbyid(c.relowner) AS owner, pg_has_role(current_user, c.relowner, 'USAGE') AS acts_as_owner
         FROM (SELECT to_regclass('schema_migrations') AS oid) AS t LEFT JOIN pg_class c ON c.oid = t.oid`,
      );
      const [state] = rows;
      role = `"${state?.role ?? '?'}"`;
      if (state?.owner === null) {
        await tx.query(`CREATE TABLE schema_migrations (
          version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      }
      pending = await notApplied(tx);
      if ((pending.length > 0 || options.runtimeRole !== undefined) && state?.acts_as_owner === false) {
        throw new LedgerMigrationError(
          `role ${role} does not own the ledger (its owner is "${state.owner ?? '?'}"), so it may not migrate it${pendingText(pending)}; ${migrateAsOwner}`,
        );
      }
      for (const migration of pending) {
        await tx.exec(migration.sql);
        await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      }
      if (options.runtimeRole !== undefined) await grantRuntime(tx, options.runtimeRole);
      return pending.map((m) => m.version);
    });
  } catch (err) {
    if (!privilegeRefused(err)) throw err;
    const why = err instanceof Error ? err.message : String(err);
    throw new LedgerMigrationError(`role ${role} may not migrate the ledger${pendingText(pending)}: ${why}; ${migrateAsOwner}`);
  }
}
