#!/usr/bin/env bash
# rockstream serve locked down (docs/server.md, Security): protected mode
# refuses a non-loopback --listen without a password; password files and
# requirepass in a config file must be private; an unauthenticated client
# runs nothing but AUTH, HELLO and QUIT; a wrong password is refused and
# logged without its text; redis-py with a password; SNAPSHOT only inside
# --snapshot-dir; renamed and disabled commands; TLS with redis-cli --tls
# (a throwaway CA made here with openssl), a plaintext client refused on
# the TLS port, client certificates with --tls-ca-cert-file.
source "$(dirname "$0")/serve_lib.sh"
PY=/usr/bin/python3 # Debian's, with python3-redis (scripts/deps.sh test)

help=$("$ROCKSTREAM" help serve)
for opt in --requirepass-file --tls-port --tls-cert-file --tls-key-file --tls-ca-cert-file --snapshot-dir \
  --rename-command; do
  check_has "$help" "$opt" "help serve: $opt"
done

# refuse CODE PATTERN ARGS...: serve must exit CODE saying PATTERN, and
# create no database
refuse() {
  local code=$1 pattern=$2 rc=0; shift 2
  "$ROCKSTREAM" serve --db "$T/never" --create "$@" 2>"$T/refused.err" || rc=$?
  check_eq "$rc" "$code" "serve $* exit status"
  check_has "$(cat "$T/refused.err")" "$pattern" "serve $*"
  [[ -e "$T/never" ]] && fail "serve $* created the database before refusing"
  return 0
}

pw="pw-$RANDOM-$RANDOM-$RANDOM"
printf '%s\n' "$pw" >"$T/pass"
chmod 600 "$T/pass"
cp "$T/pass" "$T/open-pass"
chmod 644 "$T/open-pass"

# ---- protected mode, and passwords that would leak
refuse 1 "--listen '0.0.0.0:0' is not a loopback address and no password is set" --listen 0.0.0.0:0
check_has "$(cat "$T/refused.err")" "hint: set a password with --requirepass-file" "protected mode hint"
refuse 11 "password file '$T/open-pass' holds a secret and is accessible by group or others" \
  --requirepass-file "$T/open-pass"
refuse 1 "--requirepass: a password on the command line is visible to every user" --requirepass "$pw"
grep -qF -- "$pw" "$T/refused.err" && fail "the refusal quoted the password"
printf '[serve]\nrequirepass = %s\n' "$pw" >"$T/open.ini"
chmod 644 "$T/open.ini"
refuse 11 "config file with requirepass '$T/open.ini' holds a secret" --config "$T/open.ini"
grep -qF -- "$pw" "$T/refused.err" && fail "the refusal quoted the password"

# ---- a password, from the config file (private)
"$ROCKSTREAM" keygen --out "$T/snap.key" --public >/dev/null
mkdir "$T/snaps" "$T/outside"
printf '[serve]\nrequirepass = %s\nsnapshot-dir = %s\nkey = %s\n' "$pw" "$T/snaps" "$T/snap.key.pub" >"$T/serve.ini"
chmod 600 "$T/serve.ini"
start_serve auth --config "$T/serve.ini" --db "$T/db" --create
for cmd in "ping" "get k" "set k v" "info" "snapshot x.rsa" "debug digest" "command count"; do
  # shellcheck disable=SC2086
  check_eq "$(rcli $cmd)" "NOAUTH Authentication required." "$cmd before AUTH"
done
attempt="wrong-attempt-$RANDOM$RANDOM"
check_has "$(rcli -a "$attempt" --no-auth-warning ping 2>&1)" "WRONGPASS" "a wrong password"
check_has "$(cat "$T/auth.log")" "AUTH failed: wrong password" "the failure is logged"
grep -qF -- "$attempt" "$T/auth.log" && fail "the log holds the attempt's text"
grep -qF -- "$pw" "$T/auth.log" && fail "the log holds the password"
check_eq "$(rcli -a "$pw" --no-auth-warning set k v)" OK "SET after AUTH"
check_eq "$(rcli -a "$pw" --no-auth-warning get k)" v "GET after AUTH"
check_has "$(rcli hello 2 auth default "$pw" | tr '\n' ' ')" "proto 2" "HELLO 2 AUTH"
check_eq "$(rcli -a "$pw" --no-auth-warning info stats | tr -d '\r' | sed -n 's/^acl_access_denied_auth://p')" 1 \
  "failed AUTHs counted"
printf 'QUIT\r\n' | RS_CLIENT_TIMEOUT_MS=3000 "$CLIENT" raw "$ADDR" >"$T/quit.out"
check_eq "$(cat "$T/quit.out")" $'+OK\nclosed' "QUIT before AUTH"

# ---- redis-py, as an application would connect
"$PY" - "$PORT" "$pw" <<'PY' || fail "redis-py"
import sys
import redis
port, pw = int(sys.argv[1]), sys.argv[2]
r = redis.Redis(host="127.0.0.1", port=port, password=pw)
r.set("py:key", b"\x00binary\xff")
assert r.get("py:key") == b"\x00binary\xff"
assert r.incr("py:n") == 1
# redis-py 4.3 raises WRONGPASS as a plain ResponseError, as against Redis 7
for bad, said in ((None, "Authentication required"), ("not-the-password", "WRONGPASS")):
    try:
        redis.Redis(host="127.0.0.1", port=port, password=bad).get("py:key")
        raise SystemExit("connected with password %r" % bad)
    except (redis.exceptions.ResponseError, redis.exceptions.AuthenticationError) as e:
        assert said in str(e), str(e)
print("redis-py: ok")
PY

# ---- SNAPSHOT only inside --snapshot-dir
ra() { rcli -a "$pw" --no-auth-warning "$@"; }
check_has "$(ra snapshot "$T/outside/a.rsa")" "ERR snapshot path '$T/outside/a.rsa' is outside the snapshot directory" \
  "SNAPSHOT outside the directory"
check_has "$(ra snapshot ../outside/a.rsa)" "holds '..'" "SNAPSHOT through .."
ln -s "$T/outside" "$T/snaps/escape"
check_has "$(ra snapshot escape/a.rsa)" "leaves the snapshot directory '$T/snaps' through a symbolic link" \
  "SNAPSHOT through a link"
[[ -z "$(ls -A "$T/outside")" ]] || fail "a refused SNAPSHOT wrote outside: $(ls -A "$T/outside")"
ra snapshot daily.rsa >"$T/snap.out"
check_has "$(cat "$T/snap.out")" "$T/snaps/daily.rsa" "SNAPSHOT inside the directory"
[[ -s "$T/snaps/daily.rsa" && -s "$T/snaps/daily.rsa.manifest" ]] || fail "the archive is not in the directory"
stop_serve TERM

# ---- renamed and disabled administrative commands; a password allows a
# non-loopback address
start_serve renamed --db "$T/db" --listen 0.0.0.0:0 --requirepass-file "$T/pass" --rename-command DEBUG= \
  --rename-command snapshot=snap-9f2c --key "$T/snap.key.pub"
check_has "$(ra debug digest)" "ERR unknown command 'debug'" "DEBUG disabled"
check_has "$(ra snapshot "$T/x.rsa")" "ERR unknown command 'snapshot'" "SNAPSHOT renamed"
check_has "$(ra snap-9f2c "$T/renamed.rsa")" "$T/renamed.rsa" "SNAPSHOT under its new name"
grep -q "snap-9f2c" "$T/renamed.log" && fail "the log names the renamed command"
check_has "$(cat "$T/renamed.log")" "the password and the data cross the network in the clear" \
  "a warning for a plaintext port on the network"
stop_serve TERM

# ---- TLS: a throwaway CA, a server certificate, a client certificate
ossl() { openssl "$@" 2>>"$T/openssl.log" || fail "openssl $1"; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ossl req -x509 "${ec[@]}" -keyout "$T/ca.key" -out "$T/ca.crt" -days 1 -subj "/CN=rockstream test CA"
for who in server client; do
  ossl req "${ec[@]}" -keyout "$T/$who.key" -out "$T/$who.csr" -subj "/CN=$who"
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$T/$who.ext"
  ossl x509 -req -in "$T/$who.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 1 \
    -extfile "$T/$who.ext" -out "$T/$who.crt"
  chmod 600 "$T/$who.key"
done
cp "$T/server.key" "$T/open-server.key"
chmod 644 "$T/open-server.key"
tls=(--tls-port 0 --tls-cert-file "$T/server.crt" --tls-key-file "$T/server.key")
refuse 11 "TLS key file '$T/open-server.key' holds a secret and is accessible by group or others" \
  --tls-port 0 --tls-cert-file "$T/server.crt" --tls-key-file "$T/open-server.key"
chmod 600 "$T/ca.key"
refuse 1 "TLS key file '$T/ca.key' does not belong to the certificate in '$T/server.crt'" \
  --tls-port 0 --tls-cert-file "$T/server.crt" --tls-key-file "$T/ca.key"
start_serve tls --db "$T/db" "${tls[@]}"
[[ -n "$TLS_PORT" && "$TLS_PORT" != "$PORT" ]] || fail "no TLS address in the port file"
check_eq "$(info_field listen_tls)" "$TLS_ADDR" "INFO listen_tls"
tcli() { redis-cli --tls --cacert "$T/ca.crt" -h 127.0.0.1 -p "$TLS_PORT" "$@"; }
check_eq "$(tcli set tls:k hello)" OK "SET over TLS"
check_eq "$(tcli get tls:k)" hello "GET over TLS"
head -c 300000 /dev/urandom >"$T/bin"
check_eq "$(tcli -x set tls:bin <"$T/bin")" OK "a large value over TLS"
tcli --raw get tls:bin | head -c -1 | cmp -s - "$T/bin" || fail "the large value read back over TLS differs"
# pipelines over TLS: many records per read, replies in many writes
out=$(redis-benchmark --tls --cacert "$T/ca.crt" -h 127.0.0.1 -p "$TLS_PORT" -t set,get -n 20000 -P 16 -c 4 -q 2>&1)
check_has "$out" "GET:" "redis-benchmark over TLS"
check_eq "$(rcli get tls:k)" hello "the plaintext port still serves"
# a plaintext client on the TLS port gets nothing and is closed
plain=$(timeout 10 redis-cli -h 127.0.0.1 -p "$TLS_PORT" ping 2>&1 || true)
[[ "$plain" != *PONG* ]] || fail "a plaintext client was served on the TLS port"
poll_until "the refused handshake is logged" 10 grep -q "TLS handshake failed" "$T/tls.log"
(( $(info_field tls_handshake_failures) >= 1 )) || fail "TLS handshake failures not counted"
stop_serve TERM

# ---- client certificates, and redis-py over TLS with a password
start_serve mtls --db "$T/db" "${tls[@]}" --tls-ca-cert-file "$T/ca.crt" --requirepass-file "$T/pass"
nocert=$(timeout 10 redis-cli --tls --cacert "$T/ca.crt" -h 127.0.0.1 -p "$TLS_PORT" -a "$pw" --no-auth-warning \
  ping 2>&1 || true)
[[ "$nocert" != *PONG* ]] || fail "a client without a certificate was served"
check_eq "$(redis-cli --tls --cacert "$T/ca.crt" --cert "$T/client.crt" --key "$T/client.key" -h 127.0.0.1 \
  -p "$TLS_PORT" -a "$pw" --no-auth-warning get tls:k)" hello "a client with a certificate"
"$PY" - "$TLS_PORT" "$pw" "$T" <<'PY' || fail "redis-py over TLS"
import sys
import redis
port, pw, t = int(sys.argv[1]), sys.argv[2], sys.argv[3]
r = redis.Redis(host="127.0.0.1", port=port, password=pw, ssl=True, ssl_ca_certs=t + "/ca.crt",
                ssl_certfile=t + "/client.crt", ssl_keyfile=t + "/client.key")
assert r.get("tls:k") == b"hello"
print("redis-py over TLS: ok")
PY
stop_serve TERM
echo "serve_security: all passed"
