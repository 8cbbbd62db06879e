// Keyed process steps: per-key value state, event- and processing-time timers, side outputs,
// and that state and timers come back from captured changes.
#include <gtest/gtest.h>

#include "spate/stream/stream.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;

// Counts orders per user; on the first order of a user sets an event-time timer 100 ms later
// and a processing-time timer 1 s later; big orders go to a side output.
topology counting_pipeline() {
  topology_builder b;
  output_tag<order> big{"big"};
  auto out =
      b.source("orders", json_serde<order>())
          .key_by(&order::user_id)
          .process<std::string>(
              [big](const order& o, keyed_context<std::string, std::string>& ctx) {
                auto n = ctx.state<int64_t>("count");
                int64_t count = n.value().value_or(0) + 1;
                n.update(count);
                if (count == 1) {
                  ctx.register_event_time_timer(timestamp_ms(ctx.timestamp().value + 100));
                  ctx.register_processing_time_timer(timestamp_ms(ctx.wall_clock().value + 1000));
                }
                if (o.amount > 1000) ctx.output(big, o);
                ctx.emit(ctx.key() + "=" + std::to_string(count));
              },
              [](timestamp_ms t, keyed_context<std::string, std::string>& ctx) {
                auto n = ctx.state<int64_t>("count");
                bool event_time = t <= ctx.watermark();
                ctx.emit(ctx.key() + (event_time ? " event-timer " : " wall-timer ") +
                         std::to_string(n.value().value_or(-1)));
                if (!event_time) n.clear();
              },
              "counter");
  out.to("out", string_serde());
  out.side_output(big).to("big", json_serde<order>());
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  return std::move(*t);
}

std::vector<std::string> values(test_driver& d, const std::string& topic) {
  std::vector<std::string> out;
  for (auto& r : d.read_raw(topic)) out.push_back(r.value.value_or("null"));
  return out;
}

TEST(process, keyed_state_counts_per_key) {
  auto d = test_driver::create(counting_pipeline());
  ASSERT_TRUE(d);
  auto s = json_serde<order>();
  ASSERT_TRUE(d->pipe("orders", order{"a", 1}, s, timestamp_ms(10)));
  ASSERT_TRUE(d->pipe("orders", order{"b", 1}, s, timestamp_ms(11)));
  ASSERT_TRUE(d->pipe("orders", order{"a", 5000}, s, timestamp_ms(12)));
  EXPECT_EQ(values(*d, "out"), (std::vector<std::string>{"a=1", "b=1", "a=2"}));
  auto big = d->read("big", s);
  ASSERT_TRUE(big);
  ASSERT_EQ(big->size(), 1u);
  EXPECT_EQ((*big)[0].value.amount, 5000);
  EXPECT_EQ((*big)[0].key, "a");
  EXPECT_EQ(d->state("counter/count").size(), 2u);
  auto a = d->value_state<int64_t>("counter", "count", "a");
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, std::optional<int64_t>(2));
  auto none = d->value_state<int64_t>("counter", "count", "nobody");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, std::nullopt);
}

TEST(process, event_time_timers_fire_when_the_watermark_reaches_them) {
  auto d = test_driver::create(counting_pipeline());
  ASSERT_TRUE(d);
  auto s = json_serde<order>();
  ASSERT_TRUE(d->pipe("orders", order{"a", 1}, s, timestamp_ms(10)));   // timer at 110
  ASSERT_TRUE(d->pipe("orders", order{"a", 1}, s, timestamp_ms(110)));  // watermark 109
  EXPECT_EQ(values(*d, "out"), (std::vector<std::string>{"a=1", "a=2"}));
  ASSERT_TRUE(d->pipe("orders", order{"b", 1}, s, timestamp_ms(111)));  // watermark 110
  EXPECT_EQ(values(*d, "out"), (std::vector<std::string>{"b=1", "a event-timer 2"}));
  auto timers = d->state("counter/timers");
  EXPECT_EQ(timers.size(), 3u) << "b's two timers and a's wall-clock timer remain";
}

TEST(process, processing_time_timers_fire_on_the_wall_clock) {
  auto d = test_driver::create(counting_pipeline(), {.start_time = timestamp_ms(5'000)});
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("orders", order{"a", 1}, json_serde<order>(), timestamp_ms(10)));
  values(*d, "out");
  ASSERT_TRUE(d->advance_wall_clock(duration(999)));
  EXPECT_TRUE(values(*d, "out").empty());
  ASSERT_TRUE(d->advance_wall_clock(duration(1)));
  EXPECT_EQ(values(*d, "out"), (std::vector<std::string>{"a wall-timer 1"}));
  EXPECT_TRUE(d->state("counter/count").empty()) << "the timer cleared the state";
}

TEST(process, state_and_timers_come_back_from_the_captured_changes) {
  auto first = test_driver::create(counting_pipeline());
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->pipe("orders", order{"a", 1}, json_serde<order>(), timestamp_ms(10)));
  auto changes = first->get_engine().checkpoint().state_changes;

  auto second = test_driver::create(counting_pipeline(), changes);
  ASSERT_TRUE(second);
  ASSERT_TRUE(second->pipe("orders", order{"a", 1}, json_serde<order>(), timestamp_ms(20)));
  EXPECT_EQ(values(*second, "out"), (std::vector<std::string>{"a=2"}));
  ASSERT_TRUE(second->end_of_input());
  EXPECT_EQ(values(*second, "out"), (std::vector<std::string>{"a event-timer 2"}));
}

TEST(process, deleted_timers_do_not_fire_and_typed_keys_decode) {
  topology_builder b;
  b.source("orders", json_serde<order>())
      .key_by(&order::amount)
      .process<std::string>(
          [](const order& o, keyed_context<int64_t, std::string>& ctx) {
            ctx.register_event_time_timer(timestamp_ms(50));
            if (o.user_id == "cancel") ctx.delete_event_time_timer(timestamp_ms(50));
          },
          [](timestamp_ms, keyed_context<int64_t, std::string>& ctx) {
            ctx.emit("fired " + std::to_string(ctx.key() * 2));
          })
      .to("out", string_serde());
  auto t = b.build();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  auto s = json_serde<order>();
  ASSERT_TRUE(d->pipe("orders", order{"x", 21}, s, timestamp_ms(1)));
  ASSERT_TRUE(d->pipe("orders", order{"x", 7}, s, timestamp_ms(2)));
  ASSERT_TRUE(d->pipe("orders", order{"cancel", 7}, s, timestamp_ms(3)));
  ASSERT_TRUE(d->end_of_input());
  EXPECT_EQ(values(*d, "out"), (std::vector<std::string>{"fired 42"}));
}

}  // namespace
}  // namespace spate::stream
