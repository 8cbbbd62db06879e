// Window steps against a brute-force reference computed directly from the input list.
//
// Each scenario draws random, out-of-order records over several keys and partitions, with
// random wall-clock steps between them, and runs them through a pipeline with sum, count, min,
// max, avg, reduce and aggregate over one window kind. The reference replays the definitions on
// the input list alone: the watermark before each record (per-partition bounded
// out-of-orderness, min over partitions not idle, never backwards), which records are late,
// which window values each record changes and when a window's result is emitted. For tumbling
// and hopping windows every emitted value of every window is checked in order; for session
// windows the final value of every session, and that every emitted session lies inside a final
// one (sessions merge, so earlier results may be for smaller sessions). Late records must
// appear on the late side output, in order, and nowhere else.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "spate/stream/stream.h"
#include "store_factories.h"

namespace spate::stream {
namespace {

struct ev {
  std::string key;
  int64_t amount = 0;
  int64_t id = 0;  // position in the input list
  int64_t ts = 0;  // also in the value, for the extractor variant
  bool operator==(const ev&) const = default;
};
void to_json(nlohmann::json& j, const ev& e) {
  j = nlohmann::json{{"key", e.key}, {"amount", e.amount}, {"id", e.id}, {"ts", e.ts}};
}
void from_json(const nlohmann::json& j, ev& e) {
  j.at("key").get_to(e.key);
  j.at("amount").get_to(e.amount);
  j.at("id").get_to(e.id);
  j.at("ts").get_to(e.ts);
}

struct scenario {
  int partitions = 1;
  int n = 300;
  int64_t bound = 0;     // max out-of-orderness
  int64_t lateness = 0;  // allowed lateness
  int64_t disorder = 0;  // how far back a record's time may be drawn
  int64_t max_wall_step = 20;
  std::optional<int64_t> idle_timeout;
  bool stall_last_partition = false;  // the last partition stops sending after 10% of records
  bool extractor = false;             // event time from the value, record timestamps garbage
  bool rocksdb = false;               // state in RocksDB instead of memory
};

struct input {
  ev e;
  int32_t partition = 0;
  int64_t wall_step = 0;  // wall-clock advance before this record
};

std::vector<input> generate(std::mt19937_64& rng, const scenario& s) {
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<input> out;
  int64_t cursor = 1'000;
  for (int i = 0; i < s.n; ++i) {
    cursor += uniform(0, 12);
    input in;
    in.e.key = "k" + std::to_string(uniform(0, 3));
    in.e.amount = uniform(-50, 100);
    in.e.id = i;
    in.e.ts = std::max<int64_t>(0, cursor - (uniform(0, 3) == 0 ? uniform(0, s.disorder) : 0));
    int parts = s.partitions;
    if (s.stall_last_partition && i > s.n / 10 && parts > 1) --parts;
    in.partition = static_cast<int32_t>(uniform(0, parts - 1));
    in.wall_step = uniform(0, s.max_wall_step);
    out.push_back(in);
  }
  return out;
}

// The watermark definition of watermark.h, replayed over the inputs: before[i] is what record
// i meets, after[i] what follows it.
struct reference_watermarks {
  std::vector<int64_t> before, after;
};

reference_watermarks replay_watermarks(const std::vector<input>& in, const scenario& s) {
  constexpr int64_t none = std::numeric_limits<int64_t>::min();
  std::vector<int64_t> max_seen(s.partitions, none), last_active(s.partitions, 0);
  int64_t combined = none, now = 0;
  auto current = [&] {
    std::optional<int64_t> low;
    for (int p = 0; p < s.partitions; ++p) {
      if (s.idle_timeout && now - last_active[p] >= *s.idle_timeout) continue;
      int64_t w = max_seen[p] == none ? none : max_seen[p] - s.bound - 1;
      low = low ? std::min(*low, w) : w;
    }
    if (low && *low > combined) combined = *low;
    return combined;
  };
  reference_watermarks r;
  for (auto& i : in) {
    now += i.wall_step;
    r.before.push_back(current());
    max_seen[i.partition] = std::max(max_seen[i.partition], i.e.ts);
    last_active[i.partition] = now;
    r.after.push_back(current());
  }
  return r;
}

using window_key = std::tuple<std::string, int64_t, int64_t>;  // key, start, end

struct outputs {
  std::map<window_key, std::vector<int64_t>> sum, count, min, max, agg, reduce;
  std::map<window_key, std::vector<double>> avg;
  std::vector<int64_t> late_ids;
};

template <class R>
void collect(test_driver& d, const std::string& topic, std::map<window_key, std::vector<R>>& into) {
  auto rs = d.read(topic, json_serde<windowed<std::string, R>>());
  ASSERT_TRUE(rs) << rs.error().message();
  for (auto& r : *rs) {
    ASSERT_EQ(r.key, r.value.key);
    ASSERT_EQ(r.timestamp, r.value.window.max_timestamp());
    into[{r.value.key, r.value.window.start.value, r.value.window.end.value}].push_back(
        r.value.value);
  }
}

// Runs the inputs through a pipeline over `spec`, checking the watermark after every record.
template <class W>
outputs run_pipeline(const W& spec, const scenario& s, const std::vector<input>& in,
                     const reference_watermarks& ref) {
  topology_builder b;
  output_tag<ev> late{"late"};
  source_options<ev> opts{
      .watermarks = {.max_out_of_orderness = duration(s.bound), .idle_timeout = std::nullopt}};
  if (s.idle_timeout) opts.watermarks.idle_timeout = duration(*s.idle_timeout);
  if (s.extractor) opts.timestamp = [](const ev& e, timestamp_ms) { return timestamp_ms(e.ts); };
  auto w = b.source("events", json_serde<ev>(), opts)
               .key_by(&ev::key)
               .window(spec)
               .allowed_lateness(duration(s.lateness))
               .late_to(late);
  auto sum = w.named("sum").sum(&ev::amount);
  sum.to("sum");
  sum.side_output(late).to("late", json_serde<ev>());
  w.named("count").count().to("count");
  w.named("min").min(&ev::amount).to("min");
  w.named("max").max([](const ev& e) { return e.amount; }).to("max");
  w.named("avg").avg(&ev::amount).to("avg");
  w.named("reduce")
      .reduce([](const ev& a, const ev& c) { return a.amount >= c.amount ? a : c; })
      .map([](const windowed<std::string, ev>& r) {
        return windowed<std::string, int64_t>{r.key, r.window, r.value.amount};
      })
      .to("reduce");
  w.named("agg")
      .aggregate(
          int64_t(0), [](int64_t& a, const ev& e) { a += e.amount; },
          [](int64_t& a, const int64_t& c) { a += c; })
      .to("agg");

  outputs out;
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  if (!t) return out;
  test_driver_config cfg;
  if (s.rocksdb) cfg.engine.store = testing::make_test_rocksdb_store();
  auto d = test_driver::create(std::move(*t), std::move(cfg));
  EXPECT_TRUE(d);
  EXPECT_TRUE(d->declare_partitions("events", s.partitions));
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_TRUE(d->advance_wall_clock(duration(in[i].wall_step)));
    int64_t record_ts = s.extractor ? -1 - int64_t(i) : in[i].e.ts;
    auto st = d->pipe("events", in[i].e, json_serde<ev>(), timestamp_ms(record_ts),
                      partition_id(in[i].partition));
    EXPECT_TRUE(st) << st.error().message();
    EXPECT_EQ(d->get_engine().watermark("events").value, ref.after[i]) << "after record " << i;
  }
  EXPECT_TRUE(d->end_of_input());
  collect(*d, "sum", out.sum);
  collect(*d, "count", out.count);
  collect(*d, "min", out.min);
  collect(*d, "max", out.max);
  collect(*d, "avg", out.avg);
  collect(*d, "reduce", out.reduce);
  collect(*d, "agg", out.agg);
  auto late_rs = d->read("late", json_serde<ev>());
  EXPECT_TRUE(late_rs);
  if (late_rs) {
    for (auto& r : *late_rs) out.late_ids.push_back(r.value.id);
  }
  return out;
}

// Per window, the amounts in the order they were added, and whether each came after the
// window had fired (a late-but-allowed update).
struct reference_window {
  std::vector<std::pair<int64_t, bool>> adds;
};

// Every value a window emits: one when the watermark passes its end (covering what arrived
// before), then one per record added after that.
template <class R, class F>
std::vector<R> emissions(const reference_window& w, F aggregate_of) {
  std::vector<int64_t> seen;
  std::vector<R> out;
  bool fired = false;
  for (auto& [amount, after_fire] : w.adds) {
    if (after_fire && !fired && !seen.empty()) out.push_back(aggregate_of(seen));
    if (after_fire) fired = true;
    seen.push_back(amount);
    if (after_fire) out.push_back(aggregate_of(seen));
  }
  if (!fired) out.push_back(aggregate_of(seen));
  return out;
}

int64_t sum_of(const std::vector<int64_t>& v) {
  int64_t s = 0;
  for (auto x : v) s += x;
  return s;
}

void check_all(const std::map<window_key, reference_window>& ref, const outputs& got) {
  std::map<window_key, std::vector<int64_t>> sum, count, min, max;
  std::map<window_key, std::vector<double>> avg;
  for (auto& [k, w] : ref) {
    sum[k] = emissions<int64_t>(w, sum_of);
    count[k] = emissions<int64_t>(w, [](auto& v) { return int64_t(v.size()); });
    min[k] = emissions<int64_t>(w, [](auto& v) { return *std::min_element(v.begin(), v.end()); });
    max[k] = emissions<int64_t>(w, [](auto& v) { return *std::max_element(v.begin(), v.end()); });
    avg[k] = emissions<double>(w, [](auto& v) { return double(sum_of(v)) / double(v.size()); });
  }
  EXPECT_EQ(got.sum, sum);
  EXPECT_EQ(got.agg, sum);
  EXPECT_EQ(got.count, count);
  EXPECT_EQ(got.min, min);
  EXPECT_EQ(got.max, max);
  EXPECT_EQ(got.reduce, max);
  ASSERT_EQ(got.avg.size(), avg.size());
  for (auto& [k, values] : avg) {
    auto it = got.avg.find(k);
    ASSERT_NE(it, got.avg.end());
    ASSERT_EQ(it->second.size(), values.size());
    for (size_t i = 0; i < values.size(); ++i) EXPECT_NEAR(it->second[i], values[i], 1e-9);
  }
}

// Tumbling and hopping: windows [start, start + size) with start a multiple of `advance`.
void check_fixed(int64_t size, int64_t advance, const scenario& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto in = generate(rng, s);
  auto wm = replay_watermarks(in, s);
  std::map<window_key, reference_window> ref;
  std::vector<int64_t> late;
  for (size_t i = 0; i < in.size(); ++i) {
    const auto& e = in[i].e;
    bool accepted = false;
    // All windows of this size and advance that contain e.ts, found by brute force.
    for (int64_t start = e.ts - size - advance; start <= e.ts + advance; ++start) {
      if (((start % advance) + advance) % advance != 0) continue;
      if (!(start <= e.ts && e.ts < start + size)) continue;
      int64_t max_ts = start + size - 1;
      if (max_ts + s.lateness <= wm.before[i]) continue;  // window dropped already
      accepted = true;
      ref[{e.key, start, start + size}].adds.emplace_back(e.amount, max_ts <= wm.before[i]);
    }
    if (!accepted) late.push_back(e.id);
  }
  auto got = advance == size ? run_pipeline(tumbling(duration(size)), s, in, wm)
                             : run_pipeline(hopping(duration(size), duration(advance)), s, in, wm);
  check_all(ref, got);
  EXPECT_EQ(got.late_ids, late);
}

void check_sessions(int64_t gap, const scenario& s, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto in = generate(rng, s);
  auto wm = replay_watermarks(in, s);
  // Accepted records per key; late ones by id.
  std::map<std::string, std::vector<ev>> accepted;
  std::vector<int64_t> late;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i].e.ts + s.lateness <= wm.before[i]) {
      late.push_back(in[i].e.id);
    } else {
      accepted[in[i].e.key].push_back(in[i].e);
    }
  }
  // Sessions: sort by time, cut where two neighbours are gap or more apart.
  std::map<window_key, std::vector<int64_t>> sessions;
  for (auto& [key, evs] : accepted) {
    std::sort(evs.begin(), evs.end(), [](auto& a, auto& b) { return a.ts < b.ts; });
    size_t first = 0;
    for (size_t i = 1; i <= evs.size(); ++i) {
      if (i == evs.size() || evs[i].ts - evs[i - 1].ts >= gap) {
        std::vector<int64_t> amounts;
        for (size_t j = first; j < i; ++j) amounts.push_back(evs[j].amount);
        sessions[{key, evs[first].ts, evs[i - 1].ts + gap}] = amounts;
        first = i;
      }
    }
  }
  auto got = run_pipeline(session(duration(gap)), s, in, wm);
  auto check = [&](const std::map<window_key, std::vector<int64_t>>& emitted, auto final_of,
                   const char* what) {
    SCOPED_TRACE(what);
    for (auto& [k, amounts] : sessions) {
      auto it = emitted.find(k);
      ASSERT_NE(it, emitted.end()) << "session " << std::get<0>(k) << " [" << std::get<1>(k) << ","
                                   << std::get<2>(k) << ") was never emitted";
      EXPECT_EQ(it->second.back(), final_of(amounts));
    }
    for (auto& [k, values] : emitted) {
      // Earlier results are for sessions that later merged: inside a final session.
      auto [key, start, end] = k;
      bool inside = std::any_of(sessions.begin(), sessions.end(), [&](auto& f) {
        return std::get<0>(f.first) == key && std::get<1>(f.first) <= start &&
               end <= std::get<2>(f.first);
      });
      EXPECT_TRUE(inside) << key << " [" << start << "," << end << ")";
    }
  };
  check(got.sum, sum_of, "sum");
  check(got.agg, sum_of, "aggregate");
  check(
      got.count, [](auto& v) { return int64_t(v.size()); }, "count");
  check(
      got.min, [](auto& v) { return *std::min_element(v.begin(), v.end()); }, "min");
  check(
      got.max, [](auto& v) { return *std::max_element(v.begin(), v.end()); }, "max");
  check(
      got.reduce, [](auto& v) { return *std::max_element(v.begin(), v.end()); }, "reduce");
  EXPECT_EQ(got.late_ids, late);
}

// The scenarios every window kind runs: in order, out of order within the bound, out of order
// beyond it (late records) with and without allowed lateness, several partitions, an idle one.
std::vector<scenario> scenarios() {
  return {
      {.partitions = 1, .bound = 0, .lateness = 0, .disorder = 0},
      {.partitions = 1, .bound = 50, .lateness = 0, .disorder = 40},
      {.partitions = 1, .bound = 10, .lateness = 0, .disorder = 150},
      {.partitions = 1, .bound = 10, .lateness = 60, .disorder = 150},
      {.partitions = 3, .bound = 20, .lateness = 30, .disorder = 200},
      {.partitions = 3,
       .bound = 20,
       .lateness = 30,
       .disorder = 200,
       .max_wall_step = 40,
       .idle_timeout = 150,
       .stall_last_partition = true},
      {.partitions = 2, .bound = 5, .lateness = 0, .disorder = 100, .stall_last_partition = true},
      {.partitions = 2, .bound = 15, .lateness = 25, .disorder = 120, .extractor = true},
  };
}

class window_reference : public ::testing::TestWithParam<int> {};

TEST_P(window_reference, tumbling) {
  auto s = scenarios()[GetParam()];
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    check_fixed(100, 100, s, seed);
    check_fixed(37, 37, s, seed * 7);
  }
}

TEST_P(window_reference, hopping) {
  auto s = scenarios()[GetParam()];
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    check_fixed(100, 30, s, seed);
    check_fixed(60, 60 / 4, s, seed * 11);
  }
}

TEST_P(window_reference, session) {
  auto s = scenarios()[GetParam()];
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    check_sessions(25, s, seed);
    check_sessions(70, s, seed * 13);
  }
}

INSTANTIATE_TEST_SUITE_P(scenarios, window_reference,
                         ::testing::Range(0, static_cast<int>(scenarios().size())));

// The same checks with the window state in RocksDB.
TEST(window_reference_rocksdb, every_kind_matches_the_reference) {
  for (int which : {4, 5}) {
    auto s = scenarios()[which];
    s.rocksdb = true;
    SCOPED_TRACE("scenario " + std::to_string(which));
    check_fixed(100, 100, s, 3);
    check_fixed(100, 30, s, 3);
    check_sessions(25, s, 3);
  }
}

// The scenarios must actually exercise what they claim: late records, late updates, and an
// idle partition that lets the watermark move.
TEST(window_reference_inputs, scenarios_produce_late_records_and_idle_progress) {
  auto s = scenarios()[3];
  std::mt19937_64 rng(1);
  auto in = generate(rng, s);
  auto wm = replay_watermarks(in, s);
  int late = 0;
  for (size_t i = 0; i < in.size(); ++i) late += (in[i].e.ts + s.lateness <= wm.before[i]);
  EXPECT_GT(late, 0);

  auto idle = scenarios()[5];
  auto stalled = idle;
  stalled.idle_timeout.reset();
  std::mt19937_64 r1(1), r2(1);
  auto a = generate(r1, idle);
  auto b = generate(r2, stalled);
  EXPECT_GT(replay_watermarks(a, idle).after.back(), replay_watermarks(b, stalled).after.back());
}

TEST(windows, processing_time_windows_follow_the_wall_clock) {
  topology_builder b;
  b.source("events", json_serde<ev>(), {.time = time_mode::processing_time})
      .key_by(&ev::key)
      .window(tumbling(duration(100)))
      .sum(&ev::amount)
      .to("sum");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t), {.start_time = timestamp_ms(1'000)});
  ASSERT_TRUE(d);
  // Record timestamps are ignored: the wall clock at arrival counts.
  ASSERT_TRUE(d->pipe("events", ev{"a", 1}, json_serde<ev>(), timestamp_ms(5)));
  ASSERT_TRUE(d->advance_wall_clock(duration(50)));
  ASSERT_TRUE(d->pipe("events", ev{"a", 2}, json_serde<ev>(), timestamp_ms(999'999)));
  ASSERT_TRUE(d->advance_wall_clock(duration(49)));
  EXPECT_TRUE(d->read_raw("sum").empty()) << "window [1000,1100) is still open at 1099";
  ASSERT_TRUE(d->advance_wall_clock(duration(1)));
  auto out = d->read("sum", json_serde<windowed<std::string, int64_t>>());
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].value.value, 3);
  EXPECT_EQ((*out)[0].value.window, (window{timestamp_ms(1'000), timestamp_ms(1'100)}));
}

TEST(windows, session_aggregate_without_merge_is_rejected_by_build) {
  topology_builder b;
  b.source("events", json_serde<ev>())
      .key_by(&ev::key)
      .window(session(duration(10)))
      .aggregate(int64_t(0), [](int64_t& a, const ev& e) { a += e.amount; });
  auto t = b.build();
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().detail.find("merge"), std::string::npos);
}

TEST(windows, late_side_output_of_another_type_is_rejected_by_build) {
  topology_builder b;
  output_tag<ev> late{"late"};
  auto r = b.source("events", json_serde<ev>())
               .key_by(&ev::key)
               .window(tumbling(duration(10)))
               .late_to(late)
               .count();
  r.side_output(output_tag<std::string>{"late"});
  auto t = b.build();
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().detail.find("another element type"), std::string::npos);
}

// Window state survives a restart through the captured changes (what the changelog carries).
TEST(windows, state_restored_from_changes_continues_the_window) {
  auto build = [] {
    topology_builder b;
    b.source("events", json_serde<ev>())
        .key_by(&ev::key)
        .window(tumbling(duration(100)))
        .named("sum")
        .sum(&ev::amount)
        .to("sum");
    auto t = b.build();
    EXPECT_TRUE(t);
    return std::move(*t);
  };
  auto first = test_driver::create(build());
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->pipe("events", ev{"a", 5}, json_serde<ev>(), timestamp_ms(10)));
  ASSERT_TRUE(first->pipe("events", ev{"a", 6}, json_serde<ev>(), timestamp_ms(20)));
  auto changes = first->get_engine().checkpoint().state_changes;
  ASSERT_FALSE(changes.empty());

  auto second = test_driver::create(build(), changes);
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->pipe("events", ev{"a", 7}, json_serde<ev>(), timestamp_ms(30)));
  ASSERT_TRUE(second->end_of_input());
  auto out = second->read("sum", json_serde<windowed<std::string, int64_t>>());
  ASSERT_TRUE(out);
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].value.value, 18);
  EXPECT_TRUE(second->state("sum").empty()) << "fired windows without lateness are dropped";
}

}  // namespace
}  // namespace spate::stream
