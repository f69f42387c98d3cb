#!/bin/sh
# One-shot, before the Temporal server starts (service temporal-schema in docker-compose.yml):
# creates Temporal's two databases when missing and brings their schemas up to the version this
# admin-tools image ships. Every step is a no-op when already done, so it runs on every `up`, and
# after an image upgrade it applies the new schema versions before the new server starts.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD (read by temporal-sql-tool) is required}"
port="${DB_PORT:-5432}"
schemas=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

# "create" leaves an existing database alone; setup-schema -v 0.0 only adds the version tables.
for db in temporal temporal_visibility; do
  sql_tool --db "$db" create
done
sql_tool --db temporal setup-schema -v 0.0
sql_tool --db temporal update-schema -d "$schemas/temporal/versioned"
sql_tool --db temporal_visibility setup-schema -v 0.0
sql_tool --db temporal_visibility update-schema -d "$schemas/visibility/versioned"
echo "Temporal schemas are up to date"
