#!/bin/sh
# Once the Temporal server answers: the engine's namespace and the search attributes refund runs
# carry (src/domain/search-attributes.ts), with the Temporal CLI (and jq). Run by `npm run cluster`
# (scripts/cluster/) and by the compose stack's one-shot temporal-setup service. TLS to the frontend:
# the CLI's own TEMPORAL_TLS_* variables.
# Safe to run again: it creates only what is missing, and fails if an attribute exists with another type.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
: "${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE is required}"
: "${REFUND_SEARCH_ATTRIBUTES:?REFUND_SEARCH_ATTRIBUTES (Name=Type pairs) is required}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-30d}"
tries="${SETUP_TRIES:-60}"

# Runs "$@" until it succeeds, every 2 seconds, at most $tries times.
retry() {
  n=1
  until "$@"; do
    if [ "$n" -ge "$tries" ]; then
      echo "gave up after $tries tries: $*" >&2
      return 1
    fi
    n=$((n + 1))
    sleep 2
  done
}

quiet() { "$@" >/dev/null 2>&1; }

retry quiet temporal operator cluster health --address "$TEMPORAL_ADDRESS"

if quiet temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE"; then
  echo "Namespace $TEMPORAL_NAMESPACE exists"
else
  retry temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" --retention "$retention"
  echo "Namespace $TEMPORAL_NAMESPACE created (retention $retention)"
fi

# The type the namespace has for attribute $1, as the CLI's JSON names it (e.g. INDEXED_VALUE_TYPE_KEYWORD),
# or nothing. A namespace that was just created may take a few seconds to be served.
current_type() {
  list="$(temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" -o json)" || return 1
  printf '%s' "$list" | jq -r --arg name "$1" '(.customAttributes // {})[$name] // empty'
}

for pair in $REFUND_SEARCH_ATTRIBUTES; do
  name="${pair%%=*}"
  type="${pair#*=}"
  want="INDEXED_VALUE_TYPE_$(echo "$type" | tr '[:lower:]' '[:upper:]')"
  have="$(retry current_type "$name")"
  if [ -z "$have" ]; then
    retry temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
    echo "Search attribute $name ($type) created"
  elif [ "$have" = "$want" ]; then
    echo "Search attribute $name ($type) exists"
  else
    echo "Search attribute $name exists as $have, not $type: remove it or rename it" >&2
    exit 1
  fi
done
