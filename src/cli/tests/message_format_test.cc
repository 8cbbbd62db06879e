#include "cli/message_format.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/errc.h"

namespace spate::cli {
namespace {

client::message sample() {
  client::message m;
  m.topic = "orders";
  m.partition = partition_id(2);
  m.offset = spate::offset(41);
  m.timestamp = timestamp_ms(1700000000123);
  m.ts_type = client::timestamp_type::create_time;
  m.key = "k1";
  m.value = "hello";
  m.headers = {{"a", "1"}, {"b", std::nullopt}};
  return m;
}

TEST(cli_message_format, default_shows_every_field) {
  auto f = message_format::parse(default_message_format);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->render(sample()),
            "partition=2 offset=41 timestamp=1700000000123 key=k1 headers=a=1,b value=hello");
}

TEST(cli_message_format, placeholders_escapes_and_braces) {
  auto f = message_format::parse("{topic}/{partition}@{offset}\\t{key}\\n{{x}} \\q {value}");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(f->render(sample()), "orders/2@41\tk1\n{x} \\q hello");
  auto m = sample();
  m.key.reset();
  m.value.reset();
  EXPECT_EQ(message_format::parse("[{key}][{value}]")->render(m), "[][]");
}

TEST(cli_message_format, bad_templates_name_the_problem) {
  for (auto [spec, needle] :
       {std::pair{"{nope}", "unknown placeholder {nope}"}, std::pair{"{value", "unclosed '{'"},
        std::pair{"a}b", "unmatched '}'"}}) {
    auto f = message_format::parse(spec);
    ASSERT_FALSE(f) << spec;
    EXPECT_EQ(f.error().code, make_error_code(client::errc::invalid_argument));
    EXPECT_NE(f.error().message().find(needle), std::string::npos) << f.error().message();
  }
}

TEST(cli_message_format, json_keeps_nulls_and_order) {
  auto m = sample();
  m.key.reset();
  auto j = nlohmann::json::parse(to_json(m));
  EXPECT_EQ(j["topic"], "orders");
  EXPECT_EQ(j["partition"], 2);
  EXPECT_EQ(j["offset"], 41);
  EXPECT_EQ(j["timestamp"], 1700000000123);
  EXPECT_EQ(j["timestamp_type"], "create_time");
  EXPECT_TRUE(j["key"].is_null());
  EXPECT_EQ(j["value"], "hello");
  ASSERT_EQ(j["headers"].size(), 2u);
  EXPECT_EQ(j["headers"][0]["key"], "a");
  EXPECT_EQ(j["headers"][0]["value"], "1");
  EXPECT_TRUE(j["headers"][1]["value"].is_null());
  EXPECT_EQ(to_json(m).rfind("{\"topic\":", 0), 0u);  // fields in documented order
  m.value = std::string("\xff\xfe", 2);               // not UTF-8: replaced, not thrown
  EXPECT_NO_THROW(nlohmann::json::parse(to_json(m)));
}

}  // namespace
}  // namespace spate::cli
