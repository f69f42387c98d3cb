-- Runs once, when the PostgreSQL volume is new (mounted into /docker-entrypoint-initdb.d by
-- docker-compose.yml): the refund ledger's database and its two roles, so the engine connects
-- neither as the superuser Temporal uses nor as the owner of its own tables (docs/operations.md,
-- "The ledger's two roles"). Temporal's databases are made by deploy/temporal-schema.sh.
--
--   refundflow          owns the database, and so every ledger table: only the one-shot
--                       ledger-migrate service connects as it, to migrate and to grant;
--   refundflow_runtime  the worker's and the API's (DATABASE_URL): `refundflow ledger migrate` grants
--                       it what the engine does, no more. It owns nothing, so it cannot alter, drop or
--                       turn off the triggers of the audit trail, which it may only add to and read.
--
-- The passwords come from the container's environment (REFUNDFLOW_DB_PASSWORD and
-- REFUNDFLOW_RUNTIME_DB_PASSWORD, from .env). Changing one in .env later does not change the role:
-- run ALTER ROLE … PASSWORD '…' as well.
\getenv refundflow_password REFUNDFLOW_DB_PASSWORD
\if :{?refundflow_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'REFUNDFLOW_DB_PASSWORD is not set: cannot create the refundflow role'; END $$;
\endif
\getenv runtime_password REFUNDFLOW_RUNTIME_DB_PASSWORD
\if :{?runtime_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'REFUNDFLOW_RUNTIME_DB_PASSWORD is not set: cannot create the refundflow_runtime role'; END $$;
\endif

CREATE ROLE refundflow LOGIN PASSWORD :'refundflow_password';
CREATE ROLE refundflow_runtime LOGIN PASSWORD :'runtime_password';
CREATE DATABASE refundflow OWNER refundflow;
