// Clocks. Wall-clock milliseconds for record timestamps and retention (Kafka semantics), a
// monotonic clock for durations and timeouts. Storage takes "now" as a parameter where a test
// needs to control it (retention, segment age), so no global clock is mocked.
#pragma once

#include <chrono>

#include "base/strong_id.h"

namespace spate {

using mono_clock = std::chrono::steady_clock;

inline timestamp_ms wall_now() {
  using namespace std::chrono;
  return timestamp_ms(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace spate
