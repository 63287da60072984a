#!/usr/bin/env bash
# redis-cli --pipe loads 1M keys through rockstream serve (mass insertion,
# as Redis documents it); then the keys are read back, counted with a full
# --scan, and DBSIZE's estimate is close.
source "$(dirname "$0")/serve_lib.sh"
N=1000000

# RESP, not inline commands: what the Redis docs recommend for --pipe
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) {
  k = sprintf("key:%07d", i); v = "value-" i
  printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v } }' >"$T/load.resp"

start_serve pipe --db "$T/db" --create
start=$(date +%s)
out=$(rcli --pipe <"$T/load.resp" 2>&1)
echo "redis-cli --pipe of $N keys took $(( $(date +%s) - start )) s"
check_has "$out" "errors: 0, replies: $N" "redis-cli --pipe summary"

check_eq "$(rcli get key:0000000)" value-0 "first key"
check_eq "$(rcli get key:0500000)" value-500000 "middle key"
check_eq "$(rcli get key:0999999)" value-999999 "last key"
check_eq "$(rcli exists key:1000000)" 0 "no key past the last"
dbsize=$(rcli dbsize)
(( dbsize > N * 9 / 10 && dbsize < N * 11 / 10 )) || fail "DBSIZE estimate $dbsize not within 10% of $N"

start=$(date +%s)
check_eq "$(rcli --scan --pattern 'key:*' | wc -l)" "$N" "redis-cli --scan count"
echo "redis-cli --scan of $N keys took $(( $(date +%s) - start )) s"

stop_serve TERM
echo "serve_pipe: all passed"
