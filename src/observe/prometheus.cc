#include "observe/prometheus.h"

#include <fmt/format.h>

#include <cmath>
#include <iterator>

namespace spate::observe {

namespace {

// HELP text escapes backslash and newline; label values also escape the double quote.
void append_escaped(std::string& out, std::string_view s, bool label_value) {
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && label_value) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `name{a="x",b="y",le="4"} value`, without braces when there are no labels.
template <class V>
void append_sample(std::string& out, std::string_view name, std::string_view suffix,
                   const label_set& labels, V value, std::string_view le = {}) {
  out += name;
  out += suffix;
  if (!labels.empty() || !le.empty()) {
    char sep = '{';
    for (const auto& [k, v] : labels) {
      out += sep;
      out += k;
      out += "=\"";
      append_escaped(out, v, true);
      out += '"';
      sep = ',';
    }
    if (!le.empty()) fmt::format_to(std::back_inserter(out), "{}le=\"{}\"", sep, le);
    out += '}';
  }
  if constexpr (std::is_floating_point_v<V>) {
    // Go's float syntax, which Prometheus parses: NaN, +Inf, -Inf, else shortest round-trip.
    if (std::isnan(value)) {
      out += " NaN\n";
    } else if (std::isinf(value)) {
      out += value > 0 ? " +Inf\n" : " -Inf\n";
    } else {
      fmt::format_to(std::back_inserter(out), " {}\n", value);
    }
  } else {
    fmt::format_to(std::back_inserter(out), " {}\n", value);
  }
}

void append_histogram(std::string& out, const std::string& name, const label_set& labels,
                      const histogram& h) {
  const histogram::snapshot snap = h.take_snapshot();
  // Every power of two is a fine-bucket edge, so each cumulative count below is exact.
  uint64_t cumulative = 0;
  size_t i = 0;
  for (unsigned k = 0; k <= h.exposed_max_log2(); ++k) {
    const uint64_t bound = uint64_t{1} << k;
    for (; i < histogram::bucket_count && histogram::bucket_upper_bound(i) <= bound; ++i) {
      cumulative += snap.buckets[i];
    }
    append_sample(out, name, "_bucket", labels, cumulative, fmt::format("{}", bound));
  }
  append_sample(out, name, "_bucket", labels, snap.count, "+Inf");
  append_sample(out, name, "_sum", labels, snap.sum);
  append_sample(out, name, "_count", labels, snap.count);
}

constexpr std::string_view type_names[] = {"counter", "gauge", "histogram"};  // by metric_type

}  // namespace

std::string render_prometheus(const registry& reg) {
  std::string out;
  reg.for_each([&](const metric_family& family) {
    if (!family.help.empty()) {
      fmt::format_to(std::back_inserter(out), "# HELP {} ", family.name);
      append_escaped(out, family.help, false);
      out += '\n';
    }
    fmt::format_to(std::back_inserter(out), "# TYPE {} {}\n", family.name,
                   type_names[static_cast<int>(family.type)]);
    for (const auto& [labels, metric] : family.series) {
      if (const auto* c = std::get_if<std::unique_ptr<counter>>(&metric)) {
        append_sample(out, family.name, "", labels, (*c)->value());
      } else if (const auto* g = std::get_if<std::unique_ptr<gauge>>(&metric)) {
        append_sample(out, family.name, "", labels, (*g)->value());
      } else {
        append_histogram(out, family.name, labels, *std::get<std::unique_ptr<histogram>>(metric));
      }
    }
  });
  return out;
}

void append_prometheus(std::string& out, const gauge_family& family) {
  if (family.series.empty()) return;
  if (!family.help.empty()) {
    fmt::format_to(std::back_inserter(out), "# HELP {} ", family.name);
    append_escaped(out, family.help, false);
    out += '\n';
  }
  fmt::format_to(std::back_inserter(out), "# TYPE {} gauge\n", family.name);
  for (const auto& [labels, value] : family.series) {
    append_sample(out, family.name, "", labels, value);
  }
}

}  // namespace spate::observe
