#!/usr/bin/env bash
# Anyone who can reach the replication port, without the key (issue 11):
# 40 connections announcing 64 MiB HELLOs and sending 16 MiB each leave the
# primary's memory within a small bound, and 40 that say nothing hold no
# thread; meanwhile its Redis clients are served, and afterwards a real
# follower connects and catches up. Real processes on 127.0.0.1.
source "$(dirname "$0")/../server/serve_lib.sh"

"$ROCKSTREAM" keygen --repl --out "$T/repl.key" >/dev/null
start_serve p --db "$T/p" --create --sync none --repl-listen 127.0.0.1:0 --repl-key "$T/repl.key"
P_PID=$SERVE_PID
P_PORT=$PORT
RPORT=$(info_field repl_listen_port)
status_of() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$P_PID/status"; }
for i in $(seq 1000); do echo "SET key:$i value:$i"; done | rcli >/dev/null
BASE_RSS=$(status_of VmRSS)      # KiB
BASE_THREADS=$(status_of Threads)

# flood N ANNOUNCE SEND: N connections at once, each a frame header of a
# HELLO announcing ANNOUNCE bytes, then up to SEND bytes of it (0: nothing
# at all, the connection held open for 3 s)
flood() {
  python3 - "$RPORT" "$@" <<'EOF'
import socket, struct, sys, threading, time
port, n, announce, send = (int(a) for a in sys.argv[1:5])
# docs/format.md: magic, version 2, type 2 (HELLO), flags, payload length, the rest zero
header = struct.pack("<IBBHI", 0x46575352, 2, 2, 0, announce) + bytes(68)
def one():
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if send == 0:
            time.sleep(3)
            return
        s.sendall(header)
        chunk, sent = bytes(1 << 20), 0
        while sent < send:
            s.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass  # closed by the primary: what it should do
threads = [threading.Thread(target=one) for _ in range(n)]
for t in threads: t.start()
for t in threads: t.join()
EOF
}

# ---- 40 HELLOs announcing 64 MiB, 16 MiB sent each ------------------------
flood 40 $((64 << 20)) $((16 << 20)) &
FLOOD=$!
MAX_RSS=$BASE_RSS
while kill -0 "$FLOOD" 2>/dev/null; do
  r=$(status_of VmRSS)
  (( r > MAX_RSS )) && MAX_RSS=$r
  check_eq "$(rcli set during flood)" OK "a client's write during the flood"
done
wait "$FLOOD"
echo "primary RSS: ${BASE_RSS} KiB before, at most ${MAX_RSS} KiB during the flood"
(( MAX_RSS - BASE_RSS < 32 * 1024 )) || fail "the flood grew the primary by $(( (MAX_RSS - BASE_RSS) / 1024 )) MiB"
check_eq "$(rcli get key:500)" value:500 "a client's read after the flood"

# ---- 40 connections that say nothing ---------------------------------------
DROPPED=$(info_field repl_unauth_dropped)
flood 40 0 0 &
FLOOD=$!
# more than max_handshakes (32) at once: the rest are closed at once
poll_until "connections over max_handshakes closed" 30 \
  bash -c "(( \$(redis-cli -p $P_PORT info replication | tr -d '\r' | sed -n 's/^repl_unauth_dropped://p') >= $DROPPED + 8 ))"
THREADS=$(status_of Threads)
(( THREADS <= BASE_THREADS + 2 )) || fail "40 silent connections took $((THREADS - BASE_THREADS)) threads"
check_eq "$(rcli ping)" PONG "a client during the silent flood"
# and the ones waiting go after the handshake deadline (2 s)
poll_until "silent connections closed at their deadline" 30 \
  bash -c "(( \$(redis-cli -p $P_PORT info replication | tr -d '\r' | sed -n 's/^repl_unauth_dropped://p') >= $DROPPED + 40 ))"
wait "$FLOOD"

# ---- a follower with the key is served as before ---------------------------
start_rockstream a follow --db "$T/a" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --sync none
A_PORT=$PORT
caught_up() {
  [[ "$(redis-cli -p "$A_PORT" info replication | tr -d '\r' | sed -n 's/^slave_repl_offset://p')" == \
     "$(redis-cli -p "$P_PORT" info replication | tr -d '\r' | sed -n 's/^master_repl_offset://p')" ]]
}
poll_until "the follower catches up" 60 caught_up
check_eq "$(redis-cli -p "$A_PORT" get key:500)" value:500 "a read on the follower"
check_has "$(cat "$T/p.log")" "closed unauthenticated connection" "the primary's log"
echo "ok: replication flood"
