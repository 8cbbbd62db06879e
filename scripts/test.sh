#!/usr/bin/env bash
# Quick start 2: set up, build, and run the whole test suite:
#   1. layering and format checks;
#   2. release build: the fast suite, then the `slow` suite (crash, soak) with a time bound;
#   3. debug build with AddressSanitizer + UndefinedBehaviorSanitizer: the fast suite;
#   4. every libFuzzer target for a bounded time (clang build; SPATE_FUZZ_SECONDS, default 30).
# SPATE_SKIP_SANITIZERS=1 skips steps 3 and 4; SPATE_SLOW_TIMEOUT bounds each slow test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
jobs="$(nproc)"

bash scripts/setup.sh
python3 scripts/check_layers.py
bash scripts/check_format.sh

cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -L fast
ctest --preset release -L slow --timeout "${SPATE_SLOW_TIMEOUT:-1200}"

if [ "${SPATE_SKIP_SANITIZERS:-0}" != "1" ]; then
  cmake --preset debug >/dev/null
  cmake --build --preset debug -j "$jobs"
  ctest --preset debug -L fast
  FUZZ_SECONDS="${SPATE_FUZZ_SECONDS:-30}" bash scripts/fuzz.sh
fi
echo "spate: all tests passed"
