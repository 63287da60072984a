# Shared by the integration scripts (sourced): assertions that name what
# failed, and expect, which runs a command that must fail in a given way.
fail() { echo "FAIL: $*" >&2; exit 1; }
check_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
check_has() { [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got '$1'"; }

# expect CODE PATTERN -- command...: the exit status and a line of stderr
# (the command's output is left in out.txt and err.txt)
expect() {
  local code=$1 pattern=$2; shift 3
  local got=0
  "$@" >out.txt 2>err.txt || got=$?
  [[ $got == "$code" ]] || { cat err.txt >&2; fail "'$*' exited $got, expected $code"; }
  grep -qF -- "$pattern" err.txt || { cat err.txt >&2; fail "'$*': no '$pattern' in its error"; }
}
