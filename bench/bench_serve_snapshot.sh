#!/usr/bin/env bash
# What a SNAPSHOT costs the clients of `rockstream serve`: redis-benchmark
# SET and GET (50 clients) against the same server, alternately idle and
# while SNAPSHOTs run back to back, in the same run. Prints requests per
# second and p99 latency of each, the ratio (during snapshots / idle), and
# how long the snapshots took and how many ran. The seal runs on its own
# threads at nice 10 (server/cmd_snapshot.c), so on a machine whose
# CPUs it saturates the snapshots slow down rather than the replies.
#
#   bench/bench_serve_snapshot.sh [ROCKSTREAM] [KEYS] [REQUESTS]
# ROCKSTREAM defaults to build/rel/cli/rockstream (a Release build), KEYS
# (loaded before serving, 100-byte values) to 1M, REQUESTS per
# redis-benchmark run to 200000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rs=${1:-$root/build/rel/cli/rockstream}
keys=${2:-1M}
n=${3:-200000}
source "$root/bench/bench_lib.sh"
bench_setup snap redis-benchmark redis-cli
bench_before_cleanup() { rm -f "$tmp/looping"; }

"$rs" load --db "$tmp/db" --create --keys "$keys" --threads 2 >/dev/null
"$rs" keygen --out "$tmp/k.key" --public >/dev/null
"$rs" serve --db "$tmp/db" --listen 127.0.0.1:0 --port-file "$tmp/port" --key "$tmp/k.key.pub" 2>"$tmp/serve.log" &
pids+=($!)
port=$(wait_port "$tmp/port")

# one redis-benchmark run of SET and GET; appends "test rps p99" lines to FILE
run() {
  redis-benchmark -p "$port" -c 50 -n "$n" -r 1000000 -d 100 -t set,get --csv 2>/dev/null |
    awk -F, 'NR > 1 { gsub(/"/, ""); print $1, $2, $7 }' >>"$1"
}

# SNAPSHOTs one after another (each archive removed once made) until told
snapshot_loop() {
  local i=0
  while [[ -e "$tmp/looping" ]]; do
    i=$((i + 1))
    redis-cli -p "$port" snapshot "$tmp/s$i.rsa" >/dev/null
    rm -f "$tmp/s$i.rsa" "$tmp/s$i.rsa.manifest"
  done
}

# alternate, so that the shared machine's drift falls on both sides
for round in 1 2; do
  run "$tmp/idle"
  touch "$tmp/looping"
  snapshot_loop &
  loop=$!
  run "$tmp/busy"
  rm -f "$tmp/looping"
  wait "$loop"
done

# mean rps and worst p99 per test, from the rounds
summary() { awk '{ r[$1] += $2; c[$1]++; if ($3 > p[$1]) p[$1] = $3 } END { for (t in r) print t, r[t] / c[t], p[t] }' "$1"; }
printf '%-5s %12s %12s %7s %14s %14s\n' test "idle/s" "snapshot/s" ratio "idle p99 ms" "snapshot p99 ms"
join <(summary "$tmp/idle" | sort) <(summary "$tmp/busy" | sort) |
  awk '{ printf "%-5s %12.0f %12.0f %7.2f %14.3f %14.3f\n", $1, $2, $4, $4 / $2, $3, $5 }'
info=$(redis-cli -p "$port" info persistence | tr -d '\r')
echo "snapshots taken: $(sed -n 's/^snapshots_taken://p' <<<"$info"), the last in" \
  "$(sed -n 's/^snapshot_last_duration_ms://p' <<<"$info") ms," \
  "$(sed -n 's/^snapshot_last_archive_bytes://p' <<<"$info") archive bytes ($keys keys)"
