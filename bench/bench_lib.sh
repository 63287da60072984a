# Shared by the shell benchmarks (sourced after they set `rs`): checks the
# tools they need, a temporary directory removed on exit, and the processes
# they start (`pids`), stopped on exit; `wait_port FILE` waits for a
# daemon's port file (--port-file) and prints its port.
#
#   bench_setup NAME TOOL...   NAME names the temporary directory ($tmp)
bench_setup() {
  local name=$1 tool
  shift
  [[ -x "$rs" ]] || { echo "no rockstream at $rs: build it (cmake --build build/rel)" >&2; exit 2; }
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$tool missing: bash scripts/deps.sh test" >&2; exit 2; }
  done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-bench-$name.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}

# A benchmark with more to undo defines bench_before_cleanup.
bench_cleanup() {
  if declare -F bench_before_cleanup >/dev/null; then bench_before_cleanup; fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}

wait_port() {
  for _ in $(seq 600); do [[ -s "$1" ]] && break; sleep 0.1; done
  [[ -s "$1" ]] || { echo "no port in $1 after 60 s" >&2; return 1; }
  cut -d: -f2 "$1"
}
