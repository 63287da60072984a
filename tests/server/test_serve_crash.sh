#!/usr/bin/env bash
# kill -9 under load: a writer records every SET that got +OK while
# redis-benchmark adds load; the server is killed mid-stream and restarted,
# and every acknowledged write must be there. Run for "always" (an fsync per
# write) and "group" (shared fsyncs): both acknowledge only durable writes.
source "$(dirname "$0")/serve_lib.sh"

crash_round() {
  local policy=$1 db="$T/db-$1"
  start_serve "$policy" --db "$db" --create --sync "$policy"
  redis-benchmark -p "$PORT" -t set -n 100000000 -r 100000 -c 8 -P 4 -q >/dev/null 2>&1 &
  local load=$!
  PIDS+=("$load")
  "$CLIENT" writer "$ADDR" 16 >"$T/acks-$policy" 2>/dev/null &
  local writer=$!
  PIDS+=("$writer")
  enough() { [[ $(wc -l <"$T/acks-$policy") -ge 10000 ]]; }
  poll_until "10000 acknowledged writes ($policy)" 120 enough
  kill -9 "$SERVE_PID"
  wait_exit "$SERVE_PID"
  wait_exit "$writer"
  kill "$load" 2>/dev/null || true
  wait_exit "$load"
  local acked
  acked=$(grep -c '^ok ' "$T/acks-$policy")
  start_serve "$policy-again" --db "$db" --sync "$policy"
  check_eq "$("$CLIENT" check "$ADDR" "$T/acks-$policy")" "verified $acked" "acknowledged writes after kill -9 ($policy)"
  echo "$policy: $acked acknowledged writes, all present after kill -9"
  stop_serve TERM
}

crash_round always
crash_round group
echo "serve_crash: all passed"
