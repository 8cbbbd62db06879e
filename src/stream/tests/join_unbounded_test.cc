// join_window::unbounded(): a regular (unwindowed) join. Every pair of records with equal keys
// joins, whatever their times and arrival order, even across watermarks far apart; nothing is
// late and nothing expires until the end of input.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "spate/stream/stream.h"

namespace spate::stream {
namespace {

TEST(join_unbounded, every_pair_with_equal_keys_joins_whenever_it_arrives) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    auto uniform = [&](int64_t lo, int64_t hi) {
      return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
    };
    topology_builder b;
    auto left = b.source<int64_t>("l").key_by([](int64_t v) { return v % 7; });
    auto right = b.source<int64_t>("r").key_by([](int64_t v) { return v % 7; });
    left.join(right, join_window::unbounded(),
              [](int64_t l, int64_t r) { return std::to_string(l) + ":" + std::to_string(r); })
        .to("pairs", string_serde());
    auto t = b.build();
    ASSERT_TRUE(t) << t.error().message();
    auto d = test_driver::create(std::move(*t));
    ASSERT_TRUE(d);
    // Times spread over years and out of order, so any finite window would miss pairs.
    std::vector<std::pair<bool, int64_t>> in;
    for (int64_t i = 0; i < 300; ++i) in.emplace_back(uniform(0, 1) == 1, i);
    std::vector<std::string> want;
    for (auto& [l_side, l] : in) {
      for (auto& [r_side, r] : in) {
        if (l_side && !r_side && l % 7 == r % 7) {
          want.push_back(std::to_string(l) + ":" + std::to_string(r));
        }
      }
    }
    for (auto& [is_left, v] : in) {
      int64_t ts = uniform(0, int64_t(1) << 40);
      ASSERT_TRUE(d->pipe(is_left ? "l" : "r", v, number_serde<int64_t>(), timestamp_ms(ts)));
    }
    // Still buffered: a record arriving later would find them.
    EXPECT_FALSE(d->state("join-4/left").empty());
    ASSERT_TRUE(d->end_of_input());
    std::vector<std::string> got;
    for (auto& r : d->read_raw("pairs")) got.push_back(*r.value);
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want);
    EXPECT_EQ(d->get_engine().stats().late_records, 0u);
  }
}

}  // namespace
}  // namespace spate::stream
