#!/usr/bin/env bash
# A throw-away S3 server for the tests: Ceph's RADOS Gateway on a
# single-node cluster (one monitor, one OSD on memstore) on 127.0.0.1, in a
# temporary directory (recipe: S3-TEST-SERVER.md).
#   rgw.sh start STATE   starts it, creates a user and writes STATE, a file
#                        of shell assignments the tests source (endpoints,
#                        credentials, a bucket, the CA of its TLS port)
#   rgw.sh stop STATE    stops the daemons by PID and removes the directory
# The ctest fixture "s3" (tests/s3/s3.cmake) runs these once per test run.
set -euo pipefail

fail() { echo "rgw: $*" >&2; exit 1; }
py=/usr/bin/python3

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line. They are
# free when asked; the daemons bind them a moment later.
free_ports() {
  "$py" - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
PY
}

# runs_from PID DIR: whether PID is one of our daemons. Their command lines
# do not name DIR (the configuration comes from CEPH_CONF in their
# environment), so the environment is what tells them from a reused PID.
# grep reads to the end: under pipefail an early exit would fail tr.
runs_from() {
  local n
  n=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -cxF "CEPH_CONF=$2/ceph.conf") || true
  [[ "${n:-0}" -gt 0 ]]
}

# stop_state STATE: kills the daemons STATE names (only if they still run
# from its directory: a PID may have been reused) and removes the directory.
stop_state() {
  local state=$1
  [[ -f "$state" ]] || return 0
  # shellcheck disable=SC1090
  local RS_S3_DIR="" RS_S3_PIDS=""
  source "$state"
  local alive=()
  for pid in $RS_S3_PIDS; do
    if [[ -n "$RS_S3_DIR" ]] && runs_from "$pid" "$RS_S3_DIR"; then
      kill -TERM "$pid" 2>/dev/null && alive+=("$pid")
    fi
  done
  for pid in "${alive[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -n "$RS_S3_DIR" && -d "$RS_S3_DIR" ]] && rm -rf "$RS_S3_DIR"
  rm -f "$state"
}

# spawn LOG CMD...: starts a daemon in its own session, detached from our
# stdout and stderr (ctest waits for those to close), and prints its PID.
spawn() {
  local log=$1; shift
  setsid "$@" </dev/null >"$log" 2>&1 &
  echo $!
}

# wait_for WHAT SECONDS CMD...: polls CMD until it succeeds.
wait_for() {
  local what=$1 secs=$2; shift 2
  for _ in $(seq $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  fail "$what not ready within $secs s (logs in $dir)"
}

start() {
  local state=$1
  stop_state "$state"
  for b in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$b" >/dev/null || fail "$b is missing: run scripts/deps.sh test"
  done
  dir=$(mktemp -d "${TMPDIR:-/tmp}/rs-rgw.XXXXXX")
  local ports mon_port http_port https_port
  ports=$(free_ports 3)
  mon_port=$(sed -n 1p <<<"$ports"); http_port=$(sed -n 2p <<<"$ports"); https_port=$(sed -n 3p <<<"$ports")
  local fsid osd_uuid key secret
  fsid=$(cat /proc/sys/kernel/random/uuid)
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  key=RSTEST$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
  secret=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')

  # The TLS port's certificate, for the --s3-ca-file tests.
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:*.s3.localhost" \
    -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null

  export CEPH_CONF=$dir/ceph.conf
  cat >"$CEPH_CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$mon_port
mon initial members = a
ms mon client mode = crc
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
log file = $dir/\$name.log
admin socket = $dir/run/\$name.asok
mon data = $dir/mon-\$id
osd data = $dir/osd-\$id
mon data avail crit = 0
osd objectstore = memstore
memstore device bytes = 8589934592
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
rgw gc obj min wait = 0
rgw gc processor period = 10
rgw dns name = s3.localhost
rgw frontends = beast endpoint=127.0.0.1:$http_port ssl_endpoint=127.0.0.1:$https_port ssl_certificate=$dir/tls.crt ssl_private_key=$dir/tls.key
CONF
  mkdir -p "$dir/run" "$dir/mon-a" "$dir/osd-0"
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/monmap" >/dev/null
  ceph-mon --mkfs -i a --monmap "$dir/monmap" >/dev/null 2>&1 || fail "ceph-mon --mkfs failed"
  local pids=()
  pids+=("$(spawn "$dir/mon.out" ceph-mon -i a -f)")
  # Written now, so a failure below still stops what started.
  write_state "$state" "${pids[*]}"
  wait_for "ceph-mon" 60 ceph -s --connect-timeout 5
  ceph osd new "$osd_uuid" 0 >/dev/null 2>&1 || fail "ceph osd new failed"
  ceph-osd -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 || fail "ceph-osd --mkfs failed"
  pids+=("$(spawn "$dir/osd.out" ceph-osd -i 0 -f)")
  write_state "$state" "${pids[*]}"
  pids+=("$(spawn "$dir/rgw.out" radosgw -n client.rgw -f)")
  write_state "$state" "${pids[*]}"
  wait_for "radosgw" 120 curl -sf "http://127.0.0.1:$http_port/"
  radosgw-admin user create --uid=test --display-name=test --access-key="$key" --secret-key="$secret" \
    >/dev/null 2>&1 || fail "radosgw-admin user create failed"
  write_state "$state" "${pids[*]}" "$key" "$secret" "$http_port" "$https_port"
  # shellcheck disable=SC1090
  source "$state"
  env -u AWS_CA_BUNDLE /usr/bin/aws --endpoint-url "$RS_S3_ENDPOINT" s3api create-bucket \
    --bucket "$RS_S3_BUCKET" >/dev/null || fail "cannot create bucket $RS_S3_BUCKET"
}

# write_state STATE PIDS [KEY SECRET HTTP_PORT HTTPS_PORT]
write_state() {
  local state=$1 tmp="$1.tmp"
  {
    printf 'RS_S3_DIR=%q\n' "$dir"
    printf 'RS_S3_PIDS=%q\n' "$2"
    printf 'export CEPH_CONF=%q\n' "$dir/ceph.conf"
    if [[ $# -gt 2 ]]; then
      printf 'export AWS_ACCESS_KEY_ID=%q\n' "$3"
      printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$4"
      printf 'export AWS_REGION=us-east-1\n'
      printf 'unset AWS_CA_BUNDLE AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3\n'
      printf 'export AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null\n'
      printf 'RS_S3_ENDPOINT=http://127.0.0.1:%s\n' "$5"
      printf 'RS_S3_ENDPOINT_TLS=https://127.0.0.1:%s\n' "$6"
      printf 'RS_S3_ENDPOINT_VHOST=http://s3.localhost:%s\n' "$5"
      printf 'RS_S3_CA_FILE=%q\n' "$dir/tls.crt"
      printf 'RS_S3_BUCKET=rs-test\n'
    fi
  } >"$tmp"
  mv "$tmp" "$state"
}

case "${1:-}" in
  start) [[ $# -eq 2 ]] || fail "usage: rgw.sh start STATE"; start "$2" ;;
  stop) [[ $# -eq 2 ]] || fail "usage: rgw.sh stop STATE"; stop_state "$2" ;;
  *) fail "usage: rgw.sh start|stop STATE" ;;
esac
