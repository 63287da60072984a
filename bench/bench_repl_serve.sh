#!/usr/bin/env bash
# The cost of replication to a primary, with real processes: redis-benchmark
# SET (50 clients, -P 16, 100-byte values) against `rockstream serve` with 0,
# 1 and 2 followers (`rockstream follow`) attached, in the same run; prints
# requests per second and the ratio to 0 followers (the issue's target is
# >= 0.90 with two), then the followers' lag as INFO replication reports it.
#
#   bench/bench_repl_serve.sh [ROCKSTREAM] [REQUESTS]
# ROCKSTREAM defaults to build/rel/cli/rockstream, REQUESTS to 1000000.
# SERVE_OPTS adds serve options (default --sync group, the default).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rs=${1:-$root/build/rel/cli/rockstream}
n=${2:-1000000}
source "$root/bench/bench_lib.sh"
bench_setup repl redis-benchmark redis-cli

"$rs" keygen --repl --out "$tmp/repl.key" >/dev/null
"$rs" serve --db "$tmp/p" --create --listen 127.0.0.1:0 --port-file "$tmp/p.port" \
  --repl-listen 127.0.0.1:0 --repl-key "$tmp/repl.key" ${SERVE_OPTS:-} 2>"$tmp/p.log" &
ppid=$!
pids+=("$ppid")
pport=$(wait_port "$tmp/p.port")
rport=$(redis-cli -p "$pport" info replication | tr -d '\r' | sed -n 's/^repl_listen_port://p')

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; } # user + system, in clock ticks
run() { # prints "requests/s primary-cpu-ms-per-100K-requests"
  local t0 rps
  t0=$(cpu_ticks "$ppid")
  rps=$(redis-benchmark -p "$pport" -c 50 -n "$n" -r 1000000 -d 100 -P 16 -t set --csv 2>/dev/null |
    awk -F, 'NR > 1 { gsub(/"/, ""); print $2 }')
  echo "$rps $(( ($(cpu_ticks "$ppid") - t0) * 1000 / $(getconf CLK_TCK) * 100000 / n ))"
}
follow() {
  "$rs" follow --db "$tmp/f$1" --primary "127.0.0.1:$rport" --repl-key "$tmp/repl.key" \
    --listen 127.0.0.1:0 --port-file "$tmp/f$1.port" --name "f$1" 2>"$tmp/f$1.log" &
  pids+=($!)
  wait_port "$tmp/f$1.port" >/dev/null
}
caught_up() { # waits until every follower acked the primary's latest
  local want
  want=$(redis-cli -p "$pport" info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p')
  for _ in $(seq 600); do
    (( $(redis-cli -p "$pport" wait "$1" 100) >= $1 )) && return 0
  done
  echo "followers did not catch up to $want" >&2
  return 1
}

r0=$(run)
follow 1
caught_up 1
r1=$(run)
caught_up 1
follow 2
caught_up 2
r2=$(run)
redis-cli -p "$pport" info replication | tr -d '\r' | grep '^slave' | sed 's/^/  /'
caught_up 2
set -- $r0 $r1 $r2
awk -v a="$1" -v b="$3" -v c="$5" -v n="$n" 'BEGIN {
  printf "SET -P 16, %d requests: 0 followers %.0f/s; 1 follower %.0f/s (%.2f); 2 followers %.0f/s (%.2f)\n",
         n, a, b, b / a, c, c / a }'
echo "primary CPU per 100K requests: 0 followers $2 ms; 1 follower $4 ms; 2 followers $6 ms" \
     "(machine: $(nproc) cores; every process of the run shares them)"
