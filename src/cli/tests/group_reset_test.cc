#include "cli/group_reset.h"

#include <gtest/gtest.h>

namespace spate::cli {
namespace {

TEST(group_reset, topic_specs) {
  auto all = parse_topic_spec("orders");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->topic, "orders");
  EXPECT_TRUE(all->partitions.empty());
  auto some = parse_topic_spec("orders:0,2");
  ASSERT_TRUE(some);
  EXPECT_EQ(some->partitions, (std::vector<int32_t>{0, 2}));
  for (auto bad : {"", ":1", "orders:", "orders:a", "orders:1,,2", "orders:-1"}) {
    EXPECT_FALSE(parse_topic_spec(bad)) << bad;
  }
}

TEST(group_reset, iso_datetimes) {
  // 2023-11-14T22:13:20Z is 1700000000 s after the epoch.
  EXPECT_EQ(*parse_iso_datetime("2023-11-14T22:13:20Z"), 1700000000000);
  EXPECT_EQ(*parse_iso_datetime("2023-11-14T22:13:20"), 1700000000000);  // no zone: UTC
  EXPECT_EQ(*parse_iso_datetime("2023-11-14T22:13:20.5Z"), 1700000000500);
  EXPECT_EQ(*parse_iso_datetime("2023-11-14T22:13:20.123456Z"), 1700000000123);
  EXPECT_EQ(*parse_iso_datetime("2023-11-15T00:13:20+02:00"), 1700000000000);
  EXPECT_EQ(*parse_iso_datetime("2023-11-14T20:13:20-0200"), 1700000000000);
  EXPECT_EQ(*parse_iso_datetime("1970-01-01"), 0);
  EXPECT_EQ(*parse_iso_datetime("2024-02-29T00:00"), 1709164800000);  // leap day
  for (auto bad : {"", "yesterday", "2023-13-01", "2023-11-14T25:00:00", "2023-11-14T22:13:20Q",
                   "2023-11-14T22", "1700000000000"}) {
    EXPECT_FALSE(parse_iso_datetime(bad)) << bad;
  }
}

TEST(group_reset, new_offsets_are_clamped_to_the_log) {
  client::topic_partition tp{"t", 0};
  partition_position p{std::optional<int64_t>(50), 10, 100, std::optional<int64_t>(70)};
  using k = reset_target::kind;
  EXPECT_EQ(*new_offset({k::earliest, 0}, p, tp), 10);
  EXPECT_EQ(*new_offset({k::latest, 0}, p, tp), 100);
  EXPECT_EQ(*new_offset({k::offset, 42}, p, tp), 42);
  EXPECT_EQ(*new_offset({k::offset, 5}, p, tp), 10);
  EXPECT_EQ(*new_offset({k::offset, 500}, p, tp), 100);
  EXPECT_EQ(*new_offset({k::datetime, 0}, p, tp), 70);
  EXPECT_EQ(*new_offset({k::shift, -20}, p, tp), 30);
  EXPECT_EQ(*new_offset({k::shift, -45}, p, tp), 10);
  EXPECT_EQ(*new_offset({k::shift, 80}, p, tp), 100);
  p.at_time.reset();
  EXPECT_EQ(*new_offset({k::datetime, 0}, p, tp), 100);  // nothing that new: the end
  p.committed.reset();
  EXPECT_FALSE(new_offset({k::shift, 1}, p, tp));
}

TEST(group_reset, lag_seconds_is_the_oldest_unconsumed_records_age) {
  EXPECT_EQ(lag_seconds(0, 1000, 5000), 0.0);
  EXPECT_EQ(lag_seconds(3, 1000, 5500), 4.5);
  EXPECT_EQ(lag_seconds(3, 9000, 5000), 0.0);  // producer clock ahead
  EXPECT_EQ(lag_seconds(3, std::nullopt, 5000), 0.0);
}

}  // namespace
}  // namespace spate::cli
