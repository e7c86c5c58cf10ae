#!/usr/bin/env bash
# Requests per second postpace-sim sustains on loopback with keep-alive,
# the simulator pinned to one core and wrk to the other (bounded: DURATION).
#
#   tests/bench/sim_rps.sh [path/to/postpace-sim]     (DURATION=5s CONNS=32)
#
# A baseline (unknown route: h2o plus a tiny 404, the machine's ceiling right
# now; other sessions share the cores), then three mixes: a read that passes the limiter (FeedHorizon GET, limit raised),
# a create that passes (Postlark POST /posts, stores posts, counts duplicates,
# no webhook URL so none are sent), and the 429 path (PostEverywhere GET on a
# key with default limits: all but the first 60 are refused).
set -euo pipefail
SIM=${1:-$(dirname "$0")/../../build-sim/tests/sim/postpace-sim}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT

cat > "$tmp/config.json" <<'JSON'
{"keys":[
 {"provider":"feedhorizon","key":"fh_bench","limits":{"key_60s":1000000000}},
 {"provider":"postlark","key":"pl_bench","plan":"enterprise","limits":{"key_hour":1000000000}},
 {"provider":"posteverywhere","key":"pe_bench"}
]}
JSON
cat > "$tmp/create.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer pl_bench"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"content":"benchmark post body of a typical length, about one tweet long","blog_id":"b1","reference":"bench"}'
LUA

taskset -c 0 "$SIM" --listen 127.0.0.1:0 --config "$tmp/config.json" > "$tmp/out" 2> "$tmp/err" &
pid=$!
for _ in $(seq 100); do grep -q '^port=' "$tmp/out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^port=//p' "$tmp/out")
base="http://127.0.0.1:$port"

run() {
    local name=$1; shift
    local rps
    rps=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"$DURATION" "$@" | awk '/Requests\/sec/ {print $2}')
    printf '%-28s %10s req/s\n' "$name" "$rps"
}
run "baseline: unknown route" "$base/nothing"
run "read (200)" -H "Authorization: Bearer fh_bench" "$base/feedhorizon/v1/posts"
run "create (201)" -s "$tmp/create.lua" "$base/postlark/v1/posts"
run "refused (429)" -H "Authorization: Bearer pe_bench" "$base/posteverywhere/api/v1/accounts"
curl -s "$base/_stats" | python3 -c 'import json,sys; s=json.load(sys.stdin)["providers"]; print("stats:", {k: (v["requests"], v["created"], v["rate_limited"]) for k, v in s.items() if v["requests"]})'
