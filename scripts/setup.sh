#!/usr/bin/env bash
# Installs every build and test dependency of Spate from Debian 12's packages.
# Idempotent: when everything is already installed it only checks and returns.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  clang clang-format clang-tidy libclang-rt-14-dev
  # libraries (architecture.md, "Dependencies")
  libasio-dev librdkafka-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev librocksdb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests and benchmarks
  python3 python3-pytest kcat python3-confluent-kafka python3-kafka fio iperf3
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
