#include "observe/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <thread>
#include <vector>

namespace spate::observe {
namespace {

TEST(log, parses_every_level_name) {
  EXPECT_EQ(*parse_log_level("trace"), spdlog::level::trace);
  EXPECT_EQ(*parse_log_level("debug"), spdlog::level::debug);
  EXPECT_EQ(*parse_log_level("info"), spdlog::level::info);
  EXPECT_EQ(*parse_log_level("warn"), spdlog::level::warn);
  EXPECT_EQ(*parse_log_level("error"), spdlog::level::err);
  EXPECT_EQ(*parse_log_level("critical"), spdlog::level::critical);
  EXPECT_EQ(*parse_log_level("off"), spdlog::level::off);
}

TEST(log, unknown_level_is_an_error_and_changes_nothing) {
  ASSERT_TRUE(set_log_level("warn"));
  for (std::string_view bad : {"verbose", "INFO", "", "warning"}) {
    auto s = set_log_level(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code, std::errc::invalid_argument);
    EXPECT_NE(s.error().detail.find("'" + std::string(bad) + "'"), std::string::npos);
  }
  EXPECT_EQ(spdlog::get_level(), spdlog::level::warn);
  ASSERT_TRUE(set_log_level("info"));
}

TEST(log, named_logger_is_created_once_and_follows_the_global_level) {
  std::vector<std::shared_ptr<spdlog::logger>> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] { seen[t] = logger("observe_test"); });
  }
  for (auto& t : threads) t.join();
  for (auto& l : seen) EXPECT_EQ(l, seen[0]);
  EXPECT_EQ(seen[0]->name(), "observe_test");
  EXPECT_EQ(spdlog::get("observe_test"), seen[0]);

  ASSERT_TRUE(set_log_level("debug"));
  EXPECT_EQ(seen[0]->level(), spdlog::level::debug);
  EXPECT_EQ(logger("observe_test_later")->level(), spdlog::level::debug);
  ASSERT_TRUE(set_log_level("info"));
  EXPECT_EQ(seen[0]->level(), spdlog::level::info);
}

}  // namespace
}  // namespace spate::observe
