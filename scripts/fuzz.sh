#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, ASan and UBSan in their own build directory
# and runs each one for a bounded time on its seed corpus (fuzz/corpus/<target>/).
#
#   scripts/fuzz.sh                      # every target, FUZZ_SECONDS (default 60) each
#   FUZZ_SECONDS=600 scripts/fuzz.sh fuzz_batch_validator
#
# Environment: FUZZ_SECONDS (time per target), FUZZ_BUILD_DIR (default build/fuzz),
# FUZZ_JOBS (parallel fuzzing processes per target, default 1).
# New inputs found while fuzzing go to $FUZZ_BUILD_DIR/corpus/<target>/ (the checked-in seeds
# are only read). A crash leaves its input as $FUZZ_BUILD_DIR/artifacts/<target>/crash-*; to
# keep it as a regression seed, copy it into fuzz/corpus/<target>/ once the bug is fixed.
# Needs clang and libclang-rt-14-dev (scripts/setup.sh installs both).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD_DIR:-$root/build/fuzz}"
jobs="${FUZZ_JOBS:-1}"
all_targets=(fuzz_request_decoder fuzz_batch_validator fuzz_producer_state fuzz_connection)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all_targets[@]}"); fi

for tool in clang clang++; do
  command -v "$tool" >/dev/null || { echo "fuzz: $tool not found (scripts/setup.sh)" >&2; exit 1; }
done
if ! echo 'int main(){}' | clang++ -x c++ -fsanitize=fuzzer-no-link,address - -o /dev/null \
    2>/dev/null; then
  echo "fuzz: clang cannot link sanitizer runtimes: install libclang-rt-14-dev" >&2
  exit 1
fi

# Asio's config looks for <experimental/coroutine> under clang (libc++'s), which libstdc++ does
# not have; clang 14 compiles C++20 coroutines with libstdc++'s <coroutine>, so say so. The
# broker's coroutines are in fuzz_connection's build.
asio_co_await="-DASIO_HAS_CO_AWAIT=1"
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSPATE_BUILD_FUZZ=ON -DSPATE_BUILD_TESTS=OFF -DSPATE_BUILD_BENCH=OFF \
  -DSPATE_SANITIZE=address,undefined \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link -fno-sanitize-recover=all $asio_co_await" >/dev/null
ninja -C "$build" "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "fuzz: $t for ${seconds}s"
  # The first corpus directory receives new inputs; the seeds are read only.
  parallel=()
  # -jobs=N runs N fuzzing processes with their output in fuzz-<i>.log; 1 keeps it in-process.
  if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi
  if ! "$build/fuzz/$t" -max_total_time="$seconds" "${parallel[@]}" \
      -print_final_stats=1 -artifact_prefix="$artifacts/" \
      "$corpus" "$root/fuzz/corpus/$t"; then
    echo "fuzz: $t FAILED; reproduce with: $build/fuzz/$t $artifacts/<crash file>" >&2
    status=1
  fi
done
exit "$status"
