#!/usr/bin/env bash
# What serve leaves to other local users (issue 11): a database it creates
# is private (0700, like a follower's and an unsealed one), and the
# passphrase it read from $ROCKSTREAM_PASSPHRASE is no longer in
# /proc/PID/environ while it runs.
source "$(dirname "$0")/serve_lib.sh"

"$ROCKSTREAM" keygen --repl --out "$T/repl.key" >/dev/null
secret="pass-$RANDOM$RANDOM-phrase"
ROCKSTREAM_PASSPHRASE="$secret" start_serve p --db "$T/p" --create --passphrase --sync none \
  --repl-listen 127.0.0.1:0 --repl-key "$T/repl.key"
P_PID=$SERVE_PID
grep -qa -- "$secret" "/proc/$P_PID/environ" && fail "the passphrase is in /proc/$P_PID/environ"
tr '\0' '\n' <"/proc/$P_PID/environ" | grep -q '^PATH=' || fail "the test read no environment at all"
check_has "$(cat "$T/p.log")" "snapshots sealed with passphrase" "serve read the passphrase"

check_eq "$(stat -c %a "$T/p")" 700 "mode of the database serve --create made"
RPORT=$(info_field repl_listen_port)
"$ROCKSTREAM" follow --db "$T/f" --primary "127.0.0.1:$RPORT" --repl-key "$T/repl.key" --sync none \
  --listen 127.0.0.1:0 --port-file "$T/f.port" 2>"$T/f.log" &
PIDS+=("$!")
poll_until "the follower bootstrapped" 60 test -s "$T/f.port"
check_eq "$(stat -c %a "$T/f")" 700 "mode of a follower's database"
if [[ $(id -u) == 0 ]]; then
  runuser -u nobody -- cat "$T/p/CURRENT" >/dev/null 2>&1 && fail "another user read the database"
fi
echo "ok: serve keeps its database and passphrase private"
