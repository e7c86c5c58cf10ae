# Sourced by the benchmarks that count instructions (store_instructions.sh,
# expand_instructions.sh): a private cluster in a temporary folder, migrated
# by a build's postpace, stopped and then run as a single-user server under
# callgrind, one statement a line, on a fresh copy of its data each time.
#
#   su_setup NAME BUILD_DIR [VARIANT.sql]   starts the cluster, creates and
#       migrates database `instr`, applies VARIANT.sql; sets $work, $url.
#   su_stop                                 stops it (before su_callgrind).
#   su_callgrind SQL_FILE OUT_FILE [-j]     runs SQL_FILE, one statement a line
#       (-j: a statement ends with ';' at a line's end); prints the count.
# The cluster and folder are removed at exit.
su_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
su_bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

su_as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

su_setup() {
  local name=$1 build=$2 variant=${3:-}
  command -v valgrind >/dev/null || { echo "$name: needs valgrind" >&2; exit 1; }
  [ -z "$variant" ] || variant=$(cd "$(dirname "$variant")" && pwd)/$(basename "$variant")
  work=$(mktemp -d "/tmp/pp-$name.XXXXXX")
  su_data=$("$su_top/deploy/pg-private.sh" data "$work")
  trap '"$su_top/deploy/pg-private.sh" kill "$work" >/dev/null 2>&1 || true; rm -rf "$work" "$su_data"' EXIT
  url=$("$su_top/deploy/pg-private.sh" start "$work")
  psql "$url" -qc "CREATE DATABASE instr"
  url="${url/dbname=postgres/dbname=instr}"
  DATABASE_URL="$url" "$build/postpace" migrate >/dev/null 2>&1
  [ -z "$variant" ] || psql "$url" -q -v ON_ERROR_STOP=1 -f "$variant" >/dev/null
}

su_stop() { "$su_top/deploy/pg-private.sh" stop "$work"; }

su_callgrind() {
  local sql=$1 out=$2 mode=${3:-}
  rm -rf "$work/run"
  cp -a "$su_data" "$work/run"
  [ "$(id -u)" = 0 ] && chown -R postgres "$work/run" "$sql"
  su_as_owner valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$su_bindir/postgres" --single $mode -D "$work/run" instr <"$sql" >"$out" 2>"$work/vg"
  grep -o "summary: [0-9]*" "$work/cg.out" | awk '{print $2}'
}
