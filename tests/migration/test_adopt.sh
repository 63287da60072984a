#!/usr/bin/env bash
# Adopting a database another program wrote (docs/migration.md): the raw
# RocksDB C API makes one with a column family of its own ("accounts",
# with its own options) and data both in SST files and in the WAL; then
# rockstream serves it, a follower replicates it, it is snapshotted and
# unsealed. In the database, the follower's copy and the unsealed copy,
# that same program finds all its data, and the accounts family's options
# are the ones it chose. Refused, untouched: the database without its
# OPTIONS file; a key file of format version 2. Last, the program as moved
# to rs_store (examples/migrated_app.c) opens the unsealed copy and goes on.
# temporary directory, daemons on free ports stopped by PID, assertions
source "$(dirname "$0")/../server/serve_lib.sh"
app=$RS_TEST_HELPERS/rs_rocksdb_app
migrated=$(dirname "$RS_TEST_HELPERS")/examples/migrated_app
# on failure, show the end of every daemon's log
fail() {
  echo "FAIL: $*" >&2
  for f in "$T"/*.log; do [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
stop() { # stop PID NAME: SIGTERM, and a clean exit
  kill -TERM "$1"
  wait_exit "$1"
  check_eq "$EXIT_RC" 0 "exit status of $2"
}

# the accounts family's options as the latest OPTIONS file records them
# (not its bloom filter: RocksDB 7.8 writes "filter_policy=bloomfilter"
# without its parameters and reads that back as no filter, whoever opens
# the database; docs/migration.md)
accounts_options() {
  local f
  f=$(ls "$1"/OPTIONS-* | sort | tail -n 1)
  awk '/^\[CFOptions "accounts"\]/ {on = 1; next} /^\[/ {on = 0}
       on && /^ *(write_buffer_size|compression)=/ {print $1}' "$f"
  awk '/^\[TableOptions\/BlockBasedTable "accounts"\]/ {on = 1; next} /^\[/ {on = 0}
       on && /^ *block_size=/ {print $1}' "$f"
}

# ---- another program makes the database ---------------------------------
"$app" create "$T/db"
want_opts=$(accounts_options "$T/db")
[[ "$want_opts" == *"write_buffer_size=8388608"* && "$want_opts" == *"block_size=8192"* &&
   "$want_opts" == *"kZSTD"* ]] ||
  fail "the raw program's options are not what it set: $want_opts"

# ---- without its OPTIONS file, the families' options are unknown: refused,
# untouched ------------------------------------------------------------------
cp -a "$T/db" "$T/bare"
rm "$T"/bare/OPTIONS-*
files_before=$(ls "$T/bare")
rc=0
out=$("$ROCKSTREAM" get --db "$T/bare" order:000042 2>&1) || rc=$?
[[ $rc -ne 0 && "$out" == *"cannot adopt column families 'accounts'"* && "$out" == *"OPTIONS"* ]] ||
  fail "a database without its OPTIONS file (exit $rc): $out"
check_eq "$(ls "$T/bare")" "$files_before" "the files of the refused database"
check_eq "$("$app" verify "$T/bare" 1000)" "orders=1000 accounts=100" "the refused database's data"

# ---- rockstream serves it, a follower replicates it ----------------------
"$ROCKSTREAM" keygen --repl --out "$T/repl.key" >/dev/null
start_rockstream primary serve --db "$T/db" --repl-listen 127.0.0.1:0 --repl-key "$T/repl.key"
P_PID=$SERVE_PID P_PORT=$PORT
check_eq "$(redis-cli -p "$P_PORT" get order:000042)" "qty=1" "an order the raw program flushed to an SST file"
check_eq "$(redis-cli -p "$P_PORT" get order:000999)" "qty=6" "an order it left in the WAL"
RPORT=$(redis-cli -p "$P_PORT" info replication | tr -d '\r' | sed -n 's/^repl_listen_port://p')
start_rockstream standby follow --db "$T/standby" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key"
S_PID=$SERVE_PID S_PORT=$PORT
check_eq "$(redis-cli -p "$P_PORT" set order:001000 qty=9)" "OK" "a write through rockstream"
has_new() { [[ "$(redis-cli -p "$S_PORT" get order:001000)" == "qty=9" ]]; }
poll_until "the standby applies the write" 60 has_new
check_eq "$(redis-cli -p "$S_PORT" debug digest)" "$(redis-cli -p "$P_PORT" debug digest)" "the standby's digest"
stop "$S_PID" standby
stop "$P_PID" primary

# ---- a snapshot, unsealed --------------------------------------------------
"$ROCKSTREAM" keygen --out "$T/snap.key" >/dev/null
"$ROCKSTREAM" snapshot --db "$T/db" --out "$T/db.rsa" --key "$T/snap.key" >/dev/null
"$ROCKSTREAM" unseal --in "$T/db.rsa" --key "$T/snap.key" --to "$T/restored" >/dev/null

# ---- everything is still there, read by the program that wrote it -------
for copy in db standby restored; do
  check_eq "$("$app" verify "$T/$copy" 1001)" "orders=1001 accounts=100" "the raw program reading $copy"
  check_eq "$(accounts_options "$T/$copy")" "$want_opts" "the accounts family's options in $copy"
done

# ---- format versions: a key file of a version this build does not know is
# refused before any work ----------------------------------------------------
sed 's/^rockstream-key: 1$/rockstream-key: 2/' "$T/snap.key" >"$T/v2.key"
chmod 600 "$T/v2.key"
rc=0
out=$("$ROCKSTREAM" snapshot --db "$T/db" --out "$T/v2.rsa" --key "$T/v2.key" 2>&1) || rc=$?
check_eq "$rc" 7 "exit status for a key file of format version 2"
[[ "$out" == *"has format version 2; this build knows 1"* && ! -e "$T/v2.rsa" ]] || fail "key file version 2: $out"

# ---- the program, moved to rs_store, goes on --------------------------------
out=$("$migrated" "$T/restored")
[[ "$out" == *"order:000042 = qty=1"* && "$out" == *"1101 orders at sequence"* ]] || fail "migrated_app: $out"
check_eq "$("$app" verify "$T/restored" 1101)" "orders=1101 accounts=100" "the raw program after migrated_app"
echo "ok: adopted, served, replicated, snapshotted; families, options and data kept"
