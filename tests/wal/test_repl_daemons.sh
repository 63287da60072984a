#!/usr/bin/env bash
# Replication with real processes on 127.0.0.1 (free ports, own temp dir,
# stopped by PID): a primary and two followers, N keys (1M by default)
# through redis-cli --pipe, content digests compared (DEBUG DIGEST, computed
# by rockstream); kill -9 a follower mid-stream and restart it (it resumes);
# restart the primary under load; refusals (wrong key, another database,
# diverged history) with their messages; a follower past the WAL kept
# resyncs by checkpoint; WAIT 1, kill -9 the primary (the follower says it
# is unreachable and keeps serving reads), promote: the write is there.
source "$(dirname "$0")/../server/serve_lib.sh"
KEYS=${RS_REPL_TEST_KEYS:-1000000}
# on failure, show the end of every daemon's log
fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
  exit 1
}

"$ROCKSTREAM" keygen --repl --out "$T/repl.key" >/dev/null
"$ROCKSTREAM" keygen --repl --out "$T/other.key" >/dev/null

# start_node NAME CMD ARGS...: a serve or follow daemon; sets NODE_PID, PORT
start_node() {
  start_rockstream "$1" "$2" --sync none "${@:3}"
  NODE_PID=$SERVE_PID
}

port_of() { sed 's/.*://' "$T/$1.port"; }
field() { redis-cli -p "$(port_of "$1")" info replication | tr -d '\r' | sed -n "s/^$2://p"; }
digest() { redis-cli -p "$(port_of "$1")" debug digest; }
caught_up() { [[ "$(field "$1" slave_repl_offset)" == "$(field p master_repl_offset)" ]]; }
load_keys() { # load_keys FROM TO: SET key:N value:N through redis-cli --pipe
  awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++) printf "SET key:%d value:%d\r\n", i, i }' |
    redis-cli -p "$(port_of p)" --pipe >/dev/null
}
same_as_primary() {
  poll_until "$1 catches up" 120 caught_up "$1"
  check_eq "$(digest "$1")" "$(digest p)" "$1's content digest"
}

start_primary() { # the primary on $T/p, replication on a fixed port once chosen
  start_node p serve --db "$T/p" --create --repl-listen "127.0.0.1:${RPORT:-0}" --repl-key "$T/repl.key" \
    --wal-keep-seconds 4 --write-buffer 1M "$@"
  P_PID=$NODE_PID
  RPORT=$(field p repl_listen_port)
}
start_primary

# ---- a primary, two followers, KEYS keys --------------------------------
start_node a follow --db "$T/a" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --name follower-a
A_PID=$NODE_PID
load_keys 0 $((KEYS / 2))
start_node b follow --db "$T/b" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --name follower-b
B_PID=$NODE_PID

# kill -9 a follower mid-stream, then restart it: it resumes at latest + 1
load_keys $((KEYS / 2)) "$KEYS" &
LOADER=$!
poll_until "follower a applies the second half" 60 \
  bash -c "(( \$(redis-cli -p $(port_of a) info replication | tr -d '\r' | sed -n 's/^slave_repl_offset://p') > $KEYS ))"
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null || true
wait "$LOADER"
CKPTS=$(field p repl_checkpoints_sent)
start_node a follow --db "$T/a" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --name follower-a
A_PID=$NODE_PID
same_as_primary a
same_as_primary b
check_eq "$(field p repl_checkpoints_sent)" "$CKPTS" "checkpoints sent for a follower that resumed"
check_eq "$(field a repl_resyncs)" 0 "resyncs of the restarted follower"
check_eq "$(redis-cli -p "$(port_of a)" get key:4242)" value:4242 "a read on a follower"
check_has "$(redis-cli -p "$(port_of b)" set x 1)" READONLY "a write on a follower"
check_eq "$(redis-cli -p "$(port_of p)" info replication | tr -d '\r' | grep -c '^slave[0-9]:.*state=online')" 2 \
  "followers listed online by INFO replication"

# ---- restart the primary under load -------------------------------------
redis-benchmark -p "$(port_of p)" -t set -n 200000 -r 100000 -P 16 -q >/dev/null 2>&1 &
BENCH=$!
sleep 1
kill -TERM "$P_PID"
wait_exit "$P_PID"
kill "$BENCH" 2>/dev/null || true
wait "$BENCH" 2>/dev/null || true
start_primary
load_keys "$KEYS" $((KEYS + 1000))
same_as_primary a
same_as_primary b

# ---- refusals --------------------------------------------------------------
refused() { # refused NAME WORDS ARGS...: a follower that must stop with WORDS
  local name=$1 words=$2; shift 2
  "$ROCKSTREAM" follow --listen 127.0.0.1:0 --primary "127.0.0.1:$RPORT" "$@" 2>"$T/$name.log" &
  local pid=$!
  PIDS+=("$pid")
  wait_exit "$pid"
  [[ "$EXIT_RC" != 0 ]] || fail "$name: follow exited 0"
  check_has "$(cat "$T/$name.log")" "$words" "$name: the follower's message"
}
refused wrongkey "replication key differs" --db "$T/w" --repl-key "$T/other.key"
check_has "$(cat "$T/p.log")" "could not prove it holds the replication key" "the primary's log, wrong key"
"$ROCKSTREAM" put --db "$T/o" --create mine yes
refused otherdb "other database" --db "$T/o" --repl-key "$T/repl.key"
check_has "$(cat "$T/p.log")" "refused: other database" "the primary's log, another database"
check_eq "$("$ROCKSTREAM" get --db "$T/o" mine)" yes "the refused database, untouched"

# ---- a follower past the WAL kept resyncs by checkpoint -------------------
kill -9 "$B_PID"
wait "$B_PID" 2>/dev/null || true
CKPTS=$(field p repl_checkpoints_sent)
WALS=$(cd "$T/p" && ls ./*.log archive/*.log 2>/dev/null | xargs -n1 basename || true)
load_keys $((KEYS + 1000)) $((KEYS + 200000))
where() { [[ -e "$T/p/$1" ]] && echo "$T/p/$1" || { [[ -e "$T/p/archive/$1" ]] && echo "$T/p/archive/$1"; }; }
aged() { # every WAL file b needs was last written more than --wal-keep-seconds ago
  local f p now
  now=$(date +%s)
  for f in $WALS; do
    p=$(where "$f") || continue
    (( now - $(stat -c %Y "$p") > 5 )) || return 1
  done
}
poll_until "the WAL b needs grows older than the budget" 60 aged
# RocksDB drops archived WAL past its age on open (and every 10 minutes
# while running, when a size budget is set too): restart the primary
kill -TERM "$P_PID"
wait_exit "$P_PID"
start_primary
for f in $WALS; do [[ -z "$(where "$f")" ]] || fail "WAL file $f outlived the budget"; done
start_node b follow --db "$T/b" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --name follower-b
B_PID=$NODE_PID
same_as_primary b
(( $(field p repl_checkpoints_sent) > CKPTS )) || fail "no checkpoint sent to a follower past the WAL"


# ---- WAIT 1, kill -9 the primary, promote: the write is there -----------
kill -9 "$B_PID"
wait "$B_PID" 2>/dev/null || true
check_eq "$(redis-cli -p "$(port_of p)" set precious block-42)" OK "the write"
check_eq "$(redis-cli -p "$(port_of p)" wait 1 5000)" 1 "WAIT 1"
START=$(date +%s%N)
check_eq "$(redis-cli -p "$(port_of p)" wait 3 300)" 1 "WAIT 3 with one follower: a timeout, and how many did"
(( ($(date +%s%N) - START) / 1000000 >= 300 )) || fail "WAIT 3 300 returned before its timeout"
kill -9 "$P_PID"
wait "$P_PID" 2>/dev/null || true
# the primary unreachable: the follower says why and keeps serving reads
link_down() { [[ "$(field a master_link_status)" == down ]]; }
poll_until "a sees its primary gone" 30 link_down
poll_until "a says why" 30 bash -c "grep -q 'Connection refused; retrying' $T/a.log"
check_has "$(field a repl_last_error)" "Connection refused" "INFO replication of a follower whose primary is gone"
check_eq "$(redis-cli -p "$(port_of a)" get precious)" block-42 "a read while the primary is unreachable"
check_eq "$(redis-cli -p "$(port_of a)" replicaof no one)" OK "REPLICAOF NO ONE"
poll_until "a is a primary" 30 bash -c "redis-cli -p \$(sed 's/.*://' $T/a.port) info replication | grep -q role:master"
check_eq "$(redis-cli -p "$(port_of a)" get precious)" block-42 "the acknowledged write after failover"
check_eq "$(redis-cli -p "$(port_of a)" set after promotion)" OK "a write on the promoted follower"

# ---- the old primary took a write of its own: diverged history ------------
start_node oldp serve --db "$T/p"
redis-cli -p "$PORT" set only-on-old-primary 1 >/dev/null
kill -TERM "$NODE_PID"
wait_exit "$NODE_PID"
kill -TERM "$A_PID"
wait_exit "$A_PID"
start_node a serve --db "$T/a" --repl-listen 127.0.0.1:0 --repl-key "$T/repl.key"
A_PID=$NODE_PID
RPORT=$(field a repl_listen_port)
refused diverged "diverged history" --db "$T/p" --repl-key "$T/repl.key"
check_has "$(cat "$T/a.log")" "diverged history" "the new primary's log"
# ---- REPLICAOF host port: a server with a database that may follow does ----
# b stopped before the failover: nothing past the new history's start
start_node b serve --db "$T/b" --repl-key "$T/repl.key"
B_PID=$NODE_PID
check_eq "$(redis-cli -p "$(port_of b)" replicaof 127.0.0.1 "$RPORT")" OK "REPLICAOF host port"
poll_until "b follows a" 60 bash -c "redis-cli -p \$(sed 's/.*://' $T/b.port) info replication 2>/dev/null | grep -q master_link_status:up"
redis-cli -p "$(port_of a)" set after-replicaof yes >/dev/null
caught_up_a() { [[ "$(field b slave_repl_offset)" == "$(field a master_repl_offset)" ]]; }
poll_until "b catches up with a" 60 caught_up_a
check_eq "$(digest b)" "$(digest a)" "b's digest after REPLICAOF"
check_eq "$(redis-cli -p "$(port_of b)" get precious)" block-42 "the write acknowledged before the failover, on b"
echo "ok: replication daemons"
