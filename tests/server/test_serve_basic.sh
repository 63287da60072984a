#!/usr/bin/env bash
# rockstream serve with real redis-cli: every command and its errors, binary
# values, SCAN, INFO, COMMAND, the config file (flags win), --read-only, a
# second serve on the same database refused, and clean SIGTERM/SIGINT exits.
source "$(dirname "$0")/serve_lib.sh"

"$ROCKSTREAM" help serve | grep -q -- "--listen HOST:PORT" || fail "help serve lacks --listen"

start_serve main --db "$T/db" --create
check_eq "$(rcli ping)" PONG "PING"
check_eq "$(rcli echo hello)" hello "ECHO"

# ---- strings, binary safe
check_eq "$(rcli set greeting hello)" OK "SET"
check_eq "$(rcli get greeting)" hello "GET"
head -c 300000 /dev/urandom >"$T/bin"
check_eq "$(rcli -x set bin <"$T/bin")" OK "SET binary value"
rcli --raw get bin >"$T/bin.out"
head -c -1 "$T/bin.out" | cmp -s - "$T/bin" || fail "binary value read back differs"
out=$(printf '*3\r\n$3\r\nSET\r\n$4\r\nk\x00\xffy\r\n$4\r\na\r\nb\r\n*2\r\n$3\r\nGET\r\n$4\r\nk\x00\xffy\r\n' |
      RS_CLIENT_TIMEOUT_MS=500 "$CLIENT" raw "$ADDR")
check_eq "$out" $'+OK\n$4\na\nb\nopen' "binary key with CRLF in its value"

# ---- a pipeline: gathered GETs (one multi-get) answer in request order,
# around writes, errors and other reads, up to a protocol error
out=$(printf 'GET p1\r\nSET p1 one\r\nGET p1\r\nGET p2\r\nfrobnicate\r\nGET p1\r\nMGET p1 p2\r\nINCR pc\r\nGET pc\r\nGET p1\r\n*1\r\n$x\r\n' |
      RS_CLIENT_TIMEOUT_MS=1000 "$CLIENT" raw "$ADDR")
check_eq "$out" "$(printf '%s\n' '$-1' +OK '$3' one '$-1' \
  "-ERR unknown command 'frobnicate', with args beginning with: " '$3' one '*2' '$3' one '$-1' :1 '$1' 1 '$3' one \
  '-ERR Protocol error: invalid bulk length' closed)" "GETs pipelined around writes and errors"
# more GETs than one multi-get takes (32): every value, in order
rcli mset $(for i in $(seq 1 70); do echo "g$i v$i"; done) >/dev/null
out=$(for i in $(seq 70 -1 1); do printf 'GET g%d\r\n' "$i"; done | RS_CLIENT_TIMEOUT_MS=1000 "$CLIENT" raw "$ADDR" |
      grep '^v' | tr '\n' ,)
check_eq "$out" "$(for i in $(seq 70 -1 1); do printf 'v%d,' "$i"; done)" "70 pipelined GETs"

# ---- NX / XX / expiry
check_eq "$(rcli set greeting x nx)" "" "SET NX on an existing key"
check_eq "$(rcli set fresh 1 nx)" OK "SET NX on a new key"
check_eq "$(rcli set nokey 1 xx)" "" "SET XX on a missing key"
check_eq "$(rcli set fresh 2 xx)" OK "SET XX on an existing key"
check_has "$(rcli set fresh 3 nx xx)" "ERR syntax error" "SET NX XX"
check_has "$(rcli set fresh 3 ex 10)" "ERR SET EX is not supported" "SET EX"
check_eq "$(rcli get fresh)" 2 "value after refused SETs"

# ---- counters
check_eq "$(rcli incr counter)" 1 "INCR on a new key"
check_eq "$(rcli incrby counter 41)" 42 "INCRBY"
check_eq "$(rcli decrby counter 2)" 40 "DECRBY"
check_eq "$(rcli decr counter)" 39 "DECR"
check_has "$(rcli incr greeting)" "ERR value is not an integer or out of range" "INCR on text"
rcli set big 9223372036854775807 >/dev/null
check_has "$(rcli incr big)" "ERR increment or decrement would overflow" "INCR overflow"
check_has "$(rcli incrby counter 1x)" "ERR value is not an integer" "INCRBY bad increment"

# ---- many keys
check_eq "$(rcli mset a 1 b 2 c 3)" OK "MSET"
check_eq "$(rcli mget a b nope c | tr '\n' ,)" "1,2,,3," "MGET"
check_has "$(rcli mset a 1 b)" "ERR wrong number of arguments for 'mset' command" "MSET odd"
check_eq "$(rcli exists a a nope)" 2 "EXISTS counts repeats"
check_eq "$(rcli del a a b nope)" 2 "DEL counts distinct existing keys"
check_eq "$(rcli exists a b c)" 1 "EXISTS after DEL"

# ---- errors in Redis's words
check_has "$(rcli frobnicate x y)" "ERR unknown command 'frobnicate', with args beginning with: 'x' 'y'" "unknown"
check_has "$(rcli get)" "ERR wrong number of arguments for 'get' command" "arity"
check_has "$(rcli select 1)" "ERR DB index is out of range" "SELECT 1"
check_eq "$(rcli select 0)" OK "SELECT 0"

# ---- connection
check_eq "$(printf 'CLIENT SETNAME tester\r\nCLIENT GETNAME\r\nQUIT\r\nPING\r\n' |
           RS_CLIENT_TIMEOUT_MS=3000 "$CLIENT" raw "$ADDR")" $'+OK\n$6\ntester\n+OK\nclosed' "CLIENT and QUIT"
check_has "$(rcli client setname 'a b')" "ERR Client names cannot contain spaces" "CLIENT SETNAME with a space"

# ---- SCAN over a byte-ordered keyspace
for i in $(seq 1 2500); do printf 'SET scan:%05d %d\r\n' "$i" "$i"; done | rcli --pipe >/dev/null
check_eq "$(rcli --scan --pattern 'scan:*' | wc -l)" 2500 "redis-cli --scan --pattern"
# a full iteration by hand, 50 keys a call: every key once
cursor=0; : >"$T/scanned"
while :; do
  rcli scan "$cursor" match 'scan:*' count 50 >"$T/page"
  cursor=$(head -1 "$T/page"); tail -n +2 "$T/page" >>"$T/scanned"
  [[ "$cursor" == 0 ]] && break
done
check_eq "$(sort -u "$T/scanned" | wc -l)" 2500 "SCAN COUNT 50 by hand"
check_eq "$(wc -l <"$T/scanned")" 2500 "SCAN returns each key once"
check_eq "$(rcli --scan --pattern 'scan:0001?' | tr '\n' ,)" "scan:00010,scan:00011,scan:00012,scan:00013,scan:00014,scan:00015,scan:00016,scan:00017,scan:00018,scan:00019," "MATCH ?"
check_has "$(rcli scan 12345)" "ERR invalid cursor" "SCAN with an unknown cursor"
check_has "$(rcli scan 0 count 0)" "ERR syntax error" "SCAN COUNT 0"
first=$(rcli scan 0 match 'scan:*' count 100 | head -1)
[[ "$first" =~ ^[1-9][0-9]*$ ]] || fail "SCAN cursor '$first' is not a number"
check_eq "$(rcli scan "$first" match 'scan:*' count 100 | sed -n 2p)" "scan:00101" "SCAN resumes at the next key"
check_eq "$(rcli scan 0 type hash | sed -n 2p)" "" "SCAN TYPE hash"
dbsize=$(rcli dbsize)
[[ "$dbsize" =~ ^[0-9]+$ && "$dbsize" -ge 2000 ]] || fail "DBSIZE estimate '$dbsize'"

# ---- INFO and COMMAND
(( $(info_field total_replies_waited_for_sync) > 0 )) || fail "no write reply waited for an fsync under --sync group"
info=$(rcli info | tr -d '\r')
for s in Server Clients Persistence Stats Store Keyspace; do check_has "$info" "# $s" "INFO sections"; done
check_has "$info" "sync_policy:group" "INFO persistence"
check_has "$info" "db0:keys=" "INFO keyspace"
check_eq "$(rcli info persistence | grep -c '^# ')" 1 "INFO one section"
check_has "$(rcli command docs get)" "Returns the value of a key" "COMMAND DOCS get"
[[ "$(rcli command count)" -ge 19 ]] || fail "COMMAND COUNT"

# ---- a second serve on the same database is refused, the first goes on
rc=0
"$ROCKSTREAM" serve --db "$T/db" --listen 127.0.0.1:0 2>"$T/second.err" || rc=$?
check_eq "$rc" 12 "second serve exit status (busy)"
check_has "$(cat "$T/second.err")" "is in use by another process" "second serve message"
check_has "$(cat "$T/second.err")" "hint:" "second serve hint"
rc=0
"$ROCKSTREAM" serve --db "$T/db2" --create --listen "127.0.0.1:$PORT" 2>"$T/port.err" || rc=$?
check_eq "$rc" 12 "serve on a port in use"
check_has "$(cat "$T/port.err")" "cannot listen on '127.0.0.1:$PORT'" "port in use message"
check_eq "$(rcli get greeting)" hello "first server after refusals"

stop_serve TERM
check_has "$(cat "$T/main.log")" "serve: stopped" "log after SIGTERM"

# ---- config file; flags win over it
cat >"$T/serve.ini" <<INI
; rockstream serve config
[serve]
db = $T/db
listen = 127.0.0.1:1
sync = always
max-clients = 50
idle-timeout = 300
[follow]
anything = ignored
INI
start_serve cfg --config "$T/serve.ini" --max-clients 60
check_eq "$(info_field sync_policy)" always "sync policy from the config file"
check_eq "$(info_field maxclients)" 60 "flag over config file"
check_eq "$(info_field client_idle_timeout_seconds)" 300 "idle-timeout from the config file"
check_eq "$(info_field config_file)" "$T/serve.ini" "INFO config_file"
rcli --raw get bin >"$T/bin.out2"
head -c -1 "$T/bin.out2" | cmp -s - "$T/bin" || fail "binary value after restart"
stop_serve INT

printf 'bogus = 1\n' >"$T/bad.ini"
rc=0
"$ROCKSTREAM" serve --config "$T/bad.ini" --db "$T/db" 2>"$T/bad.err" || rc=$?
check_eq "$rc" 1 "unknown config key exit status"
check_has "$(cat "$T/bad.err")" "config '$T/bad.ini' line 1: key 'bogus': unknown key" "unknown key message"
printf 'max-clients = lots\n' >"$T/bad2.ini"
rc=0
"$ROCKSTREAM" serve --config "$T/bad2.ini" --db "$T/db" 2>"$T/bad2.err" || rc=$?
check_eq "$rc" 1 "bad config value exit status"
check_has "$(cat "$T/bad2.err")" "line 1: key 'max-clients': --max-clients 'lots': expected a positive number" "bad value"

# ---- read-only
start_serve ro --db "$T/db" --read-only
check_has "$(rcli set greeting bye)" "READONLY" "SET on a read-only server"
check_eq "$(rcli get greeting)" hello "GET on a read-only server"
stop_serve TERM
# ---- IPv6, and --sync none: nothing waits for an fsync
if grep -q '^00000000000000000000000000000001' /proc/net/if_inet6 2>/dev/null; then
  start_serve v6 --db "$T/db" --listen '[::1]:0' --sync none
  [[ "$ADDR" == "[::1]:"* ]] || fail "IPv6 address '$ADDR'"
  check_eq "$(redis-cli -h ::1 -p "$PORT" set v6 yes)" OK "SET over IPv6"
  check_eq "$(redis-cli -h ::1 -p "$PORT" info persistence | tr -d '\r' | sed -n 's/^synced_seq://p')" none "synced_seq with --sync none"
  check_eq "$(redis-cli -h ::1 -p "$PORT" info stats | tr -d '\r' | sed -n 's/^total_replies_waited_for_sync://p')" 0 "--sync none waits for nothing"
  stop_serve TERM
else
  echo "no IPv6 loopback here: IPv6 part skipped"
fi
echo "serve_basic: all passed"
