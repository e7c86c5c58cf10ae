#!/usr/bin/env bash
# sql/schema.sql is the schema the migrations produce, as pg_dump prints it:
# the one file that shows the whole current schema. This script writes it,
# or checks that the checked-in copy is current (ctest integration/schema_dump).
#
#   tests/schema_dump.sh [--check] [--bin POSTPACE] [--url CONNINFO]
#
# It migrates a scratch database with the build's `postpace migrate` (default
# build/postpace), runs pg_dump --schema-only --no-owner --no-privileges on it,
# and drops the lines that name the server and pg_dump versions or carry
# pg_dump's per-run \restrict key. --url names a cluster to create the scratch
# database in (default: a private cluster of its own in a temporary folder,
# deploy/pg-private.sh). --check compares with sql/schema.sql and, when they
# differ, prints the diff and the command that rewrites it, and fails.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
check=0 bin=$top/build/postpace url=
while [ $# -gt 0 ]; do
  case "$1" in
  --check) check=1 ;;
  --bin) bin=${2:?--bin needs a path}; shift ;;
  --url) url=${2:?--url needs a conninfo}; shift ;;
  *) echo "usage: tests/schema_dump.sh [--check] [--bin POSTPACE] [--url CONNINFO]" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$bin" ] || { echo "schema_dump: no postpace binary at $bin (build first)" >&2; exit 1; }
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

work=$(mktemp -d /tmp/pp-schema.XXXXXX)
own_cluster=0
db=schema_dump_$$
cleanup() {
  if [ -n "$url" ]; then psql "$url" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; fi
  if [ "$own_cluster" = 1 ]; then
    local data
    data=$("$top/deploy/pg-private.sh" data "$work/pg")
    "$top/deploy/pg-private.sh" kill "$work/pg" >/dev/null 2>&1 || true
    rm -rf "$data"
  fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ -z "$url" ]; then
  own_cluster=1
  url=$("$top/deploy/pg-private.sh" start "$work/pg")
fi

psql "$url" -qc "CREATE DATABASE $db" >/dev/null
scratch="$url dbname=$db" # a later dbname wins in a conninfo string
DATABASE_URL="$scratch" "$bin" migrate >"$work/migrate.log" 2>&1 ||
  { cat "$work/migrate.log" >&2; exit 1; }
"$bindir/pg_dump" --schema-only --no-owner --no-privileges "$scratch" |
  grep -v -e '^-- Dumped from database version' -e '^-- Dumped by pg_dump version' \
          -e '^\\restrict ' -e '^\\unrestrict ' >"$work/schema.sql"

if [ "$check" = 0 ]; then
  cp "$work/schema.sql" "$top/sql/schema.sql"
  echo "schema_dump: wrote sql/schema.sql" >&2
  exit 0
fi
if ! diff -u "$top/sql/schema.sql" "$work/schema.sql" >"$work/diff"; then
  cat "$work/diff"
  echo "schema_dump: sql/schema.sql is not what the migrations produce (diff above: - checked in," \
       "+ produced). If the migrations are right, rewrite it with: tests/schema_dump.sh" \
       "--bin ${bin#"$top"/}" >&2
  exit 1
fi
echo "schema_dump: sql/schema.sql is current" >&2
