#!/usr/bin/env bash
# The WAL archive's size under write load against its budget: rockstream
# serve (a primary, so every batch is chained) with a small budget and
# small memtables, so that WAL files are archived several times a second,
# under redis-benchmark SETs; <db>/archive is sampled every 0.1 s. Prints
# the most it held, in bytes and files, the largest archived file, and the
# ratio of the most held to the budget (at most 1 plus one file's share is
# the target: the store applies the budget each time a file is archived).
#
#   bench/bench_wal_archive.sh [ROCKSTREAM] [SECONDS] [BUDGET]
# ROCKSTREAM defaults to build/rel/cli/rockstream, SECONDS to 30, BUDGET
# (--wal-keep-bytes) to 1M.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rs=${1:-$root/build/rel/cli/rockstream}
secs=${2:-30}
budget=${3:-1M}
source "$root/bench/bench_lib.sh"
bench_setup wal-archive redis-benchmark redis-cli

"$rs" keygen --repl --out "$tmp/repl.key" >/dev/null
"$rs" serve --db "$tmp/db" --create --listen 127.0.0.1:0 --port-file "$tmp/rs.port" --sync none \
  --write-buffer 1M --wal-keep-seconds 2 --wal-keep-bytes "$budget" --repl-listen 127.0.0.1:0 \
  --repl-key "$tmp/repl.key" 2>"$tmp/rs.log" &
pids+=($!)
port=$(wait_port "$tmp/rs.port")
redis-benchmark -p "$port" -t set -r 1000000 -d 100 -c 8 -P 16 -n 1000000000 -q >/dev/null 2>&1 &
pids+=($!)

most=0 most_files=0 largest=0 samples=0
end=$((SECONDS + secs))
while (( SECONDS < end )); do
  read -r bytes files big < <(find "$tmp/db/archive" -name '*.log' -printf '%s\n' 2>/dev/null |
    awk '{ s += $1; n++; if ($1 > m) m = $1 } END { print s + 0, n + 0, m + 0 }')
  (( bytes > most )) && { most=$bytes; most_files=$files; }
  (( big > largest )) && largest=$big
  samples=$((samples + 1))
  sleep 0.1
done
written=$(redis-cli -p "$port" info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p')
budget_bytes=$(numfmt --from=iec "$budget")
echo "budget $budget_bytes bytes; $samples samples over ${secs} s, $written sequences written"
echo "archive at most $most bytes in $most_files files (largest file $largest bytes)"
awk -v m="$most" -v b="$budget_bytes" -v l="$largest" \
  'BEGIN { printf "most held / budget = %.2f (target <= %.2f: the budget plus one file)\n", m / b, (b + l) / b }'
