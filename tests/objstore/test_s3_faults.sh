#!/usr/bin/env bash
# Object storage through a fault-injecting proxy in front of radosgw
# (tests/s3/fault_proxy.py): with 500s, 503 SlowDowns, resets in the middle
# of replies and stalls longer than the stall timeout on every third
# request, uploads and downloads still complete byte-identical; when every
# request fails, a clear error comes within the retry bound.
source "$(dirname "$0")/../s3/s3_lib.sh"
TOOL="$RS_TEST_HELPERS/rs_objstore_tool"
URL="s3://$RS_S3_BUCKET/$PREFIX"
MIB=$((1 << 20))
# small parts and a short stall timeout, so a run sees many requests and
# the stalls cost seconds, not minutes
OPTS=(--part-size $((5 * MIB)) --parallel 2 --stall-ms 1000 --attempts 8)

start_proxy faults --every 3 --faults 500,503,reset,stall --stall-s 3

# an upload of 7 parts, with faults on its parts, its begin and complete
out=$("$TOOL" "${OPTS[@]}" --endpoint "$PROXY" gen "$URL" "through proxy.bin" $((33 * MIB + 7)) 42 2>"$T/up.err") ||
  { cat "$T/up.err" >&2; fail "upload through the proxy failed"; }
sent=$(field sha256 "$out")
# downloads through the proxy, and straight from radosgw, give the same bytes
out=$("$TOOL" "${OPTS[@]}" --endpoint "$PROXY" hash "$URL" "through proxy.bin" 2>"$T/down.err") ||
  { cat "$T/down.err" >&2; fail "download through the proxy failed"; }
check_eq "$(field sha256 "$out")" "$sent" "download through the proxy"
check_eq "$(field size "$out")" $((33 * MIB + 7)) "size through the proxy"
check_eq "$(aws_cli s3 cp "s3://$RS_S3_BUCKET/$PREFIX/through proxy.bin" - | sha256 -)" "$sent" "the AWS CLI's copy"
# small puts and put-if-absent (a lost reply must not turn into "exists")
for i in $(seq 8); do
  echo "manifest $i" | "$TOOL" "${OPTS[@]}" --endpoint "$PROXY" put-if-absent "$URL" "m/$i" 2>"$T/pia.err" ||
    { cat "$T/pia.err" >&2; fail "put-if-absent $i through the proxy"; }
done
listing=$("$TOOL" "${OPTS[@]}" --endpoint "$PROXY" ls "$URL" m/ 2>/dev/null)
check_eq "$(wc -l <<<"$listing")" 8 "manifests listed through the proxy"
# every kind of fault was injected, and retried
for kind in 500 503 reset stall; do
  grep -q " $kind " "$T/faults.faults" || fail "no $kind was injected (faults: $(cat "$T/faults.faults"))"
done
grep -q "retrying" "$T/up.err" || fail "the upload logged no retry"
stop_proxy

# every request refused: a clear error after the attempts (the time bound
# is tested in tests/objstore/test_file.c and test_s3.c). The stall bound is
# long enough that a proxy slowed by a loaded machine still resets before
# it: a stall is a timeout, another exit status.
for kind in 503 reset; do
  start_proxy "always$kind" --always "$kind"
  start=$(date +%s%N)
  rc=0
  "$TOOL" --attempts 4 --retry-total-ms 20000 --stall-ms 4000 --endpoint "$PROXY" \
    hash "$URL" "through proxy.bin" >/dev/null 2>"$T/always.err" || rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  err=$(grep '^error:' "$T/always.err")
  if [[ $kind == 503 ]]; then
    check_eq "$rc" 12 "exit status when every reply is 503 (RS_E_BUSY)"
    check_has "$err" "HTTP 503 SlowDown" "the message names the status and code"
  else
    check_eq "$rc" 9 "exit status when every connection resets (RS_E_NETWORK)"
  fi
  check_has "$err" "gave up after 4 attempts" "the message counts the attempts"
  check_has "$err" "$PROXY" "the message names the endpoint"
  check_has "$err" "bucket '$RS_S3_BUCKET'" "the message names the bucket"
  ((ms < 20000 + 5000)) || fail "gave up after $ms ms, past the 20 s bound"
  stop_proxy
done

# the storage class and server-side encryption headers go with every new
# object: a one-request put and a multipart upload's start (whether the
# server then keeps objects encrypted is its configuration's business)
start_proxy headers --log-headers x-amz-storage-class,x-amz-server-side-encryption
"$TOOL" --endpoint "$PROXY" --part-size $((5 * MIB)) --storage-class STANDARD --sse AES256 \
  gen "$URL" sse-small 1000 1 >/dev/null 2>&1 || true
"$TOOL" --endpoint "$PROXY" --part-size $((5 * MIB)) --storage-class STANDARD --sse AES256 \
  gen "$URL" sse-big $((6 * MIB)) 1 >/dev/null 2>&1 || true
for h in "PUT /$RS_S3_BUCKET/$PREFIX/sse-small x-amz-storage-class: STANDARD" \
  "PUT /$RS_S3_BUCKET/$PREFIX/sse-small x-amz-server-side-encryption: AES256" \
  "POST /$RS_S3_BUCKET/$PREFIX/sse-big?uploads= x-amz-server-side-encryption: AES256"; do
  grep -qF "header $h" "$T/headers.faults" || fail "not sent: $h (seen: $(cat "$T/headers.faults"))"
done
stop_proxy

"$TOOL" --endpoint "$RS_S3_ENDPOINT" rm "$URL" "through proxy.bin" m/1 m/2 m/3 m/4 m/5 m/6 m/7 m/8 2>/dev/null
echo "ok: uploads and downloads survive 500s, SlowDowns, resets and stalls; a dead endpoint fails in bounded time"
