#!/usr/bin/env bash
# A private PostgreSQL cluster for development, the demo and the tests.
#
#   deploy/pg-private.sh start DIR   create (first time) and start; prints the conninfo
#   deploy/pg-private.sh stop DIR    stop it (fast shutdown)
#   deploy/pg-private.sh kill DIR    stop it as a crash would (immediate shutdown)
#   deploy/pg-private.sh url DIR     print the conninfo of a running cluster
#   deploy/pg-private.sh data DIR    print where its data directory is
#
# The cluster listens on a unix socket and on a free port of 127.0.0.1, trusts
# local connections (it is private), and is reused by the next `start`.
# initdb refuses to run as root, so as root the cluster runs as the `postgres`
# user; when that user cannot write DIR (a checkout under /root), the data
# lives under /var/tmp instead and DIR records where.
set -euo pipefail

cmd=${1:?usage: pg-private.sh start|stop|url DIR}
dir=${2:?usage: pg-private.sh start|stop|url DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "pg-private: no PostgreSQL server found (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Where the data directory and socket live.
hash=$(printf %s "$dir" | md5sum | cut -c1-12)
data="$dir/data"
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir" 2>/dev/null || true
  if ! runuser -u postgres -- test -w "$dir" 2>/dev/null; then
    data="/var/tmp/postpace-pg-$hash"
    mkdir -p "$data" && chown postgres "$data"
  fi
fi
sock="/tmp/postpace-pg-$hash"

conninfo() { echo "host=$sock port=$(cat "$dir/port") user=postpace dbname=postgres"; }

free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$(( (RANDOM * 32768 + RANDOM) % 30000 + 20000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "pg-private: no free port found" >&2; exit 1
}

case "$cmd" in
start)
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/initdb" -D "$data" -U postpace -A trust -E UTF8 --locale=C.UTF-8 \
      --no-instructions >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  mkdir -p "$sock"
  [ "$(id -u)" = 0 ] && chown postgres "$sock"
  if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    conninfo; exit 0
  fi
  for attempt in 1 2 3; do
    # A restart keeps the previous port: its clients hold the address (the
    # port names the unix socket too). Not probed first: a probe that found
    # the port busy moved a restarted cluster once (test_webhook_outage).
    # Only the last attempt gives it up, for a port another program took.
    if [ -f "$dir/port" ] && [ "$attempt" -lt 3 ]; then
      port=$(cat "$dir/port")
    else
      port=$(free_port)
    fi
    echo "$port" >"$dir/port"
    if as_owner "$bindir/pg_ctl" -D "$data" -w -t 30 -l "$data/server.log" \
         -o "-p $port -k $sock -c listen_addresses=127.0.0.1 ${PG_PRIVATE_OPTS:-}" start >/dev/null; then
      conninfo; exit 0
    fi
    echo "pg-private: start on port $port failed (attempt $attempt)" >&2
    sleep 1
  done
  tail -n 20 "$data/server.log" >&2 || true
  exit 1
  ;;
stop|kill)
  # kill: an immediate shutdown, as a crash would leave it.
  mode=fast; [ "$cmd" = kill ] && mode=immediate
  if [ -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m $mode -w stop >/dev/null 2>&1 || true
  fi
  ;;
url)
  conninfo
  ;;
data)
  echo "$data"
  ;;
*)
  echo "usage: pg-private.sh start|stop|kill|url|data DIR" >&2; exit 2
  ;;
esac
