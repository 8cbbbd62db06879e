// Window kinds and aggregations over a window's records.
//
//   keyed.window(tumbling(5min))                 // [0,5min), [5min,10min), ...
//   keyed.window(hopping(10min, 5min))           // 10 min long, a new one every 5 min
//   keyed.window(session(30s))                   // a gap of 30 s or more closes a session
//
// Windows are aligned to the epoch: a tumbling window of size s starts at multiples of s, a
// hopping window of advance a at multiples of a. Session windows: each record opens
// [t, t + gap); windows of one key that overlap merge into one, so two records fall into one
// session exactly when a chain of records less than `gap` apart connects them.
//
// An aggregator says how a window's value is built: an accumulator starts at init(), each
// record is add()ed, merge() combines two accumulators (needed by session windows, whose
// windows merge) and result() turns the accumulator into the emitted value. The accumulator is
// stored in the state store between records, through acc_serde.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "spate/stream/serde.h"
#include "spate/stream/types.h"

namespace spate::stream {

struct tumbling {
  explicit tumbling(duration size) : size(size) {}
  duration size;
};

struct hopping {
  hopping(duration size, duration advance) : size(size), advance(advance) {}
  duration size;
  duration advance;
};

struct session {
  explicit session(duration gap) : gap(gap) {}
  duration gap;
};

namespace detail {

struct window_spec {
  enum class kind { tumbling, hopping, session };
  kind what = kind::tumbling;
  int64_t size = 0;     // tumbling, hopping
  int64_t advance = 0;  // hopping (tumbling: = size)
  int64_t gap = 0;      // session

  static window_spec of(const tumbling& t) {
    return {kind::tumbling, t.size.count(), t.size.count(), 0};
  }
  static window_spec of(const hopping& h) {
    return {kind::hopping, h.size.count(), h.advance.count(), 0};
  }
  static window_spec of(const session& s) { return {kind::session, 0, 0, s.gap.count()}; }
  std::string describe() const;
  // Empty when valid, else what is wrong.
  std::string validate() const;
};

constexpr int64_t floor_mod(int64_t a, int64_t b) {
  int64_t m = a % b;
  return m < 0 ? m + b : m;
}

// Calls f(window) for each tumbling/hopping window that contains t, latest start first.
template <class F>
void for_each_window(const window_spec& spec, timestamp_ms t, F&& f) {
  int64_t last_start = t.value - floor_mod(t.value, spec.advance);
  for (int64_t start = last_start; start > t.value - spec.size; start -= spec.advance) {
    f(window{timestamp_ms(start), add_saturating(timestamp_ms(start), spec.size)});
  }
}

}  // namespace detail

template <class In, class Acc, class R>
struct aggregator {
  std::function<Acc()> init;
  std::function<void(Acc&, const In&)> add;
  std::function<void(Acc&, const Acc&)> merge;  // may be empty: then no session windows
  std::function<R(const Acc&)> result;
  serde<Acc> acc_serde;
};

// The value type a field or function yields for one record.
template <class F, class In>
using projected_t = std::remove_cvref_t<std::invoke_result_t<F, const In&>>;

namespace aggregators {

template <class In>
aggregator<In, int64_t, int64_t> count() {
  return {[] { return int64_t(0); }, [](int64_t& a, const In&) { ++a; },
          [](int64_t& a, const int64_t& b) { a += b; }, [](const int64_t& a) { return a; },
          number_serde<int64_t>()};
}

template <class In, class F, class V = projected_t<F, In>>
aggregator<In, V, V> sum(F f) {
  static_assert(std::is_arithmetic_v<V>, "sum() needs a numeric field or function");
  return {[] { return V{}; }, [f](V& a, const In& x) { a += std::invoke(f, x); },
          [](V& a, const V& b) { a += b; }, [](const V& a) { return a; }, number_serde<V>()};
}

// min/max: the accumulator is empty until the first record (a window always has one when its
// result is emitted).
template <class In, class F, class Better, class V = projected_t<F, In>>
aggregator<In, std::optional<V>, V> extreme(F f, Better better) {
  return {[] { return std::optional<V>(); },
          [f, better](std::optional<V>& a, const In& x) {
            V v = std::invoke(f, x);
            if (!a || better(v, *a)) a = std::move(v);
          },
          [better](std::optional<V>& a, const std::optional<V>& b) {
            if (b && (!a || better(*b, *a))) a = b;
          },
          [](const std::optional<V>& a) { return a.value_or(V{}); },
          optional_serde<V>(default_serde<V>())};
}

template <class In, class F>
auto min(F f) {
  return extreme<In>(std::move(f), [](const auto& a, const auto& b) { return a < b; });
}
template <class In, class F>
auto max(F f) {
  return extreme<In>(std::move(f), [](const auto& a, const auto& b) { return b < a; });
}

// avg: sum as double and count; the result is their quotient.
template <class In, class F>
aggregator<In, std::pair<double, int64_t>, double> avg(F f) {
  using acc = std::pair<double, int64_t>;
  return {[] {
            return acc{0.0, 0};
          },
          [f](acc& a, const In& x) {
            a.first += static_cast<double>(std::invoke(f, x));
            ++a.second;
          },
          [](acc& a, const acc& b) {
            a.first += b.first;
            a.second += b.second;
          },
          [](const acc& a) { return a.second == 0 ? 0.0 : a.first / double(a.second); },
          json_serde<acc>()};
}

// reduce: combines records of the same type; also serves as merge.
template <class In, class F>
aggregator<In, std::optional<In>, In> reduce(F f, serde<In> value_serde) {
  return {[] { return std::optional<In>(); },
          [f](std::optional<In>& a, const In& x) {
            if (!a) {
              a = x;
            } else {
              a = f(*a, x);
            }
          },
          [f](std::optional<In>& a, const std::optional<In>& b) {
            if (!b) return;
            if (!a) {
              a = b;
            } else {
              a = f(*a, *b);
            }
          },
          [](const std::optional<In>& a) { return a.value_or(In{}); },
          optional_serde<In>(std::move(value_serde))};
}

}  // namespace aggregators
}  // namespace spate::stream
