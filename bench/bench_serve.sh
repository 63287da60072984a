#!/usr/bin/env bash
# rockstream serve against redis-server, in the same run, with redis-benchmark:
# SET and GET, 50 clients, without and with -P 16 pipelining. redis-server
# runs with appendonly yes / appendfsync everysec (it may lose the last
# second on a crash); rockstream serve with --sync group (the default), which
# answers a write only after the WAL fsync that holds it, so the comparison
# favours Redis on durability. Prints requests per second, the ratio
# rockstream/redis, and latency percentiles; P99 of GET is the issue's target.
#
#   bench/bench_serve.sh [ROCKSTREAM] [REQUESTS]
# ROCKSTREAM defaults to build/rel/cli/rockstream (a Release build),
# REQUESTS to 1000000 (pipelined runs; the others use a fifth of it).
# Extra serve options can be given in SERVE_OPTS (e.g. "--sync always").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rs=${1:-$root/build/rel/cli/rockstream}
n=${2:-1000000}
source "$root/bench/bench_lib.sh"
bench_setup serve redis-server redis-benchmark redis-cli

# rockstream picks its own free port and writes it to a file
"$rs" serve --db "$tmp/db" --create --listen 127.0.0.1:0 --port-file "$tmp/rs.port" ${SERVE_OPTS:-} \
  2>"$tmp/rs.log" &
pids+=($!)
rs_port=$(wait_port "$tmp/rs.port")

# redis-server cannot: try random high ports until one is free
for _ in $(seq 20); do
  redis_port=$((20000 + RANDOM % 40000))
  mkdir -p "$tmp/redis"
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$tmp/redis" --appendonly yes \
    --appendfsync everysec --save '' --daemonize no --logfile "$tmp/redis.log" &
  rpid=$!
  for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  if redis-cli -p "$redis_port" ping >/dev/null 2>&1; then pids+=("$rpid"); break; fi
  kill "$rpid" 2>/dev/null || true
  wait "$rpid" 2>/dev/null || true
done

# one redis-benchmark run; prints "rps p50 p99" for the test
run() {
  local port=$1 test=$2 count=$3; shift 3
  redis-benchmark -p "$port" -c 50 -n "$count" -r 1000000 -d 100 -t "$test" --csv "$@" 2>/dev/null |
    awk -F, 'NR > 1 { gsub(/"/, ""); print $2, $5, $7 }'
}

printf '%-14s %14s %14s %7s %22s %22s\n' test "rockstream/s" "redis/s" ratio "rockstream p50/p99 ms" "redis p50/p99 ms"
for pipeline in 1 16; do
  count=$n
  args=(-P "$pipeline")
  [[ $pipeline == 1 ]] && count=$((n / 5))
  for test in set get; do
    read -r r_rps r_p50 r_p99 < <(run "$rs_port" "$test" "$count" "${args[@]}")
    read -r d_rps d_p50 d_p99 < <(run "$redis_port" "$test" "$count" "${args[@]}")
    ratio=$(awk -v a="$r_rps" -v b="$d_rps" 'BEGIN { printf "%.2f", a / b }')
    printf '%-14s %14.0f %14.0f %7s %22s %22s\n' "${test^^} -P $pipeline" "$r_rps" "$d_rps" "$ratio" \
      "$r_p50/$r_p99" "$d_p50/$d_p99"
  done
done
echo
echo "rockstream serve: $("$rs" --version), $(redis-cli -p "$rs_port" info persistence | tr -d '\r' |
  grep -E '^(sync_policy|wal_syncs):' | tr '\n' ' ')"
echo "redis-server: $(redis-server --version | cut -d' ' -f3), appendonly yes, appendfsync everysec"
echo "50 clients, 100-byte values, 1M random keys; $n requests pipelined, $((n / 5)) not"
