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
#include <utility>
#include <vector>

#include "observe/metrics.h"

namespace spate::observe {

inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

// Every metric of `reg`: `# HELP` (when the help text is not empty) and `# TYPE` per family,
// then one line per series; a histogram as cumulative `_bucket{le=...}` lines for
// 1, 2, 4, ... 2^exposed_max_log2 and +Inf, then `_sum` and `_count`.
std::string render_prometheus(const registry& reg);

// A gauge family computed at scrape time rather than kept in a registry: values that already
// live elsewhere (a partition's log end offset, its size on disk) and whose series come and go
// with topics, which a registry series would outlive. `name` must not also be a registry name.
struct gauge_family {
  std::string name;
  std::string help;
  std::vector<std::pair<label_set, double>> series;
};

// Appends `family` to `out` in the same format as render_prometheus (nothing when it has no
// series, so a broker without topics exposes no empty family).
void append_prometheus(std::string& out, const gauge_family& family);

}  // namespace spate::observe
