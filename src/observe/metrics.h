// Metrics: counters, gauges and histograms kept in a `registry`, read by the Prometheus
// exposition (prometheus.h) and the console.
//
// A module looks its metrics up once, when it builds the object that records them, and keeps
// the references; recording is then a relaxed atomic operation with no lock and no lookup, so
// it is safe on the produce/fetch path of every core.
//
//   auto& produced = observe::registry::global().counter(
//       "spate_produced_bytes_total", "Bytes appended by produce requests.",
//       {{"topic", topic}, {"partition", std::to_string(p)}});
//   auto& latency = observe::registry::global().histogram(
//       "spate_produce_latency_us", "Produce request latency in microseconds.");
//   produced.inc(batch.size());
//   latency.record(elapsed_us);
//
// A series (name + label set) lives as long as its registry: references stay valid and the
// series keeps being exposed even when nothing records into it any more.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace spate::observe {

// Label name/value pairs. The registry sorts them by name, so {a,b} and {b,a} are one series.
using label_set = std::vector<std::pair<std::string, std::string>>;

enum class metric_type { counter, gauge, histogram };

// A monotonically increasing count (requests, bytes, errors). Any thread; lock-free.
// Aligned to a cache line so two hot counters never share one.
class alignas(64) counter {
 public:
  void inc(uint64_t n = 1) { _value.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return _value.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> _value{0};
};

// A value that goes up and down (queue depth, lag, open connections). Stored as a double, as
// Prometheus does: integers up to 2^53 are exact. set() is a plain store; add() is a
// compare-exchange loop, so prefer set() from the one thread that owns the value. Any thread.
class alignas(64) gauge {
 public:
  void set(double v) { _value.store(v, std::memory_order_relaxed); }
  void add(double d) { _value.fetch_add(d, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  double value() const { return _value.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> _value{0};
};

// A distribution of non-negative integers: latencies in microseconds, sizes in bytes.
//
// Buckets are log-linear (HdrHistogram's layout): 0..16 exactly, then every power-of-two range
// (2^e, 2^(e+1)] split into 8 equal buckets, up to 2^64. A bucket is at most 1/8 of its
// lower bound wide, so a quantile is reported at most 12.5% above the true value; the full
// uint64 range needs no configuration. Upper bounds are inclusive, so every power of two is a
// bucket edge and the coarse Prometheus buckets (le = 1, 2, 4, ... 2^exposed_max_log2) are exact
// sums of fine ones.
//
// About 4 KiB each. record() is two relaxed atomic adds and a load (plus, when the maximum grows,
// a compare-exchange); any thread, no lock. A snapshot taken while others record may see sum and
// count from slightly different moments; count is always the sum of the bucket counts it reports.
class histogram {
 public:
  static constexpr int sub_bucket_bits = 3;
  static constexpr size_t bucket_count = 1 + (64 - sub_bucket_bits + 1) * (1u << sub_bucket_bits);

  // `exposed_max_log2`: the largest finite `le` bound in the Prometheus output is
  // 2^exposed_max_log2 (one line per power of two, then +Inf). The default, 2^32, covers
  // latencies up to 71 minutes in microseconds and sizes up to 4 GiB.
  explicit histogram(unsigned exposed_max_log2 = 32);

  void record(uint64_t v) {
    _buckets[bucket_index(v)].fetch_add(1, std::memory_order_relaxed);
    _sum.fetch_add(v, std::memory_order_relaxed);
    uint64_t m = _max.load(std::memory_order_relaxed);
    while (v > m && !_max.compare_exchange_weak(m, v, std::memory_order_relaxed)) {
    }
  }

  struct snapshot {
    std::array<uint64_t, bucket_count> buckets{};
    uint64_t count = 0;
    uint64_t sum = 0;
    uint64_t max = 0;

    // The smallest bucket upper bound at or below which at least a fraction q (0..1) of the values
    // lie, capped at the maximum seen; 0 when empty. quantile(1) is the exact maximum.
    uint64_t quantile(double q) const;
  };
  snapshot take_snapshot() const;

  unsigned exposed_max_log2() const { return _exposed_max_log2; }

  static size_t bucket_index(uint64_t v);
  // The largest value that falls into bucket `i` (inclusive).
  static uint64_t bucket_upper_bound(size_t i);

 private:
  std::array<std::atomic<uint64_t>, bucket_count> _buckets{};
  std::atomic<uint64_t> _sum{0};
  std::atomic<uint64_t> _max{0};
  unsigned _exposed_max_log2;
};

using metric_ptr =
    std::variant<std::unique_ptr<counter>, std::unique_ptr<gauge>, std::unique_ptr<histogram>>;

// All series of one metric name: one HELP/TYPE block in the exposition.
struct metric_family {
  std::string name;
  std::string help;
  metric_type type;
  std::map<label_set, metric_ptr> series;  // keyed by the sorted label set
};

// Owns metrics. Lookup-or-create takes a mutex (it runs when objects are built, not per
// event); the returned references are stable for the registry's lifetime. Thread-safe.
//
// Names and label names are fixed by code, so an invalid one, or reusing a name with another
// type, is a bug and fails an assertion. Label values may come from users and may hold anything.
class registry {
 public:
  registry() = default;
  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;

  // The process-wide registry the broker exposes. Tests build their own instances.
  static registry& global();

  // The series `name`{labels}, created at zero on first use. `help` is kept from the first
  // call for a name.
  observe::counter& counter(std::string_view name, std::string_view help, label_set labels = {});
  observe::gauge& gauge(std::string_view name, std::string_view help, label_set labels = {});
  // `exposed_max_log2` applies when the series is created; every series of a name must use the
  // same value so that their buckets aggregate (asserted).
  observe::histogram& histogram(std::string_view name, std::string_view help, label_set labels = {},
                                unsigned exposed_max_log2 = 32);

  // Calls `fn` for every family in name order, holding the registry's mutex: registration
  // waits meanwhile, recording does not.
  void for_each(const std::function<void(const metric_family&)>& fn) const;

 private:
  // Both expect _mutex held.
  metric_family& family_for(std::string_view name, std::string_view help, metric_type type);
  template <class T, class... Args>
  T& series_for(metric_family& family, label_set labels, Args... args);

  mutable std::mutex _mutex;
  std::map<std::string, metric_family, std::less<>> _families;
};

}  // namespace spate::observe
