-- Runs once, when the PostgreSQL volume is new (mounted into /docker-entrypoint-initdb.d by
-- docker-compose.yml): the refund ledger's own role and database, so the engine does not connect as
-- the superuser Temporal uses. Temporal's databases are made by deploy/temporal-schema.sh.
--
-- The password comes from the container's environment (REFUNDFLOW_DB_PASSWORD, from .env). Changing
-- it in .env later does not change the role: run ALTER ROLE refundflow PASSWORD '…' as well.
\getenv refundflow_password REFUNDFLOW_DB_PASSWORD
\if :{?refundflow_password}
\else
  DO $$ BEGIN RAISE EXCEPTION 'REFUNDFLOW_DB_PASSWORD is not set: cannot create the refundflow role'; END $$;
\endif

CREATE ROLE refundflow LOGIN PASSWORD :'refundflow_password';
CREATE DATABASE refundflow OWNER refundflow;
