#!/usr/bin/env bash
# A versioned database served and followed, with real processes on
# 127.0.0.1 (free ports, own temp dir, stopped by PID): serve says at start
# that it takes no plain writes and refuses SET/DEL/INCR with the reason,
# changing nothing; a follower bootstraps, reads at a version (GETAT) what
# the primary reads, and reports the version it applied on both sides
# (INFO replication); versions committed, rolled back and pruned while the
# primary was down stream to the follower when it comes back.
source "$(dirname "$0")/../server/serve_lib.sh"
example="$(dirname "$RS_TEST_HELPERS")/examples/versioned_state"
fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done
  exit 1
}

port_of() { sed 's/.*://' "$T/$1.port"; }
on() { local n=$1; shift; redis-cli -p "$(port_of "$n")" "$@"; }
field() { on "$1" info all | tr -d '\r' | sed -n "s/^$2://p"; }

"$ROCKSTREAM" keygen --repl --out "$T/repl.key" >/dev/null
"$example" "$T/p" >/dev/null # versions 1..100, rolled back to 90

start_primary() {
  start_rockstream p serve --db "$T/p" --sync none --repl-listen "127.0.0.1:${RPORT:-0}" --repl-key "$T/repl.key"
  P_PID=$SERVE_PID
  RPORT=$(field p repl_listen_port)
}
start_primary

# ---- serve on a versioned database: reads, no plain writes ----------------
check_has "$(cat "$T/p.log")" "holds versioned state version=90: serving it read-only for plain writes" \
  "serve's log at start"
check_has "$(on p set account/11 1)" "READONLY database holds versioned state (latest version 90)" "SET"
check_has "$(on p del account/11)" "READONLY database holds versioned state" "DEL"
check_has "$(on p incr counter)" "READONLY database holds versioned state" "INCR"
check_eq "$(on p get account/11)" 710 "the value after the refused writes"
check_eq "$(on p exists counter)" 0 "INCR wrote nothing"
check_eq "$(field p read_only)" 1 "INFO read_only"
check_eq "$(field p version_latest)" 90 "INFO version_latest"
check_eq "$(on p getat account/11 51)" 510 "GETAT on the primary"
check_has "$(on p getat account/11 95)" "read at version 95: not committed yet; readable versions are [1, 90]" \
  "GETAT of a future version"
check_has "$(on p getat account/11 x)" "value is not an integer" "GETAT with a bad version"

# ---- a follower bootstraps and reads at versions ---------------------------
start_rockstream f follow --db "$T/f" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --sync none
F_PID=$SERVE_PID
at_version() { # the follower applied the primary's latest, which is version $1
  [[ "$(field f repl_version)" == "$1" && "$(field f slave_repl_offset)" == "$(field p master_repl_offset)" ]]
}
primary_sees() { on p info replication | tr -d '\r' | grep -q "^slave0:.*,acked_version=$1$"; }
poll_until "the follower bootstraps at version 90" 60 at_version 90
poll_until "the primary sees the follower at version 90" 30 primary_sees 90
check_eq "$(field p repl_version)" 90 "the primary's INFO repl_version"
check_eq "$(on f getat account/11 51)" 510 "GETAT on the follower"
check_eq "$(on f getat account/11 90)" 710 "GETAT of the latest version on the follower"
check_eq "$(field f version_latest)" 90 "the follower's INFO version_latest"
check_has "$(on f set account/11 1)" READONLY "a write on the follower"

# ---- versions made while the primary was down stream to the follower -----
kill -TERM "$P_PID"
wait_exit "$P_PID"
"$example" "$T/p" >/dev/null # versions 91..190, rolled back to 180
"$ROCKSTREAM" prune-state --db "$T/p" --keep-recent 50 --interval 10 >/dev/null # readable [130, 180]
start_primary
poll_until "the follower applies versions 91..190, the rollback and the prune" 60 at_version 180
poll_until "the primary sees the follower at version 180" 30 primary_sees 180
check_eq "$(on f getat account/11 171)" "$(on p getat account/11 171)" "GETAT 171 on both"
check_eq "$(on f getat account/11 171)" 1710 "GETAT 171 on the follower"
check_has "$(on f getat account/11 100)" "read at version 100: pruned; readable versions are [130, 180]" \
  "GETAT of a pruned version on the follower"
check_eq "$(field f version_earliest)" 130 "the follower's INFO version_earliest"
check_eq "$(on f debug digest)" "$(on p debug digest)" "the follower's content digest"
echo "ok: a versioned database served and followed"
