// Serdes, and what sources do with records they cannot decode (error_policy).
#include <gtest/gtest.h>

#include <limits>

#include "spate/stream/stream.h"
#include "test_types.h"

namespace spate::stream {
namespace {

using testing::order;

TEST(serde, bytes_round_trip_any_bytes) {
  auto s = bytes_serde();
  std::string v("a\0b\xff", 4);
  auto back = s.deserialize(s.serialize(v));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, v);
}

TEST(serde, string_accepts_utf8_and_rejects_the_rest) {
  auto s = string_serde();
  EXPECT_TRUE(s.deserialize("plain"));
  EXPECT_TRUE(s.deserialize("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"));
  for (std::string bad : {"\xff", "\xc3", "\xe2\x82", "\xc0\xaf" /* overlong */,
                          "\xed\xa0\x80" /* surrogate */, "\xf4\x90\x80\x80" /* > U+10FFFF */}) {
    auto r = s.deserialize(bad);
    ASSERT_FALSE(r) << "accepted " << ::testing::PrintToString(bad);
    EXPECT_EQ(r.error().code, errc::deserialization_failed);
  }
}

TEST(serde, numbers_round_trip_exactly_and_reject_garbage) {
  auto i = number_serde<int64_t>();
  for (int64_t v : {int64_t(0), int64_t(-1), std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    auto back = i.deserialize(i.serialize(v));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
  }
  auto d = number_serde<double>();
  for (double v : {0.1, -1e300, 1.0 / 3.0}) {
    auto back = d.deserialize(d.serialize(v));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, v);
  }
  for (auto bad : {"", "12a", " 1", "1.5"}) EXPECT_FALSE(i.deserialize(bad)) << bad;
}

TEST(serde, json_round_trip_and_clear_errors) {
  auto s = json_serde<order>();
  order o{"u\"1", -5, 7};
  auto back = s.deserialize(s.serialize(o));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, o);

  auto malformed = s.deserialize("{\"user_id\": ");
  ASSERT_FALSE(malformed);
  EXPECT_EQ(malformed.error().code, errc::deserialization_failed);
  EXPECT_NE(malformed.error().detail.find("malformed JSON"), std::string::npos);

  auto missing = s.deserialize(R"({"user_id":"u"})");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("amount"), std::string::npos) << missing.error().detail;

  auto wrong_type = s.deserialize(R"({"user_id":"u","amount":"lots"})");
  ASSERT_FALSE(wrong_type);
  EXPECT_EQ(wrong_type.error().code, errc::deserialization_failed);
}

TEST(serde, json_output_replaces_invalid_utf8_instead_of_throwing) {
  auto s = json_serde<order>();
  auto text = s.serialize(order{"\xff\xfe", 1});
  EXPECT_TRUE(detail::valid_utf8(text)) << text;
}

TEST(serde, custom_serde_exceptions_become_errors) {
  auto s = custom_serde<int>(
      "throwing", [](const int& v) { return std::to_string(v); },
      [](std::string_view) -> result<int> { throw std::runtime_error("nope"); });
  auto r = s.deserialize("1");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().detail, "throwing: nope");
}

TEST(serde, window_results_have_a_stable_json_shape) {
  auto s = json_serde<windowed<std::string, int64_t>>();
  windowed<std::string, int64_t> w{"u1", {timestamp_ms(0), timestamp_ms(300'000)}, 42};
  EXPECT_EQ(s.serialize(w), R"({"end":300000,"key":"u1","start":0,"value":42})");
  auto back = s.deserialize(s.serialize(w));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, w);
}

// A pipeline with one source under `policy`, copying orders to "out".
test_driver driver_with(error_policy policy) {
  topology_builder b;
  b.source(
       "orders", json_serde<order>(),
       {.on_error = policy, .dead_letter_topic = policy == error_policy::dead_letter ? "dlq" : ""})
      .to("out", json_serde<order>());
  auto t = b.build();
  EXPECT_TRUE(t) << t.error().message();
  auto d = test_driver::create(std::move(*t));
  EXPECT_TRUE(d);
  return std::move(*d);
}

TEST(source_errors, fail_returns_the_error_and_does_not_commit_the_record) {
  auto d = driver_with(error_policy::fail);
  ASSERT_TRUE(d.pipe("orders", order{"u", 1}, json_serde<order>(), timestamp_ms(1)));
  auto s = d.pipe_raw("orders", "k", "not json", timestamp_ms(2));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::deserialization_failed);
  EXPECT_NE(s.error().detail.find("orders[0]@1"), std::string::npos) << s.error().detail;
  EXPECT_EQ(d.get_engine().stats().rejected_records, 1u);
  auto cp = d.get_engine().checkpoint();
  ASSERT_EQ(cp.offsets.size(), 1u);
  EXPECT_EQ(cp.offsets[0].next, offset(1)) << "the bad record stays uncommitted";
  // The engine is not stopped: a runtime may decide to skip past the record.
  EXPECT_TRUE(d.pipe("orders", order{"u", 2}, json_serde<order>(), timestamp_ms(3)));
}

TEST(source_errors, skip_counts_and_goes_on) {
  auto d = driver_with(error_policy::skip);
  ASSERT_TRUE(d.pipe_raw("orders", "k", "[1,2]", timestamp_ms(1)));
  ASSERT_TRUE(d.pipe("orders", order{"u", 2}, json_serde<order>(), timestamp_ms(2)));
  EXPECT_EQ(d.read_raw("out").size(), 1u);
  EXPECT_EQ(d.get_engine().stats().rejected_records, 1u);
  EXPECT_EQ(d.get_engine().checkpoint().offsets[0].next, offset(2));
}

TEST(source_errors, dead_letter_writes_the_raw_record_with_the_reason) {
  auto d = driver_with(error_policy::dead_letter);
  ASSERT_TRUE(d.pipe_raw("orders", "k", "{\"user_id\":1}", timestamp_ms(5)));
  auto dlq = d.read_raw("dlq");
  ASSERT_EQ(dlq.size(), 1u);
  EXPECT_EQ(dlq[0].key, "k");
  EXPECT_EQ(dlq[0].value, "{\"user_id\":1}");
  EXPECT_EQ(dlq[0].timestamp, timestamp_ms(5));
  ASSERT_EQ(dlq[0].headers.size(), 1u);
  EXPECT_NE(dlq[0].headers[0].value->find("deserialized"), std::string::npos)
      << *dlq[0].headers[0].value;
  EXPECT_TRUE(d.read_raw("out").empty());
  EXPECT_EQ(d.get_engine().stats().dead_letters, 1u);
}

TEST(source_errors, missing_event_time_goes_through_the_policy) {
  auto d = driver_with(error_policy::fail);
  auto s = d.pipe("orders", order{"u", 1}, json_serde<order>(), timestamp_ms(-1));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, errc::invalid_timestamp);
}

TEST(source_errors, tombstones_are_skipped_on_streams) {
  auto d = driver_with(error_policy::fail);
  ASSERT_TRUE(d.pipe_raw("orders", "k", std::nullopt, timestamp_ms(1)));
  EXPECT_TRUE(d.read_raw("out").empty());
  EXPECT_EQ(d.get_engine().stats().null_values_skipped, 1u);
}

TEST(source_errors, dead_letter_without_topic_is_rejected_by_build) {
  topology_builder b;
  b.source("orders", json_serde<order>(), {.on_error = error_policy::dead_letter});
  EXPECT_FALSE(b.build());
}

}  // namespace
}  // namespace spate::stream
