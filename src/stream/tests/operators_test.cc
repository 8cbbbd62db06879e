// The stateless steps and sinks through the test driver: map, filter, flat_map, key_by, merge,
// process with side outputs, record metadata (key, timestamp, origin).
#include <gtest/gtest.h>

#include "spate/stream/stream.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;

test_driver make_driver(topology_builder& b) {
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  auto d = test_driver::create(std::move(*t));
  EXPECT_TRUE(d) << d.error().message();
  return std::move(*d);
}

TEST(operators, map_filter_flat_map_keep_key_and_timestamp) {
  topology_builder b;
  b.source("in", string_serde())
      .filter([](const std::string& s) { return !s.empty(); })
      .map([](const std::string& s) { return s + "!"; })
      .flat_map([](const std::string& s) {
        return std::vector<std::string>{s, s};
      })
      .to("out", string_serde());
  auto d = make_driver(b);
  ASSERT_TRUE(d.pipe_raw("in", "k1", "a", timestamp_ms(10)));
  ASSERT_TRUE(d.pipe_raw("in", "k2", "", timestamp_ms(20)));
  ASSERT_TRUE(d.pipe_raw("in", std::nullopt, "b", timestamp_ms(30)));
  auto out = d.read_raw("out");
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0].value, "a!");
  EXPECT_EQ(out[1].value, "a!");
  EXPECT_EQ(out[0].key, "k1");
  EXPECT_EQ(out[0].timestamp, timestamp_ms(10));
  EXPECT_EQ(out[2].value, "b!");
  EXPECT_EQ(out[2].key, std::nullopt);
  EXPECT_EQ(out[3].timestamp, timestamp_ms(30));
  EXPECT_TRUE(d.read_raw("out").empty()) << "read_raw drains";
}

TEST(operators, key_by_sets_the_output_key_with_its_serde) {
  topology_builder b;
  b.source("orders", json_serde<order>())
      .key_by(&order::amount)
      .as_stream()
      .map(&order::user_id)
      .to("by-amount", string_serde());
  auto d = make_driver(b);
  ASSERT_TRUE(d.pipe("orders", order{"u1", 42}, json_serde<order>(), timestamp_ms(1)));
  auto out = d.read_raw("by-amount");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].key, "42");
  EXPECT_EQ(out[0].value, "u1");
}

TEST(operators, merge_joins_two_sources) {
  topology_builder b;
  auto a = b.source("a", string_serde());
  auto c = b.source("c", string_serde());
  a.merge(c).to("both", string_serde());
  auto d = make_driver(b);
  ASSERT_TRUE(d.pipe_raw("a", {}, "1", timestamp_ms(1)));
  ASSERT_TRUE(d.pipe_raw("c", {}, "2", timestamp_ms(2)));
  auto out = d.read_raw("both");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].value, "1");
  EXPECT_EQ(out[1].value, "2");
}

TEST(operators, process_emits_and_sends_side_outputs_with_origin) {
  topology_builder b;
  output_tag<std::string> odd{"odd"};
  auto main =
      b.source<int64_t>("nums").process<int64_t>([odd](const int64_t& v, context<int64_t>& ctx) {
        if (v % 2 != 0) {
          ctx.output(odd, std::string(ctx.origin().topic) + "@" +
                              std::to_string(ctx.origin().offset.value));
          return;
        }
        ctx.emit(v / 2);
        ctx.emit(v, timestamp_ms(ctx.timestamp().value + 1));
      });
  main.to("half");
  main.side_output(odd).to("odd", string_serde());
  auto d = make_driver(b);
  for (int64_t v : {4, 3, 8}) {
    ASSERT_TRUE(d.pipe("nums", v, number_serde<int64_t>(), timestamp_ms(100)));
  }
  auto half = d.read("half", number_serde<int64_t>());
  ASSERT_TRUE(half);
  ASSERT_EQ(half->size(), 4u);
  EXPECT_EQ((*half)[0].value, 2);
  EXPECT_EQ((*half)[1].value, 4);
  EXPECT_EQ((*half)[1].timestamp, timestamp_ms(101));
  EXPECT_EQ((*half)[2].value, 4);
  auto odd_out = d.read_raw("odd");
  ASSERT_EQ(odd_out.size(), 1u);
  EXPECT_EQ(odd_out[0].value, "nums@1");
}

TEST(operators, build_reports_every_mistake) {
  topology_builder b;
  auto s = b.source("x", string_serde(), {.name = "same"});
  s.map([](const std::string& v) { return v; }, "same");
  auto keyed = s.key_by([](const std::string& v) { return v; });
  keyed.window(tumbling(duration(0))).count();
  keyed.window(hopping(duration(10), duration(20))).count();
  auto t = b.build();
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().code, errc::invalid_topology);
  EXPECT_NE(t.error().detail.find("two steps are named 'same'"), std::string::npos);
  EXPECT_NE(t.error().detail.find("tumbling window size"), std::string::npos);
  EXPECT_NE(t.error().detail.find("advance must not exceed"), std::string::npos);
}

TEST(operators, consumer_messages_convert_to_input_records) {
  client::message m{
      "t", partition_id(3), offset(9),   timestamp_ms(77), client::timestamp_type::create_time,
      "k", std::nullopt,    {{"h", "v"}}};
  auto r = to_input_record(m);
  EXPECT_EQ(r.topic, "t");
  EXPECT_EQ(r.partition, partition_id(3));
  EXPECT_EQ(r.offset, offset(9));
  EXPECT_EQ(r.timestamp, timestamp_ms(77));
  EXPECT_EQ(r.key, "k");
  EXPECT_EQ(r.value, std::nullopt);
  EXPECT_EQ(r.headers, m.headers);
}

TEST(operators, topology_lists_its_topics_and_steps) {
  topology_builder b;
  auto a = b.source("a", string_serde());
  a.map([](const std::string& v) { return v; }, "copy").to("out", string_serde());
  a.to("out", string_serde());
  b.source("b", string_serde()).to("other", string_serde());
  auto t = b.build();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->source_topics(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t->sink_topics(), (std::vector<std::string>{"other", "out"}));
  EXPECT_NE(t->describe().find("copy <- source-0"), std::string::npos) << t->describe();
  EXPECT_FALSE(b.build()) << "a builder builds once";
}

TEST(operators, unknown_topic_is_an_error_not_a_crash) {
  topology_builder b;
  b.source("x", string_serde()).to("y", string_serde());
  auto d = make_driver(b);
  auto s = d.pipe_raw("nope", {}, "v", timestamp_ms(1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::unknown_topic);
}

TEST(operators, user_function_exception_stops_the_engine_with_the_record_named) {
  topology_builder b;
  b.source("x", string_serde())
      .map([](const std::string& v) -> std::string {
        if (v == "boom") throw std::runtime_error("no boom allowed");
        return v;
      })
      .to("y", string_serde());
  auto d = make_driver(b);
  ASSERT_TRUE(d.pipe_raw("x", {}, "ok", timestamp_ms(1)));
  auto s = d.pipe_raw("x", {}, "boom", timestamp_ms(2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::user_function_failed);
  EXPECT_NE(s.error().detail.find("x[0]@1"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().detail.find("no boom allowed"), std::string::npos);
  auto again = d.pipe_raw("x", {}, "ok", timestamp_ms(3));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::engine_failed);
}

TEST(operators, checkpoint_reports_next_offsets_outputs_and_state) {
  topology_builder b;
  b.source("x", string_serde())
      .key_by([](const std::string& v) { return v; })
      .window(tumbling(duration(10)))
      .count()
      .to("counts");
  auto t = b.build();
  ASSERT_TRUE(t);
  auto e = engine::create(std::move(*t));
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start(timestamp_ms(0)));
  ASSERT_TRUE(e->assign("x", {partition_id(0), partition_id(1)}));
  EXPECT_EQ(e->assign("nope", {partition_id(0)}).error().code, errc::unknown_topic);
  auto rec = [](int32_t p, int64_t off, std::string v, int64_t ts) {
    return input_record{"x", partition_id(p), offset(off), {}, std::move(v), timestamp_ms(ts), {}};
  };
  ASSERT_TRUE(e->process(rec(0, 5, "a", 1)));
  ASSERT_TRUE(e->process(rec(1, 7, "a", 2)));
  ASSERT_TRUE(e->process(rec(0, 6, "b", 25)));
  auto cp = e->checkpoint();
  std::vector<committed_offset> want{{"x", partition_id(0), offset(7)},
                                     {"x", partition_id(1), offset(8)}};
  EXPECT_EQ(cp.offsets, want);
  // Partition 1 holds the watermark at 2 - 1: nothing fired yet, but the state changed.
  EXPECT_TRUE(cp.outputs.empty());
  EXPECT_FALSE(cp.state_changes.empty());
  EXPECT_TRUE(e->checkpoint().state_changes.empty()) << "changes are handed out once";
}

TEST(operators, engine_counts_into_its_metrics_registry) {
  topology_builder b;
  b.source("x", json_serde<order>()).to("y", json_serde<order>());
  auto t = b.build();
  ASSERT_TRUE(t);
  observe::registry metrics;
  auto d =
      test_driver::create(std::move(*t), {.engine = {.metrics = &metrics, .application = "app"}});
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->pipe("x", order{"u", 1}, json_serde<order>(), timestamp_ms(1)));
  EXPECT_FALSE(d->pipe_raw("x", {}, "bad", timestamp_ms(2)));
  observe::label_set app{{"application", "app"}};
  EXPECT_EQ(metrics.counter("spate_stream_records_in_total", "", app).value(), 2u);
  EXPECT_EQ(metrics.counter("spate_stream_records_out_total", "", app).value(), 1u);
  EXPECT_EQ(metrics.counter("spate_stream_rejected_records_total", "", app).value(), 1u);
  auto& wm =
      metrics.gauge("spate_stream_watermark_ms", "", {{"application", "app"}, {"topic", "x"}});
  EXPECT_EQ(wm.value(), 0.0) << "record at 1 ms, no out-of-orderness: watermark 0";
  ASSERT_TRUE(d->pipe("x", order{"u", 1}, json_serde<order>(), timestamp_ms(5'001)));
  EXPECT_EQ(wm.value(), 5'000.0);
}

// A step whose function takes its input by rvalue reference moves from it only when no other
// step reads the element: here the moving step is read first, so it must get a copy and the
// step after it must still see the whole value. Moving the element to every step would hand
// the second one an emptied string.
TEST(operators, a_moving_step_gets_a_copy_when_others_read_the_element_too) {
  topology_builder b;
  auto words = b.source("in", string_serde()).map([](const std::string& s) { return s + "!"; });
  words.map([](std::string&& s) { return std::move(s); }).to("moved", string_serde());
  words.map([](const std::string& s) { return s; }).to("read", string_serde());
  // Alone after a filter, a moving process step takes the element itself.
  words.filter([](const std::string& s) { return s.size() > 2; })
      .process<std::string>(
          [](std::string&& s, context<std::string>& ctx) { ctx.emit(std::move(s)); })
      .to("taken", string_serde());
  auto d = make_driver(b);
  const std::string long_word(40, 'w');  // longer than any small-string buffer
  ASSERT_TRUE(d.pipe_raw("in", "k", long_word, timestamp_ms(1)));
  for (const char* topic : {"moved", "read", "taken"}) {
    auto out = d.read_raw(topic);
    ASSERT_EQ(out.size(), 1u) << topic;
    EXPECT_EQ(out[0].value, long_word + "!") << topic;
    EXPECT_EQ(out[0].key, "k") << topic;
  }
}

// Step functions may keep state: a `mutable` lambda in map and a functor with a non-const
// call operator in process compile, and each step's one function object sees every element.
struct numbering {
  int next = 0;
  void operator()(const std::string& s, context<std::string>& ctx) {
    ctx.emit(s + "#" + std::to_string(next++));
  }
};
TEST(operators, step_functions_may_keep_state) {
  topology_builder b;
  auto in = b.source("in", string_serde());
  in.map([n = 0](const std::string& s) mutable {
      return s + std::to_string(n++);
    }).to("mapped", string_serde());
  in.process<std::string>(numbering{}).to("numbered", string_serde());
  auto d = make_driver(b);
  for (const char* w : {"a", "b", "c"}) ASSERT_TRUE(d.pipe_raw("in", "k", w, timestamp_ms(1)));
  std::vector<std::string> mapped, numbered;
  for (auto& r : d.read_raw("mapped")) mapped.push_back(r.value.value_or(""));
  for (auto& r : d.read_raw("numbered")) numbered.push_back(r.value.value_or(""));
  EXPECT_EQ(mapped, (std::vector<std::string>{"a0", "b1", "c2"}));
  EXPECT_EQ(numbered, (std::vector<std::string>{"a#0", "b#1", "c#2"}));
}

// engine::process_value hands a value to the source without its serde; the pipeline sees the
// same as from process() with the serialized value: event time, outputs, offsets.
TEST(operators, process_value_feeds_a_source_without_bytes) {
  auto build = [] {
    topology_builder b;
    b.source("orders", json_serde<order>(),
             {.timestamp = [](const order& o, timestamp_ms) { return timestamp_ms(o.ts); }})
        .key_by(&order::user_id)
        .window(tumbling(duration(10)))
        .sum(&order::amount)
        .to("totals", json_serde<windowed<std::string, int64_t>>());
    auto t = b.build();
    EXPECT_TRUE(t) << t.error().message();
    auto e = engine::create(std::move(*t));
    EXPECT_TRUE(e) << e.error().message();
    EXPECT_TRUE(e->start(timestamp_ms(0)));
    return std::move(*e);
  };
  std::vector<order> in{{"a", 1, 3}, {"b", 2, 4}, {"a", 5, 9}, {"a", 7, 12}, {"b", 1, 25}};
  auto by_bytes = build();
  auto by_value = build();
  for (size_t i = 0; i < in.size(); ++i) {
    // The record's own timestamp (-1) is not the event time: the extractor's is.
    ASSERT_TRUE(by_bytes.process(input_record{"orders",
                                              partition_id(0),
                                              offset(int64_t(i)),
                                              {},
                                              json_serde<order>().serialize(in[i]),
                                              timestamp_ms(-1),
                                              {}}));
    ASSERT_TRUE(by_value.process_value("orders", partition_id(0), offset(int64_t(i)), in[i],
                                       timestamp_ms(-1)));
  }
  ASSERT_TRUE(by_bytes.end_of_input());
  ASSERT_TRUE(by_value.end_of_input());
  auto want = by_bytes.checkpoint();
  auto got = by_value.checkpoint();
  ASSERT_EQ(got.outputs.size(), 4u);  // a [0,10) 6, b [0,10) 2, a [10,20) 7, b [20,30) 1
  ASSERT_EQ(got.outputs.size(), want.outputs.size());
  for (size_t i = 0; i < got.outputs.size(); ++i) {
    EXPECT_EQ(got.outputs[i].key, want.outputs[i].key);
    EXPECT_EQ(got.outputs[i].value, want.outputs[i].value);
    EXPECT_EQ(got.outputs[i].timestamp, want.outputs[i].timestamp);
  }
  EXPECT_EQ(got.offsets, want.offsets);
  EXPECT_EQ(by_value.stats().records_in, in.size());

  // A value of another type than the source reads, or for no source: refused, not a crash.
  auto s = by_value.process_value("orders", partition_id(0), offset(9), std::string("x"),
                                  timestamp_ms(1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_argument);
  EXPECT_EQ(by_value.process_value("nope", partition_id(0), offset(0), in[0], timestamp_ms(1))
                .error()
                .code,
            errc::unknown_topic);
}

// Without an extractor the value's event time is the one given; a negative one follows the
// source's error policy like a record without a timestamp (skip: counted, not delivered).
TEST(operators, process_value_event_time_and_error_policy) {
  topology_builder b;
  b.source("in", string_serde(), {.on_error = error_policy::skip}).to("out", string_serde());
  auto t = b.build();
  ASSERT_TRUE(t);
  auto e = engine::create(std::move(*t));
  ASSERT_TRUE(e);
  ASSERT_TRUE(e->start(timestamp_ms(0)));
  ASSERT_TRUE(
      e->process_value("in", partition_id(0), offset(0), std::string("a"), timestamp_ms(-5)));
  ASSERT_TRUE(
      e->process_value("in", partition_id(0), offset(1), std::string("b"), timestamp_ms(42)));
  auto out = e->take_output();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].value, "b");
  EXPECT_EQ(out[0].timestamp, timestamp_ms(42));
  EXPECT_EQ(e->stats().rejected_records, 1u);
  EXPECT_EQ(e->watermark("in"), timestamp_ms(41));
}

}  // namespace
}  // namespace spate::stream
