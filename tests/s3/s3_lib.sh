# Sourced by the S3 integration tests: the fixture's radosgw (its state
# file, from ctest's RS_S3_STATE), a temporary directory removed on exit,
# the AWS CLI pointed at radosgw, the fault proxy, and small assertions.
set -euo pipefail
S3_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${RS_S3_STATE:?run through ctest: the s3 fixture sets it}"
# shellcheck disable=SC1090
source "$RS_S3_STATE"
T=$(mktemp -d "${TMPDIR:-/tmp}/rs-s3test.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

source "$S3_LIB_DIR/../testlib/test_lib.sh"

# A prefix of this test's own in the shared bucket.
PREFIX="$(basename "$0" .sh)-$$"

# aws_cli ARGS...: Debian's AWS CLI against radosgw (not a pip-installed
# one on the PATH, and without an AWS_CA_BUNDLE meant for something else).
aws_cli() {
  local quiet=()
  [[ $1 == s3 ]] && quiet=(--only-show-errors) # no progress lines
  env -u AWS_CA_BUNDLE /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" "$@" "${quiet[@]}"
}

# sha256 FILE|-: the hex digest alone
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# field NAME TEXT: the value of NAME=value in TEXT
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2" | head -1; }

# start_proxy NAME ARGS...: the fault proxy in front of radosgw; sets
# PROXY (its endpoint) and PROXY_PID; its fault log is $T/NAME.faults
start_proxy() {
  local name=$1; shift
  rm -f "$T/$name.port"
  : >"$T/$name.faults"
  /usr/bin/python3 "$S3_LIB_DIR/fault_proxy.py" --upstream "${RS_S3_ENDPOINT#http://}" \
    --port-file "$T/$name.port" --log "$T/$name.faults" "$@" 2>"$T/$name.log" &
  PROXY_PID=$!
  PIDS+=("$PROXY_PID")
  for _ in $(seq 300); do
    [[ -s "$T/$name.port" ]] && break
    kill -0 "$PROXY_PID" 2>/dev/null || { cat "$T/$name.log" >&2; fail "proxy $name exited at start"; }
    sleep 0.1
  done
  [[ -s "$T/$name.port" ]] || fail "proxy $name did not start within 30 s"
  PROXY="http://127.0.0.1:$(cat "$T/$name.port")"
}

stop_proxy() {
  kill "$PROXY_PID" 2>/dev/null || true
  wait "$PROXY_PID" 2>/dev/null || true
}
