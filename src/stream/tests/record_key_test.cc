// key_by_record_key (pipeline.h): input already keyed and partitioned as Kafka's default
// partitioner would is keyed in place. In-process it keys as key_by does; split as the Kafka
// runtime splits tasks, it writes no repartition record and checks that each record is in the
// task its key belongs to.
#include <gtest/gtest.h>

#include <map>
#include <random>

#include "spate/stream/engine.h"
#include "spate/stream/errc.h"
#include "spate/stream/repartition.h"
#include "spate/stream/stream.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;
using totals_map = std::map<std::pair<std::string, int64_t>, int64_t>;

constexpr int64_t window_ms = 1000;

result<topology> keyed_totals_pipeline() {
  topology_builder b;
  b.source("orders", json_serde<order>())
      .key_by_record_key(default_serde<std::string>(), "by-user")
      .window(tumbling(duration(window_ms)))
      .sum(&order::amount)
      .to("totals", json_serde<windowed<std::string, int64_t>>());
  return b.build();
}

void add_totals(totals_map& into, std::vector<output_record> out) {
  for (auto& r : out) {
    ASSERT_EQ(r.topic, "totals") << "a record for another topic (a repartition?)";
    auto w = json_serde<windowed<std::string, int64_t>>().deserialize(*r.value);
    ASSERT_TRUE(w);
    EXPECT_EQ(r.key, w->key);  // the key bytes are the record key, decoded by the key serde
    into[{w->key, w->window.start.value}] = w->value;
  }
}

TEST(record_key, in_process_keys_like_key_by) {
  auto t = keyed_totals_pipeline();
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_TRUE(t->repartition_steps().empty());
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  std::mt19937 rnd(3);
  totals_map expected;
  for (int i = 0; i < 300; ++i) {
    // The value's user id is deliberately not the key: the step keys by the record key.
    std::string user = "u" + std::to_string(rnd() % 7);
    order o{"ignored", static_cast<int64_t>(rnd() % 100), 0};
    int64_t ts = i * 20;
    expected[{user, ts / window_ms * window_ms}] += o.amount;
    ASSERT_TRUE(d->pipe("orders", o, json_serde<order>(), timestamp_ms(ts),
                        partition_id(static_cast<int32_t>(rnd() % 3)), user));
  }
  ASSERT_TRUE(d->end_of_input());
  totals_map got;
  add_totals(got, d->read_raw("totals"));
  EXPECT_EQ(got, expected);
}

TEST(record_key, a_record_without_a_key_stops_the_engine) {
  auto t = keyed_totals_pipeline();
  ASSERT_TRUE(t);
  auto d = test_driver::create(std::move(*t));
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("orders", order{"u1", 5}, json_serde<order>(), timestamp_ms(1),
                      partition_id(0), "u1"));
  auto s = d->pipe("orders", order{"u1", 6}, json_serde<order>(), timestamp_ms(2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::misplaced_key);
  EXPECT_NE(s.error().message().find("orders[0]@1 has no key"), std::string::npos)
      << s.error().message();
}

std::vector<engine> split_tasks(int n) {
  std::vector<engine> tasks;
  for (int i = 0; i < n; ++i) {
    engine_config c;
    c.split = split_config{"app", i, n};
    auto t = keyed_totals_pipeline();
    EXPECT_TRUE(t) << t.error().message();
    auto e = engine::create(std::move(*t), std::move(c));
    EXPECT_TRUE(e) << e.error().message();
    EXPECT_TRUE(e->start(timestamp_ms(0)));
    tasks.push_back(std::move(*e));
  }
  return tasks;
}

TEST(record_key, split_tasks_key_in_place_without_a_repartition_record) {
  // Each task reads the input partition its keys' murmur2 picks (as a Java producer or
  // librdkafka's murmur2_random would have written them): every window is complete in one
  // task, and no task writes anything but results. A step that still repartitioned would write
  // to "app-by-user-repartition" and total nothing.
  constexpr int n = 3;
  auto tasks = split_tasks(n);
  std::mt19937 rnd(5);
  totals_map expected;
  totals_map got;
  std::vector<int64_t> next(n, 0);
  for (int i = 0; i < 600; ++i) {
    std::string user = "u" + std::to_string(rnd() % 17);
    order o{user, static_cast<int64_t>(rnd() % 100), 0};
    int64_t ts = i * 10;
    expected[{user, ts / window_ms * window_ms}] += o.amount;
    int32_t p = kafka_partition(user, n);
    auto& e = tasks[static_cast<size_t>(p)];
    ASSERT_TRUE(e.process(input_record{"orders", partition_id(p), offset(next[size_t(p)]++), user,
                                       nlohmann::json(o).dump(), timestamp_ms(ts)}));
    add_totals(got, e.take_output());
  }
  for (auto& e : tasks) {
    EXPECT_TRUE(e.splits().empty());
    ASSERT_TRUE(e.end_of_input());
    add_totals(got, e.take_output());
  }
  EXPECT_EQ(got, expected);
}

TEST(record_key, split_task_refuses_a_key_of_another_task) {
  constexpr int n = 4;
  auto tasks = split_tasks(n);
  // "u42" belongs to partition 3 of 4 (repartition_test checks that against a real client).
  ASSERT_EQ(kafka_partition("u42", n), 3);
  ASSERT_TRUE(
      tasks[3].process(input_record{"orders", partition_id(3), offset(0), "u42",
                                    nlohmann::json(order{"u42", 1, 0}).dump(), timestamp_ms(1)}));
  auto s =
      tasks[1].process(input_record{"orders", partition_id(1), offset(7), "u42",
                                    nlohmann::json(order{"u42", 2, 0}).dump(), timestamp_ms(1)});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::misplaced_key);
  EXPECT_NE(s.error().message().find("orders[1]@7 is in task 1"), std::string::npos)
      << s.error().message();
  EXPECT_NE(s.error().message().find("partition 3 of 4"), std::string::npos);
  // Stopped: the record went no further, and the engine takes no more input.
  EXPECT_TRUE(tasks[1].end_of_input().error().code == errc::engine_failed);
  EXPECT_TRUE(tasks[1].take_output().empty());
}

}  // namespace
}  // namespace spate::stream
