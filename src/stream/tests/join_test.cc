// Stream-stream join against a brute-force reference: every pair of on-time records with the
// same key and times within the join window, computed from the input list alone.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "spate/stream/stream.h"
#include "store_factories.h"

namespace spate::stream {
namespace {

struct item {
  std::string key;
  int64_t id = 0;
  int64_t ts = 0;
};
void to_json(nlohmann::json& j, const item& e) {
  j = nlohmann::json{{"key", e.key}, {"id", e.id}, {"ts", e.ts}};
}
void from_json(const nlohmann::json& j, item& e) {
  j.at("key").get_to(e.key);
  j.at("id").get_to(e.id);
  j.at("ts").get_to(e.ts);
}

struct join_case {
  int64_t before, after, grace, bound, disorder;
  bool rocksdb = false;
};

struct arrival {
  bool left;
  item e;
};

void check_join(const join_case& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<arrival> in;
  int64_t cursor = 1'000;
  for (int i = 0; i < 400; ++i) {
    cursor += uniform(0, 6);
    int64_t ts = cursor - (uniform(0, 3) == 0 ? uniform(0, c.disorder) : 0);
    in.push_back({uniform(0, 1) == 0, item{"k" + std::to_string(uniform(0, 4)), i, ts}});
  }

  // Reference: the watermark each record meets (min of both sources' bounded watermarks),
  // which records are on time, and every matching pair of those.
  constexpr int64_t none = std::numeric_limits<int64_t>::min();
  int64_t max_left = none, max_right = none, node_wm = none;
  auto source_wm = [&](int64_t max_seen) {
    return max_seen == none ? none : max_seen - c.bound - 1;
  };
  std::vector<arrival> on_time;
  std::vector<int64_t> late_left, late_right;
  for (auto& a : in) {
    if (a.e.ts + c.grace > node_wm) {
      on_time.push_back(a);
    } else {
      (a.left ? late_left : late_right).push_back(a.e.id);
    }
    (a.left ? max_left : max_right) = std::max(a.left ? max_left : max_right, a.e.ts);
    node_wm = std::max(node_wm, std::min(source_wm(max_left), source_wm(max_right)));
  }
  std::vector<std::pair<std::string, int64_t>> want;
  for (auto& l : on_time) {
    if (!l.left) continue;
    for (auto& r : on_time) {
      if (r.left || r.e.key != l.e.key) continue;
      if (l.e.ts - c.before <= r.e.ts && r.e.ts <= l.e.ts + c.after) {
        want.emplace_back(std::to_string(l.e.id) + ":" + std::to_string(r.e.id),
                          std::max(l.e.ts, r.e.ts));
      }
    }
  }

  topology_builder b;
  source_options<item> opts{.watermarks = {.max_out_of_orderness = duration(c.bound)}};
  auto left = b.source("left", json_serde<item>(), opts).key_by(&item::key);
  auto right = b.source("right", json_serde<item>(), opts).key_by(&item::key);
  auto joined = left.join(right, {duration(c.before), duration(c.after), duration(c.grace)},
                          [](const item& l, const item& r) {
                            return std::to_string(l.id) + ":" + std::to_string(r.id);
                          });
  joined.to("pairs", string_serde());
  joined.side_output(join_late_left<item>()).to("late-left", json_serde<item>());
  joined.side_output(join_late_right<item>()).to("late-right", json_serde<item>());
  auto t = b.build();
  ASSERT_TRUE(t) << t.error().message();
  test_driver_config cfg;
  if (c.rocksdb) cfg.engine.store = testing::make_test_rocksdb_store();
  auto d = test_driver::create(std::move(*t), std::move(cfg));
  ASSERT_TRUE(d);
  for (auto& a : in) {
    ASSERT_TRUE(d->pipe(a.left ? "left" : "right", a.e, json_serde<item>(), timestamp_ms(a.e.ts)));
  }
  ASSERT_TRUE(d->end_of_input());
  std::vector<std::pair<std::string, int64_t>> got;
  for (auto& r : d->read_raw("pairs")) got.emplace_back(*r.value, r.timestamp.value);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(d->get_engine().stats().late_records, in.size() - on_time.size());
  EXPECT_EQ(d->get_engine().stats().late_records_dropped, 0u);
  auto ids = [&](const std::string& topic) {
    std::vector<int64_t> out;
    auto rs = d->read(topic, json_serde<item>());
    EXPECT_TRUE(rs);
    if (rs) {
      for (auto& r : *rs) out.push_back(r.value.id);
    }
    return out;
  };
  EXPECT_EQ(ids("late-left"), late_left);
  EXPECT_EQ(ids("late-right"), late_right);
  // Everything expired at the end of input: no buffered records are left behind.
  EXPECT_TRUE(d->state("join-4/left").empty());
  EXPECT_TRUE(d->state("join-4/right").empty());
}

TEST(join, interval_join_matches_the_reference) {
  std::vector<join_case> cases = {
      {.before = 10, .after = 10, .grace = 0, .bound = 0, .disorder = 0},
      {.before = 10, .after = 10, .grace = 0, .bound = 20, .disorder = 15},
      {.before = 30, .after = 5, .grace = 10, .bound = 5, .disorder = 60},
      {.before = 0, .after = 25, .grace = 40, .bound = 10, .disorder = 80},
      {.before = -5, .after = 20, .grace = 0, .bound = 0, .disorder = 30},
      {.before = 15, .after = 15, .grace = 10, .bound = 5, .disorder = 50, .rocksdb = true},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      SCOPED_TRACE("case " + std::to_string(i) + " seed " + std::to_string(seed));
      check_join(cases[i], seed);
    }
  }
}

TEST(join, buffers_survive_a_restore) {
  auto build = [] {
    topology_builder b;
    auto l = b.source<int64_t>("l").key_by([](int64_t) { return std::string("k"); });
    auto r = b.source<int64_t>("r").key_by([](int64_t) { return std::string("k"); });
    l.join(r, join_window::within(duration(100)), [](int64_t a, int64_t c) {
       return a * c;
     }).to("out");
    auto t = b.build();
    EXPECT_TRUE(t);
    return std::move(*t);
  };
  auto first = test_driver::create(build());
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->pipe("l", int64_t(3), number_serde<int64_t>(), timestamp_ms(10)));
  ASSERT_TRUE(first->pipe("l", int64_t(5), number_serde<int64_t>(), timestamp_ms(10)));
  auto changes = first->get_engine().checkpoint().state_changes;
  auto second = test_driver::create(build(), changes);
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->pipe("l", int64_t(2), number_serde<int64_t>(), timestamp_ms(10)));
  ASSERT_TRUE(second->pipe("r", int64_t(7), number_serde<int64_t>(), timestamp_ms(50)));
  auto out = second->read("out", number_serde<int64_t>());
  ASSERT_TRUE(out);
  std::vector<int64_t> got;
  for (auto& r : *out) got.push_back(r.value);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int64_t>{14, 21, 35})) << "restored buffers keep distinct entries";
}

TEST(join, an_empty_window_is_rejected_by_build) {
  topology_builder b;
  auto l = b.source<int64_t>("l").key_by([](int64_t v) { return v; });
  auto r = b.source<int64_t>("r").key_by([](int64_t v) { return v; });
  l.join(r, {duration(-10), duration(5)}, [](int64_t a, int64_t) { return a; });
  EXPECT_FALSE(b.build());
}

}  // namespace
}  // namespace spate::stream
