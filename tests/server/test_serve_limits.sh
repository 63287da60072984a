#!/usr/bin/env bash
# The event loop under pressure: 1000 concurrent connections; a client that
# stops reading is cut off at --max-output while others are served;
# malformed and oversized requests get an error and a close and damage
# nothing; --max-clients and --idle-timeout.
source "$(dirname "$0")/serve_lib.sh"

start_serve main --db "$T/db" --create --max-bulk 1M --max-output 2M
rcli set small kept >/dev/null

# ---- 1000 clients at once
out=$("$CLIENT" conns "$ADDR" 1000)
check_eq "$out" "ok 1000 clients=1001" "1000 concurrent connections"
check_eq "$(rcli get conn:999)" 999 "a key written by connection 999"

# ---- a client that stops reading does not stall the others
head -c 900000 /dev/zero | tr '\0' x | rcli -x set big >/dev/null
mkfifo "$T/hold"
"$CLIENT" stall "$ADDR" big 500 <"$T/hold" >"$T/stall.out" &
STALL=$!
PIDS+=("$STALL")
exec 3>"$T/hold"
for _ in 1 2 3 4 5; do
  check_eq "$(timeout 5 redis-cli -p "$PORT" get small)" kept "GET while a client stalls"
done
over_limit() { [[ "$(info_field client_output_buffer_limit_disconnections)" -ge 1 ]]; }
poll_until "the stalled client is disconnected" 30 over_limit
exec 3>&-
wait_exit "$STALL"
check_has "$(cat "$T/main.log")" "exceed max-output" "log of the disconnect"
# it held at most max-output plus one reply, pipelined GETs gathered or not
held=$(sed -n 's/.* \([0-9]*\) reply bytes unsent exceed max-output.*/\1/p' "$T/main.log" | head -1)
(( held > 0 && held <= 2 * 1024 * 1024 + 900100 )) || fail "the stalled client held $held reply bytes"

# ---- malformed requests: an error, then the connection closes
raw() { RS_CLIENT_TIMEOUT_MS=3000 "$CLIENT" raw "$ADDR"; }
check_eq "$(printf '*1\r\n$abc\r\n' | raw)" $'-ERR Protocol error: invalid bulk length\nclosed' "bad bulk length"
check_eq "$(printf '*2\r\n$3\r\nGET\r\n:1\r\n' | raw)" $'-ERR Protocol error: expected \'$\', got \':\'\nclosed' "bad type"
check_eq "$(printf '*1\r\n$4\r\nPINGxx' | raw)" $'-ERR Protocol error: bulk argument not followed by CRLF\nclosed' "no CRLF"
check_eq "$(printf '*99999999\r\n' | raw)" $'-ERR Protocol error: invalid multibulk length\nclosed' "too many args"
check_eq "$(head -c 70000 /dev/zero | tr '\0' a | raw)" $'-ERR Protocol error: too big inline request\nclosed' "long line"
check_eq "$(printf 'PING\r\nGET\r\nPING\r\n' | raw)" $'+PONG\n-ERR wrong number of arguments for \'get\' command\n+PONG\nopen' \
  "an arity error keeps the connection"
head -c 65536 /dev/urandom | raw >/dev/null || true

# ---- oversized: past --max-bulk (1M), refused before the server allocates it
check_eq "$(printf '*3\r\n$3\r\nSET\r\n$5\r\nhuge1\r\n$2000000\r\n' | raw)" \
  $'-ERR Protocol error: invalid bulk length\nclosed' "value over max-bulk"
head -c 2000000 /dev/zero | tr '\0' y | redis-cli -p "$PORT" -x set huge2 >"$T/huge.out" 2>&1 || true
check_eq "$(rcli exists huge1 huge2)" 0 "oversized values were not stored"

# ---- nothing was damaged and the server still serves
check_eq "$(rcli get small)" kept "data after bad requests"
check_eq "$(rcli --raw get big | wc -c)" 900001 "big value intact"
[[ "$(info_field total_protocol_errors)" -ge 7 ]] || fail "protocol errors not counted"
stop_serve TERM

# ---- max-clients and idle timeout
start_serve small --db "$T/db" --max-clients 1 --idle-timeout 3
mkfifo "$T/hold2"
"$CLIENT" stall "$ADDR" small 1 <"$T/hold2" >"$T/first.out" &
FIRST=$!
PIDS+=("$FIRST")
exec 4>"$T/hold2"
poll_until "first client connected" 10 grep -q sent "$T/first.out"
check_eq "$(printf 'PING\r\n' | raw)" $'-ERR max number of clients reached\nclosed' "over max-clients"
exec 4>&-
wait_exit "$FIRST"
check_eq "$(: | RS_CLIENT_TIMEOUT_MS=12000 "$CLIENT" raw "$ADDR")" closed "idle client closed by the server"
[[ "$(info_field client_idle_timeout_disconnections)" -ge 1 ]] || fail "idle disconnects not counted"
check_eq "$(info_field rejected_connections)" 1 "rejected connections counted"
stop_serve TERM
echo "serve_limits: all passed"
