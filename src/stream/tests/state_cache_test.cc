// The window steps' write-back state cache (detail/state_cache.h) must not change semantics:
// the same pipeline over the same input, with checkpoints at the same records, is run with no
// cache (capacity 0: every update reads and writes the store, as without the cache), with tiny
// caches (constant eviction) and with the default one, on the memory store and on RocksDB.
// At every checkpoint the state its changes build up (a compacted changelog, read back) must be
// the same, and so must the outputs; a restart from the state of a middle checkpoint must
// produce the same outputs too.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "spate/stream/stream.h"
#include "store_factories.h"

namespace spate::stream {
namespace {

struct ev {
  std::string key;
  int64_t amount = 0;
};
void to_json(nlohmann::json& j, const ev& e) {
  j = nlohmann::json{{"key", e.key}, {"amount", e.amount}};
}
void from_json(const nlohmann::json& j, ev& e) {
  j.at("key").get_to(e.key);
  j.at("amount").get_to(e.amount);
}

struct input {
  ev e;
  int64_t ts = 0;
  bool checkpoint_after = false;
};

std::vector<input> make_input(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<input> out;
  int64_t cursor = 1'000;
  for (int i = 0; i < 1500; ++i) {
    cursor += uniform(0, 6);
    input in;
    in.e.key = "k" + std::to_string(uniform(0, 15));
    in.e.amount = uniform(-20, 100);
    // Some records are late (beyond the bound), some of those within the allowed lateness.
    in.ts = std::max<int64_t>(0, cursor - (uniform(0, 4) == 0 ? uniform(0, 120) : 0));
    in.checkpoint_after = uniform(0, 60) == 0;
    out.push_back(in);
  }
  return out;
}

// Hopping sums with lateness, a count per key and, over the counts, a tumbling window per
// window start keeping the largest count (q5's shape), and a session sum (not cached).
topology build() {
  topology_builder b;
  auto keyed =
      b.source("events", json_serde<ev>(), {.watermarks = {.max_out_of_orderness = duration(10)}})
          .key_by(&ev::key);
  auto hop = keyed.window(hopping(duration(100), duration(20))).allowed_lateness(duration(30));
  hop.named("sum").sum(&ev::amount).to("sum");
  auto counts = hop.named("count").count();
  counts.to("count");
  counts.key_by([](const windowed<std::string, int64_t>& w) { return w.window.start.value; })
      .window(tumbling(duration(20)))
      .named("top")
      .max([](const windowed<std::string, int64_t>& w) { return w.value; })
      .to("top");
  keyed.window(session(duration(15))).named("session").sum(&ev::amount).to("session");
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  return std::move(*t);
}

using state = std::map<std::pair<std::string, std::string>, std::string>;
using output = std::tuple<std::string, std::optional<std::string>, std::optional<std::string>,
                          int64_t>;  // topic, key, value, timestamp

void apply_changes(state& s, const std::vector<state_change>& changes) {
  for (auto& c : changes) {
    if (c.value) {
      s[{c.store, c.key}] = *c.value;
    } else {
      s.erase({c.store, c.key});
    }
  }
}

std::vector<state_change> as_changes(const state& s) {
  std::vector<state_change> out;
  for (auto& [k, v] : s) out.push_back(state_change{k.first, k.second, v});
  return out;
}

void read_all(test_driver& d, std::vector<output>& into) {
  for (const char* topic : {"sum", "count", "top", "session"}) {
    for (auto& r : d.read_raw(topic)) into.emplace_back(topic, r.key, r.value, r.timestamp.value);
  }
}

struct run_result {
  std::vector<state> checkpoints;  // the state the changelog holds after each checkpoint
  std::vector<output> outputs;
  std::vector<output> restarted;  // after a restart from the middle checkpoint's state
};

run_result run(const std::vector<input>& in, size_t cache_entries, bool rocksdb) {
  run_result r;
  test_driver_config cfg;
  cfg.engine.state_cache_entries = cache_entries;
  if (rocksdb) cfg.engine.store = testing::make_test_rocksdb_store();
  auto d = test_driver::create(build(), std::move(cfg));
  EXPECT_TRUE(d);
  if (!d) return r;
  state changelog;
  size_t restart_from = 0;
  int checkpoints = 0;
  for (size_t i = 0; i < in.size(); ++i) {
    auto st = d->pipe("events", in[i].e, json_serde<ev>(), timestamp_ms(in[i].ts));
    EXPECT_TRUE(st) << st.error().message();
    if (in[i].checkpoint_after) {
      auto cp = d->get_engine().checkpoint();
      apply_changes(changelog, cp.state_changes);
      r.checkpoints.push_back(changelog);
      if (++checkpoints == 6) restart_from = i + 1;
    }
  }
  EXPECT_TRUE(d->end_of_input());
  apply_changes(changelog, d->get_engine().checkpoint().state_changes);
  r.checkpoints.push_back(changelog);
  read_all(*d, r.outputs);

  // A crash after the sixth checkpoint: a new engine on that checkpoint's state (a fresh
  // store each time), fed the input from there on.
  EXPECT_GT(restart_from, 0u);
  test_driver_config again;
  again.engine.state_cache_entries = cache_entries;
  if (rocksdb) again.engine.store = testing::make_test_rocksdb_store();
  auto d2 = test_driver::create(build(), as_changes(r.checkpoints[5]), std::move(again));
  EXPECT_TRUE(d2);
  if (!d2) return r;
  for (size_t i = restart_from; i < in.size(); ++i) {
    EXPECT_TRUE(d2->pipe("events", in[i].e, json_serde<ev>(), timestamp_ms(in[i].ts)));
  }
  EXPECT_TRUE(d2->end_of_input());
  read_all(*d2, r.restarted);
  return r;
}

void expect_same(const run_result& want, const run_result& got) {
  ASSERT_EQ(got.checkpoints.size(), want.checkpoints.size());
  for (size_t i = 0; i < want.checkpoints.size(); ++i) {
    EXPECT_EQ(got.checkpoints[i], want.checkpoints[i]) << "state after checkpoint " << i;
  }
  EXPECT_EQ(got.outputs, want.outputs);
  EXPECT_EQ(got.restarted, want.restarted);
}

TEST(state_cache, results_changelog_and_restore_do_not_depend_on_the_cache) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto in = make_input(seed);
    auto reference = run(in, 0, false);
    // The comparison means something only if there is state to compare, with windows both
    // live and dropped, and output before and after the restart.
    ASSERT_GE(reference.checkpoints.size(), 7u);
    EXPECT_FALSE(reference.checkpoints[5].empty());
    EXPECT_GT(reference.outputs.size(), 500u);
    EXPECT_GT(reference.restarted.size(), 100u);
    for (size_t entries : {size_t(1), size_t(2), size_t(7), size_t(100'000)}) {
      SCOPED_TRACE("cache entries " + std::to_string(entries));
      expect_same(reference, run(in, entries, false));
    }
  }
}

TEST(state_cache, the_same_on_rocksdb) {
  auto in = make_input(4);
  auto reference = run(in, 0, false);
  for (size_t entries : {size_t(0), size_t(3), size_t(100'000)}) {
    SCOPED_TRACE("cache entries " + std::to_string(entries));
    expect_same(reference, run(in, entries, true));
  }
}

// "events" keyed by ev::key in 100 ms tumbling windows: what the tests below aggregate.
auto tumbling_by_key(topology_builder& b) {
  return b.source("events", json_serde<ev>()).key_by(&ev::key).window(tumbling(duration(100)));
}

// Between checkpoints the changes stay in the cache; engine::store() and a checkpoint write
// them to the store first, so readers and the changelog see the current state.
TEST(state_cache, the_store_is_written_at_checkpoints_and_when_read) {
  topology_builder b;
  tumbling_by_key(b).named("sum").sum(&ev::amount).to("sum");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("events", ev{"a", 5}, json_serde<ev>(), timestamp_ms(10)));
  ASSERT_TRUE(d->pipe("events", ev{"a", 6}, json_serde<ev>(), timestamp_ms(20)));
  auto& store = d->get_engine().store();  // writes the cache back
  auto ns = store.open("sum");
  int entries = 0;
  store.scan(ns, {}, [&](std::string_view, std::string_view v) {
    ++entries;
    EXPECT_EQ(v, number_serde<int64_t>().serialize(11));
    return true;
  });
  EXPECT_EQ(entries, 1);
  ASSERT_TRUE(d->pipe("events", ev{"a", 7}, json_serde<ev>(), timestamp_ms(30)));
  auto cp = d->get_engine().checkpoint();
  ASSERT_EQ(cp.state_changes.size(), 1u) << "the latest value once, not each update";
  EXPECT_EQ(cp.state_changes[0].store, "sum");
  EXPECT_EQ(cp.state_changes[0].value, number_serde<int64_t>().serialize(18));
  EXPECT_TRUE(d->get_engine().checkpoint().state_changes.empty()) << "nothing changed since";
}

// An engine stopped by a throwing user function may hold half-applied updates, some only in
// the cache: its checkpoint must offer no state and no offsets to commit.
TEST(state_cache, a_stopped_engine_checkpoints_nothing_to_commit) {
  topology_builder b;
  tumbling_by_key(b)
      .aggregate(int64_t(0),
                 [](int64_t& a, const ev& e) {
                   if (e.amount < 0) throw std::runtime_error("negative amount");
                   a += e.amount;
                 })
      .to("sum");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("events", ev{"a", 5}, json_serde<ev>(), timestamp_ms(10)));
  auto healthy = d->get_engine().checkpoint();
  EXPECT_FALSE(healthy.state_changes.empty());
  EXPECT_FALSE(healthy.offsets.empty());
  ASSERT_TRUE(d->pipe("events", ev{"b", 6}, json_serde<ev>(), timestamp_ms(20)));
  auto st = d->pipe("events", ev{"a", -1}, json_serde<ev>(), timestamp_ms(30));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, errc::user_function_failed);
  auto cp = d->get_engine().checkpoint();
  EXPECT_TRUE(cp.state_changes.empty());
  EXPECT_TRUE(cp.offsets.empty());
}

// The cache serializes accumulators when it writes them back, at a checkpoint: a serializer
// that throws there must stop the engine (as it would have inside process()), not escape
// checkpoint() into the runtime's rebalance callback.
TEST(state_cache, a_throwing_serializer_at_write_back_stops_the_engine) {
  serde<int64_t> fragile{"fragile",
                         [](const int64_t& v) -> std::string {
                           if (v > 10) throw std::runtime_error("too big to write");
                           return std::to_string(v);
                         },
                         number_serde<int64_t>().deserialize};
  topology_builder b;
  tumbling_by_key(b)
      .aggregate(
          int64_t(0), [](int64_t& a, const ev& e) { a += e.amount; }, fragile)
      .to("sum");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("events", ev{"a", 5}, json_serde<ev>(), timestamp_ms(10)));
  EXPECT_FALSE(d->get_engine().checkpoint().offsets.empty());
  ASSERT_TRUE(d->pipe("events", ev{"a", 6}, json_serde<ev>(), timestamp_ms(20)));
  checkpoint_data cp;
  EXPECT_NO_THROW(cp = d->get_engine().checkpoint());
  EXPECT_TRUE(cp.offsets.empty()) << "nothing to commit from a stopped engine";
  EXPECT_TRUE(cp.state_changes.empty());
  auto again = d->pipe("events", ev{"b", 1}, json_serde<ev>(), timestamp_ms(30));
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("too big to write"), std::string::npos)
      << again.error().message();
}

}  // namespace
}  // namespace spate::stream
