#include "kafka/coordinator/offset_records.h"

#include <gtest/gtest.h>

#include "io/posix_filesystem.h"
#include "support/temp_dir.h"

namespace spate::coordinator {
namespace {

TEST(offset_records, commits_survive_a_reopen_of_the_log_and_deletes_apply) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  storage::flusher flusher;
  {
    auto log = storage::partition_log::open(fs, dir / "__consumer_offsets-0", {}, flusher);
    ASSERT_TRUE(log);
    auto b1 = encode_commit("g",
                            {{{"t", 0}, committed_offset{10, 3, "meta", 111}},
                             {{"t", 1}, committed_offset{20, -1, std::nullopt, 112}}},
                            timestamp_ms(1000));
    ASSERT_TRUE((*log)->append_internal(b1, timestamp_ms(1000)));
    auto b2 =
        encode_commit("g", {{{"t", 0}, committed_offset{15, 3, {}, 113}}, {{"t", 1}, std::nullopt}},
                      timestamp_ms(1001));
    ASSERT_TRUE((*log)->append_internal(b2, timestamp_ms(1001)));
    auto other =
        encode_commit("h", {{{"u", 7}, committed_offset{1, -1, {}, 1}}}, timestamp_ms(1002));
    ASSERT_TRUE((*log)->append_internal(other, timestamp_ms(1002)));
  }
  auto log = storage::partition_log::open(fs, dir / "__consumer_offsets-0", {}, flusher);
  ASSERT_TRUE(log);
  group_coordinator gc({});
  auto n = load_offsets(**log, gc);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 5u);
  auto g = gc.offsets("g", {});
  ASSERT_EQ(g.size(), 1u);  // t-1 was deleted
  EXPECT_EQ(g[topic_partition_key("t", 0)].offset, 15);
  EXPECT_EQ(g[topic_partition_key("t", 0)].leader_epoch, 3);
  EXPECT_EQ(gc.offsets("h", {})[topic_partition_key("u", 7)].offset, 1);
}

TEST(offset_records, foreign_or_malformed_records_are_ignored) {
  EXPECT_FALSE(decode_offset_record(as_bytes("garbage"), std::nullopt));
  byte_buffer key{0, 1, 0, 1, 'g', 0, 1, 't', 0, 0, 0};  // partition truncated
  EXPECT_FALSE(decode_offset_record(key, std::nullopt));
}

}  // namespace
}  // namespace spate::coordinator
