# Shared by the serve integration tests (sourced): a temporary directory,
# starting `rockstream serve` on a free port (--listen 127.0.0.1:0 and a
# port file), stopping it by PID, and small assertions.
set -euo pipefail
: "${ROCKSTREAM:?set by ctest}" "${RS_TEST_HELPERS:?set by ctest}"
CLIENT="$RS_TEST_HELPERS/rs_resp_client"
T=$(mktemp -d "${TMPDIR:-/tmp}/rs-serve.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
check_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
check_has() { [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got '$1'"; }

# start_serve NAME ARGS...: sets SERVE_PID, ADDR, PORT (and TLS_ADDR,
# TLS_PORT with --tls-port); the log is $T/NAME.log
start_serve() { start_rockstream "$1" serve "${@:2}"; }

# start_rockstream NAME COMMAND ARGS...: the same for any daemon (serve, follow)
start_rockstream() {
  local name=$1 cmd=$2; shift 2
  rm -f "$T/$name.port"
  "$ROCKSTREAM" "$cmd" --listen 127.0.0.1:0 --port-file "$T/$name.port" "$@" 2>"$T/$name.log" &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  for _ in $(seq 600); do
    [[ -s "$T/$name.port" ]] && break
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/$name.log" >&2; fail "$cmd $name exited at start"; }
    sleep 0.1
  done
  [[ -s "$T/$name.port" ]] || fail "$cmd $name did not start within 60 s"
  ADDR=$(sed -n 1p "$T/$name.port")
  PORT=${ADDR##*:}
  TLS_ADDR=$(sed -n 2p "$T/$name.port")
  TLS_PORT=${TLS_ADDR##*:}
}

# wait_exit PID: waits up to 60 s for PID (a child) to exit; sets EXIT_RC
wait_exit() {
  for _ in $(seq 600); do
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$1" 2>/dev/null && fail "process $1 did not exit within 60 s"
  EXIT_RC=0
  wait "$1" || EXIT_RC=$?
}

# stop_serve [SIGNAL]: signals the server and checks that it exits 0
stop_serve() {
  kill -"${1:-TERM}" "$SERVE_PID"
  wait_exit "$SERVE_PID"
  check_eq "$EXIT_RC" 0 "serve exit status after SIG${1:-TERM}"
}

rcli() { redis-cli -p "$PORT" "$@"; }

# info_field NAME: a field of INFO all
info_field() { rcli info all | tr -d '\r' | sed -n "s/^$1://p"; }

# poll_until DESCRIPTION SECONDS COMMAND...: runs COMMAND until it succeeds
poll_until() {
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  fail "$what: not within $secs s"
}
