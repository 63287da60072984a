#!/usr/bin/env bash
# Quick start 2: install what is missing, build with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer (and the libFuzzer targets), and run every
# test: unit, integration and a bounded fuzzing run.
# Extra arguments go to ctest (e.g. -L unit, -R store).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh" test

build="$root/build/test"
CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRS_SANITIZE=ON -DRS_FUZZ=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure --timeout 900 -j2 "$@"
