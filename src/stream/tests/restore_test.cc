// Recovery through the changelog seam: a run interrupted at a random record, whose state is
// rebuilt from the changes captured at checkpoints (as the runtime would read them back from
// the changelog topics, whole or compacted), ends with the same final results as an
// uninterrupted run. Windows restored from state fire again (at-least-once), so the check is
// on the last value emitted per window and per key.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "spate/stream/stream.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;
using result_map = std::map<std::string, std::string>;  // topic|key|window -> last value

topology pipeline() {
  topology_builder b;
  auto keyed = b.source("orders", json_serde<order>(),
                        {.watermarks = {.max_out_of_orderness = duration(50)}})
                   .key_by(&order::user_id);
  keyed.window(tumbling(duration(100))).named("tumbling").sum(&order::amount).to("tumbling");
  keyed.window(session(duration(30))).named("session").count().to("session");
  keyed.window(hopping(duration(100), duration(25)))
      .named("hopping")
      .max(&order::amount)
      .to("hopping");
  keyed
      .process<int64_t>(
          [](const order& o, keyed_context<std::string, int64_t>& ctx) {
            auto total = ctx.state<int64_t>("total");
            total.update(total.value().value_or(0) + o.amount);
            ctx.register_event_time_timer(timestamp_ms(ctx.timestamp().value / 200 * 200 + 199));
          },
          [](timestamp_ms, keyed_context<std::string, int64_t>& ctx) {
            ctx.emit(ctx.state<int64_t>("total").value().value_or(0));
          },
          "running")
      .to("running");
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  return std::move(*t);
}

void collect(test_driver& d, result_map& into) {
  for (const char* topic : {"tumbling", "session", "hopping"}) {
    for (auto& r : d.read_raw(topic)) {
      auto j = nlohmann::json::parse(*r.value);
      into[std::string(topic) + "|" + *r.key + "|" + j["start"].dump() + "-" + j["end"].dump()] =
          j["value"].dump();
    }
  }
  for (auto& r : d.read_raw("running")) into["running|" + *r.key] = *r.value;
}

struct arrival {
  order o;
  int64_t ts;
};

std::vector<arrival> inputs(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<arrival> in;
  int64_t cursor = 0;
  for (int i = 0; i < 300; ++i) {
    cursor += uniform(0, 8);
    // Out of order, but within the bound: no record is late in either run.
    in.push_back({order{"u" + std::to_string(uniform(0, 4)), uniform(1, 100)},
                  std::max<int64_t>(0, cursor - uniform(0, 40))});
  }
  return in;
}

std::vector<state_change> compacted(const std::vector<state_change>& log) {
  std::map<std::pair<std::string, std::string>, size_t> last;
  for (size_t i = 0; i < log.size(); ++i) last[{log[i].store, log[i].key}] = i;
  std::vector<state_change> out;
  for (size_t i = 0; i < log.size(); ++i) {
    if (last[{log[i].store, log[i].key}] == i && log[i].value) out.push_back(log[i]);
  }
  return out;
}

TEST(restore, interrupted_runs_end_with_the_same_results) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    auto in = inputs(seed);
    auto s = json_serde<order>();

    result_map want;
    auto whole = test_driver::create(pipeline());
    ASSERT_TRUE(whole);
    for (auto& a : in) ASSERT_TRUE(whole->pipe("orders", a.o, s, timestamp_ms(a.ts)));
    ASSERT_TRUE(whole->end_of_input());
    collect(*whole, want);

    std::mt19937_64 rng(seed * 101);
    size_t cut = std::uniform_int_distribution<size_t>(1, in.size() - 1)(rng);
    for (bool compact : {false, true}) {
      SCOPED_TRACE(compact ? "compacted changelog" : "whole changelog");
      result_map got;
      std::vector<state_change> changelog;
      auto first = test_driver::create(pipeline());
      ASSERT_TRUE(first);
      for (size_t i = 0; i < cut; ++i) {
        ASSERT_TRUE(first->pipe("orders", in[i].o, s, timestamp_ms(in[i].ts)));
        if (i % 37 == 0) {  // a checkpoint now and then
          auto cp = first->get_engine().checkpoint();
          changelog.insert(changelog.end(), cp.state_changes.begin(), cp.state_changes.end());
        }
      }
      auto cp = first->get_engine().checkpoint();
      changelog.insert(changelog.end(), cp.state_changes.begin(), cp.state_changes.end());
      collect(*first, got);

      auto second = test_driver::create(pipeline(), compact ? compacted(changelog) : changelog);
      ASSERT_TRUE(second);
      for (size_t i = cut; i < in.size(); ++i) {
        ASSERT_TRUE(second->pipe("orders", in[i].o, s, timestamp_ms(in[i].ts)));
      }
      ASSERT_TRUE(second->end_of_input());
      collect(*second, got);
      EXPECT_EQ(got, want);
    }
  }
}

}  // namespace
}  // namespace spate::stream
