// producer and consumer against librdkafka's mock cluster, and against nothing at all.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "client/consumer.h"
#include "client/errc.h"
#include "client/producer.h"
#include "mock_cluster.h"

namespace spate::client {
namespace {

using namespace std::chrono_literals;
using testing::mock_cluster;

// Produces `records`, flushes, and returns the delivery reports in id order.
std::vector<delivery> produce_all(producer& p, const std::vector<outgoing_record>& records) {
  for (auto& r : records) {
    auto id = p.produce(r);
    EXPECT_TRUE(id) << id.error().message();
  }
  auto st = p.flush(5s);
  EXPECT_TRUE(st) << st.error().message();
  auto reports = p.poll();
  std::sort(reports.begin(), reports.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return reports;
}

// Reads until every assigned partition reported its end; returns the messages.
std::vector<message> read_to_end(consumer& c) {
  std::vector<message> out;
  std::set<std::pair<std::string, partition_id>> pending;
  for (auto& a : c.assignment()) pending.insert(a);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pending.empty() && std::chrono::steady_clock::now() < deadline) {
    auto ev = c.poll(200ms);
    if (!ev) {
      ADD_FAILURE() << ev.error().message();
      break;
    }
    if (!*ev) continue;
    if (auto* m = std::get_if<message>(&**ev)) {
      out.push_back(std::move(*m));
    } else {
      auto& eof = std::get<end_of_partition>(**ev);
      pending.erase({eof.topic, eof.partition});
    }
  }
  EXPECT_TRUE(pending.empty()) << "timed out before the end of every partition";
  return out;
}

std::vector<outgoing_record> sample(const std::string& topic, int n, int64_t t0) {
  std::vector<outgoing_record> out;
  for (int i = 0; i < n; ++i) {
    outgoing_record r;
    r.topic = topic;
    r.key = "k" + std::to_string(i);
    r.value = "value " + std::to_string(i);
    r.headers = {{"trace", "t" + std::to_string(i)}, {"empty", std::nullopt}};
    r.partition = partition_id(0);
    r.timestamp = timestamp_ms(t0 + i * 1000);
    out.push_back(std::move(r));
  }
  return out;
}

TEST(client_producer_consumer, round_trip_keeps_key_value_headers_timestamp) {
  mock_cluster mc;
  mc.create_topic("orders", 2);
  auto p = producer::connect(mc.config());
  ASSERT_TRUE(p) << p.error().message();
  const int64_t t0 = 1'700'000'000'000;
  auto records = sample("orders", 10, t0);
  records[3].key.reset();    // null key
  records[4].value.reset();  // tombstone
  records[5].value = std::string("bin\0ary", 7);
  auto reports = produce_all(*p, records);
  ASSERT_EQ(reports.size(), 10u);
  for (size_t i = 0; i < reports.size(); ++i) {
    ASSERT_TRUE(reports[i].outcome) << reports[i].outcome.error().message();
    EXPECT_EQ(reports[i].id, i + 1);
    EXPECT_EQ(reports[i].outcome->topic, "orders");
    EXPECT_EQ(reports[i].outcome->partition, partition_id(0));
    EXPECT_EQ(reports[i].outcome->offset, spate::offset(static_cast<int64_t>(i)));
  }

  auto c = consumer::connect(mc.config());
  ASSERT_TRUE(c) << c.error().message();
  auto st = c->assign("orders", {}, start_position::beginning());
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(c->assignment().size(), 2u);
  auto got = read_to_end(*c);
  ASSERT_EQ(got.size(), records.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].topic, "orders");
    EXPECT_EQ(got[i].partition, partition_id(0));
    EXPECT_EQ(got[i].offset, spate::offset(static_cast<int64_t>(i)));
    EXPECT_EQ(got[i].key, records[i].key);
    EXPECT_EQ(got[i].value, records[i].value);
    EXPECT_EQ(got[i].headers, records[i].headers);
    EXPECT_EQ(got[i].timestamp, records[i].timestamp);
    EXPECT_EQ(got[i].ts_type, timestamp_type::create_time);
  }
}

TEST(client_producer_consumer, starts_at_offset_last_n_and_end) {
  mock_cluster mc;
  mc.create_topic("t", 1);
  auto p = producer::connect(mc.config());
  ASSERT_TRUE(p) << p.error().message();
  produce_all(*p, sample("t", 6, 1'700'000'000'000));

  auto from = [&](start_position pos) {
    auto c = consumer::connect(mc.config());
    EXPECT_TRUE(c) << c.error().message();
    auto st = c->assign("t", {partition_id(0)}, pos);
    EXPECT_TRUE(st) << st.error().message();
    std::vector<int64_t> offsets;
    for (auto& m : read_to_end(*c)) offsets.push_back(m.offset.value);
    return offsets;
  };
  EXPECT_EQ(from(start_position::at(spate::offset(4))), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(from(start_position::last(2)), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(from(start_position::end()), (std::vector<int64_t>{}));
}

TEST(client_producer_consumer, every_codec_round_trips) {
  mock_cluster mc;
  mc.create_topic("z", 1);
  for (auto codec : {"none", "gzip", "snappy", "lz4", "zstd"}) {
    producer_config pc;
    pc.compression = *parse_compression(codec);
    pc.acks = acks_mode::leader;
    auto p = producer::connect(mc.config(), pc);
    ASSERT_TRUE(p) << codec << ": " << p.error().message();
    auto reports = produce_all(*p, sample("z", 3, 1'700'000'000'000));
    for (auto& d : reports) ASSERT_TRUE(d.outcome) << codec << ": " << d.outcome.error().message();
  }
  auto c = consumer::connect(mc.config());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->assign("z", {}, start_position::beginning()));
  auto got = read_to_end(*c);
  ASSERT_EQ(got.size(), 15u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].value, "value " + std::to_string(i % 3));
}

TEST(client_producer_consumer, delivery_failure_is_a_result_value) {
  mock_cluster mc;
  mc.create_topic("t", 1);
  producer_config pc;
  pc.delivery_timeout = 3000ms;
  auto p = producer::connect(mc.config(), pc);
  ASSERT_TRUE(p);
  // The next Produce request fails with a non-retriable error.
  rd_kafka_mock_push_request_errors(mc.get(), 0 /* Produce */, 1,
                                    RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  auto reports = produce_all(*p, sample("t", 1, 1'700'000'000'000));
  ASSERT_EQ(reports.size(), 1u);
  ASSERT_FALSE(reports[0].outcome);
  auto& e = reports[0].outcome.error();
  EXPECT_EQ(e.code.value(), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  EXPECT_FALSE(is_retriable(e));
  EXPECT_NE(e.message().find("not retriable"), std::string::npos) << e.message();
  EXPECT_NE(e.message().find("'t'"), std::string::npos) << e.message();
}

TEST(client_producer_consumer, acks_zero_reports_no_offset) {
  mock_cluster mc;
  mc.create_topic("t", 1);
  producer_config pc;
  pc.acks = acks_mode::none;
  auto p = producer::connect(mc.config(), pc);
  ASSERT_TRUE(p);
  auto reports = produce_all(*p, sample("t", 2, 1'700'000'000'000));
  ASSERT_EQ(reports.size(), 2u);
  for (auto& d : reports) {
    ASSERT_TRUE(d.outcome) << d.outcome.error().message();
    EXPECT_EQ(d.outcome->offset, spate::offset(-1));
  }
}

TEST(client_producer_consumer, unknown_topic_and_partition_are_clear_errors) {
  mock_cluster mc;
  mc.create_topic("t", 2);
  auto c = consumer::connect(mc.config());
  ASSERT_TRUE(c);
  auto missing = c->partitions("nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, make_error_code(errc::unknown_topic));
  auto bad = c->assign("t", {partition_id(7)}, start_position::beginning());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("no partition 7"), std::string::npos)
      << bad.error().message();
}

TEST(client_producer_consumer, out_of_range_offset_is_reported) {
  mock_cluster mc;
  mc.create_topic("t", 1);
  auto c = consumer::connect(mc.config());
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->assign("t", {partition_id(0)}, start_position::at(spate::offset(100))));
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto ev = c->poll(200ms);
    if (!ev) {
      EXPECT_NE(ev.error().message().find("'t' partition 0"), std::string::npos)
          << ev.error().message();
      return;
    }
  }
  FAIL() << "no error for an offset beyond the end";
}

TEST(client_connect, unreachable_broker_fails_within_the_timeout) {
  client_config cfg;
  cfg.bootstrap = "127.0.0.1:1";
  cfg.timeout = 1000ms;
  auto start = std::chrono::steady_clock::now();
  auto p = producer::connect(cfg);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, make_error_code(errc::broker_unreachable));
  EXPECT_TRUE(is_retriable(p.error()));
  EXPECT_NE(p.error().message().find("cannot reach broker at 127.0.0.1:1 within 1000 ms"),
            std::string::npos)
      << p.error().message();
  EXPECT_NE(p.error().message().find("Connection refused"), std::string::npos)
      << p.error().message();
  EXPECT_LT(elapsed, 3s);
  auto c = consumer::connect(cfg);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, make_error_code(errc::broker_unreachable));
}

TEST(client_connect, bad_settings_are_refused_before_connecting) {
  client_config cfg;
  cfg.properties.emplace_back("no.such.property", "1");
  auto p = producer::connect(cfg);
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().code, make_error_code(errc::invalid_argument));
  EXPECT_NE(p.error().message().find("no.such.property"), std::string::npos);
  cfg.properties.clear();
  cfg.timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(producer::connect(cfg));
}

}  // namespace
}  // namespace spate::client
