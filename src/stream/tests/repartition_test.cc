// Repartitioning as the Kafka runtime does it (application.h, "Keys."): Kafka's partitioner, the
// record headers of docs/formats/stream-repartition.md, and engines split at a key_by exchanging
// records by hand the way the broker would carry them.
#include "spate/stream/repartition.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>

#include "spate/stream/engine.h"
#include "spate/stream/errc.h"
#include "spate/stream/pipeline.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;
using namespace std::chrono_literals;

// Produced with librdkafka's "murmur2_random" partitioner (confluent-kafka-python 1.7.0,
// librdkafka 2.0.2) against the broker: scripts/murmur2_vectors.py prints this table. Per key,
// the partition it landed in for topics of 4, 7, 97 and 256 partitions.
constexpr std::array<int32_t, 4> counts{4, 7, 97, 256};
const std::vector<std::pair<std::string, std::array<int32_t, 4>>> client_partitions = {
    {std::string("", 0), {1, 2, 35, 217}},
    {std::string("\x61", 1), {0, 5, 49, 124}},
    {std::string("\x61\x62", 2), {2, 0, 36, 42}},
    {std::string("\x61\x62\x63", 3), {3, 4, 77, 27}},
    {std::string("\x61\x62\x63\x64", 4), {0, 5, 5, 244}},
    {std::string("\x61\x62\x63\x64\x65", 5), {1, 4, 67, 221}},
    {std::string("\x75\x30", 2), {2, 1, 67, 198}},
    {std::string("\x75\x34\x32", 3), {3, 5, 65, 103}},
    {std::string("\x75\x73\x65\x72\x2d\x31\x32\x33\x34", 9), {0, 2, 49, 92}},
    {std::string("\x68\x65\x6c\x6c\x6f\x20\x77\x6f\x72\x6c\x64", 11), {3, 2, 70, 99}},
    {std::string("\x54\x68\x65\x20\x71\x75\x69\x63\x6b\x20\x62\x72\x6f\x77\x6e\x20\x66\x6f\x78"
                 "\x20\x6a\x75\x6d\x70\x73\x20\x6f\x76\x65\x72\x20\x74\x68\x65\x20\x6c\x61\x7a"
                 "\x79\x20\x64\x6f\x67",
                 43),
     {2, 3, 21, 54}},
    {std::string("\x00", 1), {0, 0, 22, 188}},
    {std::string("\xff\xfe\xfd", 3), {0, 5, 73, 36}},
    {std::string("\x80\x81\x82\x83\x84\x85\x86", 7), {2, 5, 22, 234}},
    {std::string("\x7a\xc3\xbc\x72\x69\x63\x68", 7), {0, 4, 69, 128}},
    {std::string("\x6f\x39\x39\x39\x39\x39\x39", 7), {3, 5, 2, 27}},
    {std::string("\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x61\x62\x63\x64\x65\x66", 16),
     {0, 6, 84, 172}},
};

TEST(repartition, partitions_keys_like_the_kafka_client) {
  for (auto& [key, want] : client_partitions) {
    for (size_t i = 0; i < counts.size(); ++i) {
      EXPECT_EQ(kafka_partition(key, counts[i]), want[i])
          << "key of " << key.size() << " bytes, " << counts[i] << " partitions";
    }
  }
}

TEST(repartition, partition_is_in_range_for_every_hash) {
  // Keys whose hash has the sign bit set must still land in [0, n): Java clears the bit rather
  // than taking the absolute value.
  std::mt19937 rnd(7);
  int negative = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string k(static_cast<size_t>(rnd() % 20), '\0');
    for (auto& c : k) c = static_cast<char>(rnd());
    if (murmur2(k) < 0) ++negative;
    auto p = kafka_partition(k, 13);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 13);
  }
  EXPECT_GT(negative, 0);
}

TEST(repartition, topic_name) {
  EXPECT_EQ(repartition_topic("order-totals", "by-user"), "order-totals-by-user-repartition");
}

TEST(repartition, sequence_header_round_trips_and_rejects_bad_bytes) {
  sequence_stamp s{.task = 3, .sequence = 0x0102030405};
  auto bytes = encode_sequence_header(s);
  EXPECT_EQ(bytes, std::string("\x01\x00\x00\x00\x03\x00\x00\x00\x01\x02\x03\x04\x05", 13));
  auto back = decode_sequence_header(bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, s);

  for (auto bad : {std::string(), bytes.substr(0, 12), bytes + "x",
                   std::string("\x02") + bytes.substr(1),  // unknown version
                   encode_sequence_header({.task = 1, .sequence = 0}),
                   encode_sequence_header({.task = -1, .sequence = 5})}) {
    auto d = decode_sequence_header(bad);
    ASSERT_FALSE(d) << "accepted " << bad.size() << " bytes";
    EXPECT_EQ(d.error().code, errc::deserialization_failed);
  }
}

TEST(repartition, watermark_header_round_trips_and_rejects_bad_bytes) {
  for (auto w : {watermark_stamp{.task = 0, .watermark = timestamp_ms(1'700'000'099'999)},
                 watermark_stamp{.task = 7, .watermark = min_time, .idle = true},
                 watermark_stamp{.task = 2, .watermark = timestamp_ms(-5)}}) {
    auto back = decode_watermark_header(encode_watermark_header(w));
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, w);
  }
  auto bytes =
      encode_watermark_header({.task = 1, .watermark = timestamp_ms(0x0102), .idle = true});
  EXPECT_EQ(bytes, std::string("\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01\x02\x01", 14));
  auto flags = bytes;
  flags[13] = 2;
  for (auto bad :
       {std::string(), bytes.substr(0, 13), flags, std::string("\x00") + bytes.substr(1)}) {
    auto d = decode_watermark_header(bad);
    ASSERT_FALSE(d) << "accepted " << bad.size() << " bytes";
    EXPECT_EQ(d.error().code, errc::deserialization_failed);
  }
}

constexpr int64_t window_ms = 1000;
const std::string repartition = "app-by-user-repartition";

result<topology> totals_pipeline() {
  topology_builder b;
  b.source("orders", json_serde<order>())
      .key_by(&order::user_id, default_serde<std::string>(), "by-user")
      .window(tumbling(duration(window_ms)))
      .sum(&order::amount)
      .to("totals", json_serde<windowed<std::string, int64_t>>());
  return b.build();
}

// The same totals over two merged inputs: the order in which a task reads its two partitions
// is the consumer's, so a replay may number the records differently.
result<topology> merged_totals_pipeline() {
  topology_builder b;
  b.source("orders", json_serde<order>())
      .merge(b.source("more-orders", json_serde<order>()))
      .key_by(&order::user_id, default_serde<std::string>(), "by-user")
      .window(tumbling(duration(window_ms)))
      .sum(&order::amount)
      .to("totals", json_serde<windowed<std::string, int64_t>>());
  return b.build();
}

// `tasks` engines split at the key_by, and the topic between them: what the broker would hold.
struct split_run {
  std::vector<engine> tasks;
  std::vector<std::vector<output_record>> topic;  // per partition, in produce order
  std::vector<size_t> delivered;                  // per partition, records handed to its task
  std::map<std::pair<std::string, int64_t>, int64_t> totals;  // the latest per window
  int64_t input_offset = 0;

  explicit split_run(int n, result<topology> (*pipeline)() = totals_pipeline)
      : topic(static_cast<size_t>(n)), delivered(static_cast<size_t>(n)) {
    for (int i = 0; i < n; ++i) {
      engine_config c;
      c.split = split_config{"app", i, n};
      auto t = pipeline();
      EXPECT_TRUE(t) << t.error().message();
      auto e = engine::create(std::move(*t), std::move(c));
      EXPECT_TRUE(e) << e.error().message();
      EXPECT_TRUE(e->start(timestamp_ms(0)));
      tasks.push_back(std::move(*e));
    }
  }

  // What a task wrote: repartition records into the topic (checking the partition), results.
  void collect(std::vector<output_record> out) {
    for (auto& r : out) {
      if (r.topic == repartition) {
        ASSERT_TRUE(r.key && r.partition);
        EXPECT_EQ(r.partition->value, kafka_partition(*r.key, static_cast<int32_t>(tasks.size())));
        topic[static_cast<size_t>(r.partition->value)].push_back(std::move(r));
      } else {
        ASSERT_EQ(r.topic, "totals");
        auto w = json_serde<windowed<std::string, int64_t>>().deserialize(*r.value);
        ASSERT_TRUE(w);
        totals[{w->key, w->window.start.value}] = w->value;
      }
    }
  }

  void input(int task, const order& o, int64_t ts, const std::string& source = "orders") {
    auto& e = tasks[static_cast<size_t>(task)];
    ASSERT_TRUE(e.process(input_record{source, partition_id(task), offset(input_offset++),
                                       std::nullopt, nlohmann::json(o).dump(), timestamp_ms(ts)}));
    collect(e.take_output());
  }

  // Each task's upstream watermark, as the runtime sends it, to every partition.
  void send_watermarks() {
    for (int t = 0; t < static_cast<int>(tasks.size()); ++t) {
      for (auto& sp : tasks[static_cast<size_t>(t)].splits()) {
        EXPECT_EQ(sp.topic, repartition);
        for (auto& part : topic) {
          part.push_back(output_record{
              repartition,
              std::nullopt,
              std::nullopt,
              timestamp_ms(0),
              {client::header{"spate.wm", encode_watermark_header({t, sp.watermark, sp.idle})}}});
        }
      }
    }
  }

  // An order far in event time on every task's `sources`: every window closes. The flush
  // orders' own window is left out of the totals.
  void close_all_windows(const std::vector<std::string>& sources = {"orders"}) {
    for (int t = 0; t < static_cast<int>(tasks.size()); ++t) {
      for (auto& source : sources) input(t, order{"flush", 0, 0}, 1'000'000, source);
    }
    send_watermarks();
    deliver();
    totals.erase({"flush", 1'000'000});
  }

  // What an upstream task restarted from an older checkpoint does: every record of each
  // partition sent again, with the same sequence numbers. Returns how many.
  uint64_t send_everything_again() {
    uint64_t copies = 0;
    for (auto& part : topic) {
      auto n_before = part.size();
      for (size_t i = 0; i < n_before; ++i) part.push_back(part[i]);
      copies += n_before;
    }
    return copies;
  }

  // Hands each partition's new records to its task.
  void deliver() {
    for (size_t p = 0; p < topic.size(); ++p) {
      auto& e = tasks[p];
      for (; delivered[p] < topic[p].size(); ++delivered[p]) {
        auto& r = topic[p][delivered[p]];
        ASSERT_TRUE(e.process(input_record{repartition, partition_id(static_cast<int32_t>(p)),
                                           offset(static_cast<int64_t>(delivered[p])), r.key,
                                           r.value, r.timestamp, r.headers}));
        collect(e.take_output());
      }
    }
  }
};

TEST(repartition, split_engines_total_every_key_in_one_task) {
  // Orders of each user arrive on every input partition; each task sees only its own, yet
  // every window's total is complete because the key_by moved them to the key's task.
  constexpr int n = 3;
  split_run run(n);
  std::mt19937 rnd(11);
  std::map<std::pair<std::string, int64_t>, int64_t> expected;
  for (int i = 0; i < 600; ++i) {
    order o{"u" + std::to_string(rnd() % 17), static_cast<int64_t>(rnd() % 100), 0};
    int64_t ts = i * 10;
    expected[{o.user_id, ts / window_ms * window_ms}] += o.amount;
    run.input(static_cast<int>(rnd() % n), o, ts);
    if (i % 50 == 0) {
      run.send_watermarks();
      run.deliver();
    }
  }
  run.close_all_windows();
  EXPECT_EQ(run.totals, expected);
}

TEST(repartition, records_sent_again_are_dropped) {
  constexpr int n = 2;
  split_run run(n);
  std::map<std::pair<std::string, int64_t>, int64_t> expected;
  for (int i = 0; i < 40; ++i) {
    order o{"u" + std::to_string(i % 5), i + 1, 0};
    expected[{o.user_id, 0}] += o.amount;
    run.input(i % n, o, 100 + i);
  }
  run.deliver();
  uint64_t copies = run.send_everything_again();
  run.deliver();
  run.close_all_windows();
  EXPECT_EQ(run.totals, expected);
  uint64_t dropped = 0;
  for (auto& e : run.tasks) dropped += e.stats().repartition_duplicates;
  EXPECT_EQ(dropped, copies);
}

TEST(repartition, downstream_watermark_is_the_minimum_over_active_upstream_tasks) {
  constexpr int n = 2;
  split_run run(n);
  auto& down = run.tasks[0];
  auto wm = [&](int task, int64_t w, bool idle) {
    ASSERT_TRUE(down.process(input_record{
        repartition,
        partition_id(0),
        offset(static_cast<int64_t>(run.delivered[0]++)),
        std::nullopt,
        std::nullopt,
        timestamp_ms(0),
        {client::header{"spate.wm", encode_watermark_header({task, timestamp_ms(w), idle})}}}));
  };
  EXPECT_EQ(down.watermark(repartition), min_time);
  wm(0, 500, false);
  EXPECT_EQ(down.watermark(repartition), min_time) << "task 1 not heard from: it holds";
  wm(1, 300, false);
  EXPECT_EQ(down.watermark(repartition), timestamp_ms(300));
  wm(1, 200, false);  // an older one again (a restarted task): never back
  EXPECT_EQ(down.watermark(repartition), timestamp_ms(300));
  wm(1, 300, true);  // task 1 idle: left out
  EXPECT_EQ(down.watermark(repartition), timestamp_ms(500));
  wm(0, 900, true);  // every task idle: hold
  EXPECT_EQ(down.watermark(repartition), timestamp_ms(500));

  // A record from a task it does not know, or without the headers, is a clear error.
  auto bad = down.process(input_record{
      repartition,
      partition_id(0),
      offset(100),
      std::nullopt,
      std::nullopt,
      timestamp_ms(0),
      {client::header{"spate.wm", encode_watermark_header({5, timestamp_ms(1), false})}}});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("upstream task 5"), std::string::npos)
      << bad.error().message();
}

TEST(repartition, bare_record_on_the_topic_is_an_error) {
  split_run run(1);
  auto s = run.tasks[0].process(input_record{
      repartition, partition_id(0), offset(0), "u1", R"({"user_id":"u1"})", timestamp_ms(5), {}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::deserialization_failed);
}

TEST(repartition, upstream_idleness_follows_its_sources) {
  topology_builder b;
  b.source("orders", json_serde<order>(), {.watermarks = {.idle_timeout = 1s}})
      .key_by(&order::user_id, default_serde<std::string>(), "by-user")
      .as_stream()
      .to("out", json_serde<order>());
  engine_config c;
  c.split = split_config{"app", 0, 1};
  auto t = b.build();
  ASSERT_TRUE(t) << t.error().message();
  auto e = engine::create(std::move(*t), std::move(c));
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start(timestamp_ms(0)));
  ASSERT_TRUE(e->assign("orders", {partition_id(0)}));
  ASSERT_TRUE(e->process(input_record{"orders", partition_id(0), offset(0), std::nullopt,
                                      R"({"user_id":"u1","amount":1})", timestamp_ms(50)}));
  auto sp = e->splits();
  ASSERT_EQ(sp.size(), 1u);
  EXPECT_EQ(sp[0].watermark, timestamp_ms(49));
  EXPECT_FALSE(sp[0].idle);
  ASSERT_TRUE(e->advance_wall_clock(timestamp_ms(5000)));
  EXPECT_TRUE(e->splits()[0].idle);
}

}  // namespace
}  // namespace spate::stream

namespace spate::stream {
namespace {

// Behind a merge the sequence numbers do not identify records across a replay, so dropping by
// number could lose records: every record is applied (at-least-once) instead.
TEST(repartition, records_behind_a_merge_are_not_dropped_by_sequence_number) {
  constexpr int n = 2;
  split_run run(n, merged_totals_pipeline);
  std::map<std::pair<std::string, int64_t>, int64_t> once;
  for (int i = 0; i < 40; ++i) {
    order o{"u" + std::to_string(i % 5), i + 1, 0};
    once[{o.user_id, 0}] += o.amount;
    run.input(i % n, o, 100 + i);
  }
  run.deliver();
  run.send_everything_again();
  run.deliver();
  // The merge's watermark is the smaller of its inputs': move both.
  run.close_all_windows({"orders", "more-orders"});
  std::map<std::pair<std::string, int64_t>, int64_t> twice;
  for (auto& [k, v] : once) twice[k] = 2 * v;
  EXPECT_EQ(run.totals, twice);
  for (auto& e : run.tasks) EXPECT_EQ(e.stats().repartition_duplicates, 0u);
}

}  // namespace
}  // namespace spate::stream
