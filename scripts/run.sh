#!/usr/bin/env bash
# Quick start 1: set up, build, and run Spate on its embedded default (data in ./data,
# listening on 127.0.0.1). Extra arguments go to `spate broker`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bash "$root/scripts/setup.sh"
cmake --preset release -S "$root" >/dev/null
cmake --build "$root/build/release" --target spate -j "$(nproc)"
exec "$root/build/release/src/cli/spate" broker --data-dir ./data "$@"
