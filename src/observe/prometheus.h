// Prometheus text exposition, format 0.0.4: what the broker's admin HTTP endpoint serves at
// /metrics (https://prometheus.io/docs/instrumenting/exposition_formats/).
//
//   response.set_header("Content-Type", observe::prometheus_content_type);
//   response.set_body(observe::render_prometheus(observe::registry::global()));
//
// Families come out in name order and series in label order, so the output is deterministic
// and tests compare it as text. Rendering holds the registry's registration mutex but never
// blocks recording; call it from any thread.
#pragma once

#include <string>
#include <string_view>

#include "observe/metrics.h"

namespace spate::observe {

inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// Every metric of `reg`: `# HELP` (when the help text is not empty) and `# TYPE` per family,
// then one line per series; a histogram as cumulative `_bucket{le=...}` lines for
// 1, 2, 4, ... 2^exposed_max_log2 and +Inf, then `_sum` and `_count`.
std::string render_prometheus(const registry& reg);

}  // namespace spate::observe
