#include "client/errc.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"

namespace spate::client {
namespace {

spate::error rdkafka(rd_kafka_resp_err_t e) {
  return spate::error(std::error_code(static_cast<int>(e), rdkafka_category()), "ctx");
}

TEST(client_errc, rdkafka_messages_name_the_code_and_its_class) {
  auto e = rdkafka(RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  EXPECT_TRUE(is_retriable(e));
  EXPECT_NE(e.message().find("LEADER_NOT_AVAILABLE, retriable]"), std::string::npos) << e.message();
  auto f = rdkafka(RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS);
  EXPECT_FALSE(is_retriable(f));
  EXPECT_NE(f.message().find("not retriable]"), std::string::npos) << f.message();
  EXPECT_TRUE(is_retriable(rdkafka(RD_KAFKA_RESP_ERR__TRANSPORT)));
  EXPECT_FALSE(is_retriable(rdkafka(RD_KAFKA_RESP_ERR__INVALID_ARG)));
}

TEST(client_errc, client_codes) {
  spate::error unreachable(errc::broker_unreachable, "cannot reach broker at x");
  EXPECT_TRUE(is_retriable(unreachable));
  EXPECT_FALSE(is_fatal(unreachable));
  EXPECT_EQ(unreachable.message(), "cannot reach broker at x: broker unreachable [retriable]");
  spate::error fatal(errc::fatal, "producing");
  EXPECT_TRUE(is_fatal(fatal));
  EXPECT_FALSE(is_retriable(fatal));
  EXPECT_FALSE(is_retriable(spate::error(errc::invalid_argument)));
  EXPECT_FALSE(is_retriable(spate::error(std::make_error_code(std::errc::io_error))));
  // The group codes name the problem and are not worth retrying as such.
  spate::error unknown(errc::unknown_group, "describe group 'g'");
  EXPECT_EQ(unknown.message(), "describe group 'g': unknown consumer group [not retriable]");
  EXPECT_FALSE(is_retriable(spate::error(errc::group_not_empty)));
  EXPECT_NE(spate::error(errc::group_not_empty).message().find("active members"),
            std::string::npos);
}

TEST(client_parse, acks_and_compression) {
  EXPECT_EQ(*parse_acks("0"), acks_mode::none);
  EXPECT_EQ(*parse_acks("1"), acks_mode::leader);
  EXPECT_EQ(*parse_acks("all"), acks_mode::all);
  EXPECT_EQ(*parse_acks("-1"), acks_mode::all);
  EXPECT_FALSE(parse_acks("2"));
  EXPECT_EQ(*parse_compression("zstd"), compression_codec::zstd);
  EXPECT_EQ(*parse_compression("none"), compression_codec::none);
  auto bad = parse_compression("brotli");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("'brotli'"), std::string::npos);
}

TEST(client_parse, start_positions) {
  EXPECT_EQ(*parse_start_position("beginning"), start_position::beginning());
  EXPECT_EQ(*parse_start_position("end"), start_position::end());
  EXPECT_EQ(*parse_start_position("42"), start_position::at(spate::offset(42)));
  EXPECT_EQ(*parse_start_position("@1700000000000"),
            start_position::at_time(timestamp_ms(1700000000000)));
  EXPECT_EQ(*parse_start_position("-5"), start_position::last(5));
  for (auto bad : {"", "@", "@x", "-0", "-", "12x", "start", "--1", "1.5"}) {
    auto r = parse_start_position(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument)) << bad;
  }
}

TEST(client_admin, merge_overrides_keeps_other_topic_overrides) {
  std::vector<config_entry> current = {
      {"retention.ms", "1000", "DYNAMIC_TOPIC_CONFIG", false, false, false},
      {"segment.bytes", "1048576", "DYNAMIC_TOPIC_CONFIG", false, false, false},
      {"cleanup.policy", "delete", "DEFAULT_CONFIG", true, false, false},
  };
  auto merged = merge_overrides(current, {{"retention.ms", "2000"}, {"max.message.bytes", "10"}},
                                {"segment.bytes"});
  std::map<std::string, std::string> want = {{"retention.ms", "2000"}, {"max.message.bytes", "10"}};
  EXPECT_EQ(merged, want);
}

}  // namespace
}  // namespace spate::client
