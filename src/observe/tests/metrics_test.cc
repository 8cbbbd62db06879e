#include "observe/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace spate::observe {
namespace {

template <class Fn>
void run_threads(int n, Fn fn) {
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) threads.emplace_back(fn, t);
  for (auto& t : threads) t.join();
}

TEST(counter, increments_from_many_threads_sum_exactly) {
  registry reg;
  auto& c = reg.counter("spate_test_total", "Test.");
  run_threads(8, [&](int t) {
    for (int i = 0; i < 100'000; ++i) c.inc();
    c.inc(static_cast<uint64_t>(t));
  });
  EXPECT_EQ(c.value(), 8u * 100'000 + (0 + 1 + 2 + 3 + 4 + 5 + 6 + 7));
}

TEST(registry, one_series_per_name_and_label_set_in_any_order) {
  registry reg;
  auto& a = reg.counter("spate_x_total", "X.", {{"topic", "t"}, {"partition", "0"}});
  auto& b = reg.counter("spate_x_total", "X.", {{"partition", "0"}, {"topic", "t"}});
  auto& c = reg.counter("spate_x_total", "X.", {{"partition", "1"}, {"topic", "t"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &c);
  registry other;
  EXPECT_NE(&other.counter("spate_x_total", "X."), &reg.counter("spate_x_total", "X."));
  size_t families = 0, series = 0;
  reg.for_each([&](const metric_family& f) {
    ++families;
    series += f.series.size();
    EXPECT_EQ(f.type, metric_type::counter);
  });
  EXPECT_EQ(families, 1u);
  EXPECT_EQ(series, 3u);
}

TEST(registry_death_test, names_are_checked_because_they_are_code) {
  registry reg;
  reg.counter("spate_x_total", "X.");
  EXPECT_DEATH(reg.gauge("spate_x_total", "X."), "another type");
  EXPECT_DEATH(reg.counter("9lives", "X."), "invalid metric name");
  EXPECT_DEATH(reg.counter("spate_y_total", "Y.", {{"a", "1"}, {"a", "2"}}), "duplicate label");
  EXPECT_DEATH(reg.histogram("spate_h", "H.", {{"le", "1"}}), "label named le");
}

TEST(registry, registration_races_return_one_series) {
  registry reg;
  std::vector<counter*> seen(8);
  run_threads(8, [&](int t) {
    seen[t] = &reg.counter("spate_race_total", "Race.", {{"k", "v"}});
    seen[t]->inc();
  });
  for (auto* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ(seen[0]->value(), 8u);
}

TEST(gauge, set_add_and_concurrent_adds) {
  registry reg;
  auto& g = reg.gauge("spate_g", "G.");
  g.set(-2.5);
  g.add(0.5);
  EXPECT_EQ(g.value(), -2.0);
  g.set(0);
  run_threads(4, [&](int) {
    for (int i = 0; i < 10'000; ++i) {
      g.inc();
      g.inc();
      g.dec();
    }
  });
  EXPECT_EQ(g.value(), 40'000.0);
}

TEST(histogram, bucket_edges_are_consistent_and_powers_of_two_are_edges) {
  for (size_t i = 0; i + 1 < histogram::bucket_count; ++i) {
    const uint64_t hi = histogram::bucket_upper_bound(i);
    ASSERT_EQ(histogram::bucket_index(hi), i) << i;
    ASSERT_EQ(histogram::bucket_index(hi + 1), i + 1) << i;
  }
  EXPECT_EQ(histogram::bucket_index(UINT64_MAX), histogram::bucket_count - 1);
  for (int k = 0; k < 64; ++k) {
    const uint64_t p = uint64_t{1} << k;
    EXPECT_EQ(histogram::bucket_upper_bound(histogram::bucket_index(p)), p) << k;
  }
  for (uint64_t v = 0; v <= 16; ++v) {
    EXPECT_EQ(histogram::bucket_upper_bound(histogram::bucket_index(v)), v);  // exact range
  }
}

TEST(histogram, quantiles_within_bucket_precision) {
  histogram h;
  EXPECT_EQ(h.take_snapshot().quantile(0.5), 0u);  // empty
  for (uint64_t v = 1; v <= 10'000; ++v) h.record(v);
  const auto s = h.take_snapshot();
  EXPECT_EQ(s.count, 10'000u);
  EXPECT_EQ(s.sum, 50'005'000u);
  EXPECT_EQ(s.max, 10'000u);
  // The true quantile is never over-reported by more than one bucket (12.5%) and never under.
  for (auto [q, exact] : {std::pair{0.5, 5'000.0}, {0.99, 9'900.0}, {0.999, 9'990.0}}) {
    const auto got = static_cast<double>(s.quantile(q));
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(got, std::min(exact * 1.125, 10'000.0)) << q;
  }
  EXPECT_EQ(s.quantile(1.0), 10'000u);
  EXPECT_EQ(s.quantile(0.0), 1u);
}

TEST(histogram, small_values_are_exact_and_max_caps_the_estimate) {
  histogram h;
  for (uint64_t v : {3, 3, 3, 7}) h.record(v);
  h.record(1'000'003);
  const auto s = h.take_snapshot();
  EXPECT_EQ(s.quantile(0.5), 3u);
  EXPECT_EQ(s.quantile(0.8), 7u);
  EXPECT_EQ(s.quantile(0.99), 1'000'003u);  // bucket bound is higher; the maximum caps it
}

TEST(histogram, concurrent_records_are_all_counted) {
  histogram h;
  run_threads(4, [&](int t) {
    for (uint64_t i = 0; i < 50'000; ++i) h.record(i * (t + 1));
  });
  const auto s = h.take_snapshot();
  EXPECT_EQ(s.count, 200'000u);
  EXPECT_EQ(s.sum, uint64_t{1 + 2 + 3 + 4} * (uint64_t{49'999} * 50'000 / 2));
  EXPECT_EQ(s.max, 49'999u * 4);
}

}  // namespace
}  // namespace spate::observe
