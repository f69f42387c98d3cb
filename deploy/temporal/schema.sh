#!/bin/sh
# Creates Temporal's two databases when missing and brings their schemas up to the versions the
# server's own schema files give, with the server's SQL tool. Every step is a no-op when already
# done, so it runs before every start: after a server upgrade it applies the new schema versions
# before the new server starts. Run by `npm run cluster` (scripts/cluster/) and by the compose
# stack's one-shot temporal-schema service, with the same variables:
#   POSTGRES_SEEDS, DB_PORT (5432), POSTGRES_USER, SQL_PASSWORD (may be empty: trust auth);
#   TEMPORAL_DB (temporal), TEMPORAL_VISIBILITY_DB (temporal_visibility);
#   TEMPORAL_SCHEMA_DIR: the server module's schema/postgresql/v12;
#   SQL_TOOL: the temporal-sql-tool binary (on PATH by default).
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${TEMPORAL_SCHEMA_DIR:?TEMPORAL_SCHEMA_DIR (the server module schema/postgresql/v12 folder) is required}"
port="${DB_PORT:-5432}"
db="${TEMPORAL_DB:-temporal}"
visibility_db="${TEMPORAL_VISIBILITY_DB:-temporal_visibility}"
sql_tool_bin="${SQL_TOOL:-temporal-sql-tool}"
export SQL_PASSWORD="${SQL_PASSWORD:-}"

sql_tool() {
  "$sql_tool_bin" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

# "create" leaves an existing database alone; setup-schema -v 0.0 only adds the version tables.
for name in "$db" "$visibility_db"; do
  sql_tool --db "$name" create
done
sql_tool --db "$db" setup-schema -v 0.0
sql_tool --db "$db" update-schema -d "$TEMPORAL_SCHEMA_DIR/temporal/versioned"
sql_tool --db "$visibility_db" setup-schema -v 0.0
sql_tool --db "$visibility_db" update-schema -d "$TEMPORAL_SCHEMA_DIR/visibility/versioned"
echo "Temporal schemas are up to date ($db, $visibility_db)"
