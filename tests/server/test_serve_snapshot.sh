#!/usr/bin/env bash
# SNAPSHOT on a live `rockstream serve`: fail-closed keys at start, refused
# without a key, bad paths, a snapshot under redis-benchmark's write load
# while GETs go on and a second SNAPSHOT is refused BUSY, INFO persistence,
# a pipeline behind SNAPSHOT, a shutdown that cancels one, and `rockstream
# unseal` of the archive: it opens and its digest is the manifest's.
source "$(dirname "$0")/serve_lib.sh"

help=$("$ROCKSTREAM" help serve)
check_has "$help" "--key FILE" "help serve: --key"
check_has "$help" "--passphrase" "help serve: --passphrase"

"$ROCKSTREAM" keygen --out "$T/pair.key" --public >/dev/null
"$ROCKSTREAM" keygen --out "$T/open.key" >/dev/null
chmod 644 "$T/open.key"
key_id=$(sed -n 's/^id: //p' "$T/pair.key")

# ---- fail closed: a configured key that is unusable stops serve before
# it opens the database or listens
refuse() { # refuse CODE PATTERN ARGS...: serve must exit CODE saying PATTERN
  local code=$1 pattern=$2 rc=0; shift 2
  "$ROCKSTREAM" serve --db "$T/db" --create --listen 127.0.0.1:0 "$@" 2>"$T/refused.err" || rc=$?
  check_eq "$rc" "$code" "serve $* exit status"
  check_has "$(cat "$T/refused.err")" "$pattern" "serve $*"
  [[ -e "$T/db" ]] && fail "serve $* created the database before refusing"
  return 0
}
refuse 4 "snapshot key: key file '$T/nope.key'" --key "$T/nope.key"
refuse 11 "accessible by group or others (mode 0644)" --key "$T/open.key"
rc=0
env -u ROCKSTREAM_PASSPHRASE setsid "$ROCKSTREAM" serve --db "$T/db" --create --listen 127.0.0.1:0 --passphrase \
  2>"$T/refused.err" </dev/null || rc=$?
check_eq "$rc" 1 "serve --passphrase without one"
check_has "$(cat "$T/refused.err")" "there is no terminal" "serve --passphrase without one"
printf '[serve]\nkey = %s\n' "$T/nope.key" >"$T/nokey.ini"
refuse 4 "key file '$T/nope.key'" --config "$T/nokey.ini"

# ---- a database of ~120 MB, so that a snapshot takes long enough to
# watch: incompressible values, so that nothing makes it small
"$ROCKSTREAM" load --db "$T/db" --create --keys 30k --value-size 4000 --compressibility 0 --sequential \
  --sync none >/dev/null
marker="plaintext-marker-$RANDOM$RANDOM"
"$ROCKSTREAM" put --db "$T/db" marker "$marker" >/dev/null

# ---- no key configured: SNAPSHOT refused, nothing written
start_serve nokey --db "$T/db"
check_has "$(rcli snapshot "$T/x.rsa")" "ERR no snapshot key configured" "SNAPSHOT without a key"
check_eq "$(info_field snapshot_key)" none "INFO snapshot_key without a key"
[[ -e "$T/x.rsa" || -e "$T/x.rsa.manifest" ]] && fail "a refused SNAPSHOT wrote a file"
stop_serve TERM

# ---- the key from the config file; bad paths
printf '[serve]\nkey = %s\n' "$T/pair.key.pub" >"$T/serve.ini"
start_serve main --config "$T/serve.ini" --db "$T/db"
check_eq "$(info_field snapshot_key)" "public key" "INFO snapshot_key"
check_eq "$(info_field snapshot_key_id)" "$key_id" "INFO snapshot_key_id"
check_eq "$(info_field snapshot_last_status)" none "INFO before any snapshot"
check_has "$(rcli snapshot rel.rsa)" "ERR snapshot path 'rel.rsa' is not absolute" "relative path"
check_has "$(rcli snapshot "$T/nodir/a.rsa")" "ERR creating '$T/nodir/a.rsa': No such file or directory" "no dir"
check_has "$(rcli snapshot "$T/bad"$'\n'"name")" "ERR snapshot path holds a control character" "newline in path"
echo "mine" >"$T/exists.rsa"
check_has "$(rcli snapshot "$T/exists.rsa")" "ERR '$T/exists.rsa' already exists: refusing to replace it" "existing"
check_eq "$(cat "$T/exists.rsa")" mine "an existing file is untouched"
check_has "$(rcli snapshot)" "ERR wrong number of arguments for 'snapshot' command" "SNAPSHOT arity"
ls -a "$T" | grep -q '\.tmp-' && fail "a refused SNAPSHOT left a temporary file"

# ---- under write load: GETs answered, a second SNAPSHOT refused BUSY
redis-benchmark -p "$PORT" -t set -r 100000 -d 64 -c 8 -P 8 -n 100000000 -q >/dev/null 2>&1 &
bench_pid=$!
PIDS+=("$bench_pid")
poll_until "write load under way" 30 bash -c "(( \$(redis-cli -p $PORT info persistence | tr -d '\r' |
  sed -n 's/^latest_seq://p') > 30100 ))"
rcli snapshot "$T/a.rsa" >"$T/snap.out" 2>&1 &
snap_pid=$!
poll_until "SNAPSHOT in progress" 30 bash -c "redis-cli -p $PORT info persistence | grep -q '^snapshot_in_progress:1'"
check_has "$(rcli snapshot "$T/b.rsa")" "BUSY a snapshot is already in progress (to '$T/a.rsa'" "second SNAPSHOT"
[[ -e "$T/b.rsa" ]] && fail "a refused second SNAPSHOT wrote a file"
check_eq "$(info_field snapshot_current_path)" "$T/a.rsa" "INFO snapshot_current_path"
gets=0
while [[ "$(info_field snapshot_in_progress)" == 1 ]]; do
  check_eq "$(rcli get marker)" "$marker" "GET during the snapshot"
  gets=$((gets + 1))
done
(( gets >= 3 )) || fail "only $gets GETs while the snapshot ran: it was too quick to watch"
wait_exit "$snap_pid"
check_eq "$EXIT_RC" 0 "redis-cli SNAPSHOT exit status"
field() { sed -n "/^$1\$/{n;p;q}" "$T/snap.out"; }
seq=$(field seq); digest=$(field digest)
[[ "$digest" =~ ^[0-9a-f]{64}$ ]] || { cat "$T/snap.out" >&2; fail "SNAPSHOT reply digest '$digest'"; }
check_eq "$(field archive)" "$T/a.rsa" "SNAPSHOT reply archive"
check_eq "$(field manifest)" "$T/a.rsa.manifest" "SNAPSHOT reply manifest"
check_eq "$(field key_id)" "$key_id" "SNAPSHOT reply key_id"
check_eq "$(field archive_bytes)" "$(stat -c %s "$T/a.rsa")" "SNAPSHOT reply archive_bytes"
(( $(field pairs) > 30000 )) || fail "SNAPSHOT reply pairs $(field pairs)"
check_eq "$(stat -c %a "$T/a.rsa")" 600 "archive mode"
grep -qaF "$marker" "$T/a.rsa" && fail "the archive holds plaintext"
# writes went on while it sealed: the store moved past the checkpoint
poll_until "writes after the checkpoint" 30 bash -c "(( \$(redis-cli -p $PORT info persistence | tr -d '\r' |
  sed -n 's/^latest_seq://p') > $seq ))"
kill "$bench_pid"
wait "$bench_pid" 2>/dev/null || true
check_eq "$(info_field snapshot_last_status)" ok "INFO snapshot_last_status"
check_eq "$(info_field snapshot_last_seq)" "$seq" "INFO snapshot_last_seq"
check_eq "$(info_field snapshot_last_id)" "$(field id)" "INFO snapshot_last_id"
check_eq "$(info_field snapshots_taken)" 1 "INFO snapshots_taken"
(( $(info_field snapshot_last_time) >= $(date +%s) - 600 )) || fail "INFO snapshot_last_time"
(( $(info_field snapshot_last_duration_ms) > 0 )) || fail "INFO snapshot_last_duration_ms"

# ---- pipelined: the writes before SNAPSHOT are in it, the requests after
# it wait for its reply and keep their order
out=$(printf 'SET pipe:k v1\r\nSNAPSHOT %s\r\nGET pipe:k\r\nQUIT\r\n' "$T/p.rsa" |
      RS_CLIENT_TIMEOUT_MS=60000 "$CLIENT" raw "$ADDR" | tr '\n' ' ')
[[ "$out" =~ ^\+OK\ \*26\ .*duration_ms.*\$2\ v1\ \+OK\ closed\ $ ]] || fail "pipeline around SNAPSHOT: $out"
[[ -s "$T/p.rsa" && -s "$T/p.rsa.manifest" ]] || fail "pipelined SNAPSHOT files"

# ---- a shutdown cancels a snapshot in progress: its client hears why, and
# nothing is left behind
rcli snapshot "$T/c.rsa" >"$T/cancel.out" 2>&1 &
snap_pid=$!
poll_until "second SNAPSHOT in progress" 30 bash -c "redis-cli -p $PORT info persistence | grep -q '^snapshot_in_progress:1'"
stop_serve TERM
wait_exit "$snap_pid"
check_has "$(cat "$T/cancel.out")" "ERR snapshot failed:" "cancelled SNAPSHOT reply"
check_has "$(cat "$T/cancel.out")" "cancelled: the server is shutting down" "cancelled SNAPSHOT reason"
[[ -e "$T/c.rsa" || -e "$T/c.rsa.manifest" ]] && fail "a cancelled SNAPSHOT left its files"
ls -a "$T" | grep -q '\.tmp-\|\.snapshot-' && fail "temporary files or a checkpoint left behind: $(ls -a "$T")"
check_has "$(cat "$T/main.log")" "serve: snapshot failed" "log of the cancelled snapshot"

# ---- the archive taken under load unseals, and its digest is the manifest's
"$ROCKSTREAM" unseal --in "$T/a.rsa" --to "$T/restored" --key "$T/pair.key" >"$T/unseal.out"
check_has "$(cat "$T/unseal.out")" "the detached manifest's MAC and archive hash" "unseal checked the manifest"
check_has "$(cat "$T/unseal.out")" "content digest  ${digest:0:16}... matches the manifest" "unsealed digest"
check_has "$(cat "$T/unseal.out")" "sequence $seq)" "unsealed sequence"
check_eq "$("$ROCKSTREAM" get --db "$T/restored" marker)" "$marker" "a value from the unsealed database"
echo "serve_snapshot: all passed"
