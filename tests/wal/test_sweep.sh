#!/usr/bin/env bash
# A crash leaks nothing (issue 11): kill -9 of serve at random moments
# during SNAPSHOT and during a checkpoint sent to a follower leaves
# temporaries (hard links that pin the database's files, half-written
# archives); the next serve removes them when it starts (archives in its
# --snapshot-dir; elsewhere, at the next SNAPSHOT into their directory) and
# says so, and leaves alone
# what is not a dead process's own: a live process's temporaries, and
# names that are not rockstream's.
source "$(dirname "$0")/../server/serve_lib.sh"
# on failure, show the end of every daemon's log
fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
  exit 1
}

"$ROCKSTREAM" keygen --out "$T/snap.key" >/dev/null
"$ROCKSTREAM" keygen --repl --out "$T/repl.key" >/dev/null
# ~60 MB that does not compress: a snapshot and a checkpoint send take a while
"$ROCKSTREAM" load --db "$T/p" --create --keys 15k --value-size 4000 --compressibility 0 --sequential \
  --sync none >/dev/null
mkdir "$T/snaps"

# what is not a dead process's own, planted once: a live process's
# temporaries (this shell's pid) and names that are not rockstream's
sleep 600 &
LIVE=$!
PIDS+=("$LIVE")
mkdir -p "$T/p.repl" "$T/.p.snapshot-$LIVE-keepme" "$T/p.repl/ckpt-$LIVE-0" "$T/.p.snapshot-notapid"
touch "$T/snaps/x.rsa.tmp-$LIVE-abcdef" "$T/snaps/mine.tmp-data" "$T/p.repl/notes"

start_p() {
  start_serve p --db "$T/p" --sync none --key "$T/snap.key" --snapshot-dir "$T/snaps" \
    --repl-listen "127.0.0.1:${RPORT:-0}" \
    --repl-key "$T/repl.key" --resync-rate 2M
  P_PID=$SERVE_PID
  RPORT=$(info_field repl_listen_port)
}
kill9_p() {
  kill -9 "$P_PID"
  wait "$P_PID" 2>/dev/null || true
}
dead_leftovers() { # what a dead serve may leave; the planted names excluded
  ls -a "$T" "$T/snaps" "$T/p.repl" 2>/dev/null | grep -E '^\.p\.snapshot-[0-9]+-|\.tmp-[0-9]+-|^ckpt-[0-9]+-' |
    grep -v -- "-$LIVE-" || true
}
planted_intact() {
  for f in "$T/.p.snapshot-$LIVE-keepme" "$T/p.repl/ckpt-$LIVE-0" "$T/.p.snapshot-notapid" \
           "$T/snaps/x.rsa.tmp-$LIVE-abcdef" "$T/snaps/mine.tmp-data" "$T/p.repl/notes"; do
    [[ -e "$f" ]] || fail "the sweep removed '$f', which a dead process did not leave"
  done
}

# ---- kill -9 during SNAPSHOT, at random moments ---------------------------
start_p
LEFT=0
for i in 1 2 3 4; do
  redis-cli -p "$PORT" snapshot "$T/snaps/s$i.rsa" >/dev/null 2>&1 &
  poll_until "SNAPSHOT $i under way" 30 bash -c "ls -a $T | grep '^\.p\.snapshot-' | grep -qv 'keepme\|notapid'"
  # a random moment of the seal: 0 to 0.4 s into it
  sleep "0.$((RANDOM % 5))"
  kill9_p
  left=$(ls -a "$T" | grep '^\.p\.snapshot-' | grep -v 'keepme\|notapid' || true)
  start_p
  check_eq "$(ls -a "$T" | grep -cE '^\.p\.snapshot-[0-9]+-' | tr -d ' ')" 1 \
    "snapshot checkpoints after restart $i (the planted live one only)"
  check_eq "$(ls "$T/snaps" | grep -cE '\.tmp-[0-9]+-' | tr -d ' ')" 1 \
    "archive temporaries after restart $i (the planted live one only)"
  if [[ -n "$left" ]]; then
    LEFT=$((LEFT + 1))
    check_has "$(cat "$T/p.log")" "removed stale snapshot checkpoint path=$T/$left" "serve's log after restart $i"
  fi
  planted_intact
done
(( LEFT > 0 )) || fail "no kill left a checkpoint to sweep: the test tested nothing"
# outside --snapshot-dir, the archives' temporaries go at the next
# SNAPSHOT into their directory
mkdir "$T/snaps/sub"
touch "$T/snaps/sub/y.rsa.tmp-999999999-abcdef"
redis-cli -p "$PORT" snapshot "$T/snaps/sub/last.rsa" >/dev/null
[[ -e "$T/snaps/sub/last.rsa.manifest" ]] || fail "a SNAPSHOT after the crashes did not complete"
[[ -e "$T/snaps/sub/y.rsa.tmp-999999999-abcdef" ]] && fail "a dead process's archive temporary outlived a SNAPSHOT"
redis-cli -p "$PORT" snapshot "$T/snaps/last.rsa" >/dev/null
[[ -e "$T/snaps/last.rsa.manifest" ]] || fail "a SNAPSHOT after the crashes did not complete"
check_eq "$(ls "$T/snaps" | grep -cE '\.tmp-[0-9]+-' | tr -d ' ')" 1 "archive temporaries (the planted one only)"
planted_intact

# ---- kill -9 during a checkpoint sent to a follower ------------------------
# (a follower listens only once bootstrapped: not waited for here)
"$ROCKSTREAM" follow --db "$T/a" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --sync none \
  --listen 127.0.0.1:0 2>"$T/a.log" &
A_PID=$!
PIDS+=("$A_PID")
poll_until "a checkpoint being sent" 30 bash -c "ls $T/p.repl | grep -q '^ckpt-$P_PID-'"
sleep "0.$((RANDOM % 5))"
kill9_p
[[ -n "$(ls "$T/p.repl" | grep "^ckpt-$P_PID-")" ]] || fail "the kill left no checkpoint: nothing was tested"
kill -9 "$A_PID"
start_p
[[ -z "$(dead_leftovers)" ]] || fail "left after the restarts: $(dead_leftovers)"
check_has "$(cat "$T/p.log")" "removed stale replication checkpoint path=$T/p.repl/ckpt-" "serve's log"
planted_intact
check_eq "$(redis-cli -p "$PORT" dbsize)" 15000 "the database after the crashes"
echo "ok: crash leftovers swept"
