#include "observe/metrics.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "base/assert.h"

namespace spate::observe {

namespace {

constexpr uint64_t sub_buckets = uint64_t{1} << histogram::sub_bucket_bits;

// Prometheus' data model: [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, the same without ':' for
// label names, where a leading "__" is reserved for Prometheus itself.
bool valid_name(std::string_view n, bool is_label) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9') || (is_label && n.starts_with("__"))) return false;
  return std::all_of(n.begin(), n.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (c == ':' && !is_label);
  });
}

}  // namespace

histogram::histogram(unsigned exposed_max_log2) : _exposed_max_log2(exposed_max_log2) {
  SPATE_ASSERT(exposed_max_log2 < 64);
}

// Bucket 0 holds the value 0. Other values are indexed by u = v - 1, so that a bucket covering
// u in [lo, hi) covers v in (lo, hi]: inclusive upper bounds, as Prometheus' `le` wants.
size_t histogram::bucket_index(uint64_t v) {
  if (v == 0) return 0;
  const uint64_t u = v - 1;
  if (u < sub_buckets) return 1 + u;
  const int e = std::bit_width(u) - 1;  // u in [2^e, 2^(e+1)), e >= sub_bucket_bits
  const uint64_t sub = (u >> (e - sub_bucket_bits)) & (sub_buckets - 1);
  return 1 + (e - sub_bucket_bits + 1) * sub_buckets + sub;
}

uint64_t histogram::bucket_upper_bound(size_t i) {
  if (i == 0) return 0;
  if (i == bucket_count - 1) return std::numeric_limits<uint64_t>::max();  // 2^64 would overflow
  const uint64_t j = i - 1;
  if (j < sub_buckets) return j + 1;
  const int e = static_cast<int>(j / sub_buckets) + sub_bucket_bits - 1;
  return (sub_buckets + j % sub_buckets + 1) << (e - sub_bucket_bits);
}

histogram::snapshot histogram::take_snapshot() const {
  snapshot s;
  for (size_t i = 0; i < bucket_count; ++i) {
    s.buckets[i] = _buckets[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum = _sum.load(std::memory_order_relaxed);
  s.max = _max.load(std::memory_order_relaxed);
  return s;
}

uint64_t histogram::snapshot::quantile(double q) const {
  if (count == 0) return 0;
  const double rank_f = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(rank_f), 1, count);
  uint64_t seen = 0;
  for (size_t i = 0; i < bucket_count; ++i) {
    seen += buckets[i];
    if (seen >= rank) return std::min(bucket_upper_bound(i), max);
  }
  return max;
}

registry& registry::global() {
  // Never destroyed: static destructors elsewhere may still record into it at exit.
  static registry* instance = new registry;
  return *instance;
}

metric_family& registry::family_for(std::string_view name, std::string_view help,
                                    metric_type type) {
  auto it = _families.find(name);
  if (it == _families.end()) {
    SPATE_ASSERT_MSG(valid_name(name, false), "invalid metric name");
    it = _families
             .emplace(std::string(name),
                      metric_family{std::string(name), std::string(help), type, {}})
             .first;
  }
  SPATE_ASSERT_MSG(it->second.type == type, "metric name registered with another type");
  return it->second;
}

template <class T, class... Args>
T& registry::series_for(metric_family& family, label_set labels, Args... args) {
  std::sort(labels.begin(), labels.end());
  for (size_t i = 0; i < labels.size(); ++i) {
    SPATE_ASSERT_MSG(valid_name(labels[i].first, true), "invalid label name");
    SPATE_ASSERT_MSG(i == 0 || labels[i - 1].first != labels[i].first, "duplicate label name");
    // `le` is the bucket label of the histogram exposition.
    SPATE_ASSERT_MSG((!std::is_same_v<T, observe::histogram> || labels[i].first != "le"),
                     "histogram label named le");
  }
  auto [it, created] = family.series.try_emplace(std::move(labels));
  if (created) it->second = std::make_unique<T>(args...);
  return *std::get<std::unique_ptr<T>>(it->second);
}

observe::counter& registry::counter(std::string_view name, std::string_view help,
                                    label_set labels) {
  std::lock_guard lock(_mutex);
  return series_for<observe::counter>(family_for(name, help, metric_type::counter),
                                      std::move(labels));
}

observe::gauge& registry::gauge(std::string_view name, std::string_view help, label_set labels) {
  std::lock_guard lock(_mutex);
  return series_for<observe::gauge>(family_for(name, help, metric_type::gauge), std::move(labels));
}

observe::histogram& registry::histogram(std::string_view name, std::string_view help,
                                        label_set labels, unsigned exposed_max_log2) {
  std::lock_guard lock(_mutex);
  metric_family& family = family_for(name, help, metric_type::histogram);
  if (!family.series.empty()) {
    const auto& first =
        std::get<std::unique_ptr<observe::histogram>>(family.series.begin()->second);
    SPATE_ASSERT_MSG(first->exposed_max_log2() == exposed_max_log2,
                     "histogram series of one name with different buckets");
  }
  return series_for<observe::histogram>(family, std::move(labels), exposed_max_log2);
}

void registry::for_each(const std::function<void(const metric_family&)>& fn) const {
  std::lock_guard lock(_mutex);
  for (const auto& [name, family] : _families) fn(family);
}

}  // namespace spate::observe
