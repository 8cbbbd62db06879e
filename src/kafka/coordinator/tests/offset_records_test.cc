#include "kafka/coordinator/offset_records.h"

#include <gtest/gtest.h>

#include <map>

#include "io/posix_filesystem.h"
#include "storage/log_cleaner.h"
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
  auto n = load_offsets(**log, gc, mono_clock::now());
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n->offsets, 5u);
  EXPECT_EQ(n->groups, 0u);
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

group_snapshot two_members() {
  group_snapshot g;
  g.group_id = "g";
  g.protocol_type = "consumer";
  g.generation_id = 7;
  g.protocol = "range";
  g.leader = "a-1";
  g.members.push_back({"a-1", "inst-a", "client-a", "/127.0.0.1", 300000, 45000,
                       byte_buffer{0, 1, 2}, byte_buffer{3, 4}});
  g.members.push_back({"b-2", std::nullopt, "client-b", "/127.0.0.2", 60000, 10000, {}, {}});
  return g;
}

TEST(offset_records, group_metadata_records_round_trip_and_replay_in_log_order) {
  auto g = two_members();
  // Round trip of the record itself.
  auto batch = encode_group(g, timestamp_ms(5000));
  bool seen = false;
  ASSERT_TRUE(storage::for_each_record(batch, [&](const storage::record_view& rec) {
    auto r = decode_group_record(*rec.key, rec.value);
    EXPECT_TRUE(r && r->value);
    if (r && r->value) {
      EXPECT_EQ(*r->value, g);
      EXPECT_EQ(r->state_timestamp_ms, 5000);
    }
    EXPECT_FALSE(decode_offset_record(*rec.key, rec.value));  // not an offset record
    seen = true;
    return true;
  }));
  EXPECT_TRUE(seen);

  test::temp_dir dir;
  io::posix_filesystem fs;
  storage::flusher flusher;
  {
    auto log = storage::partition_log::open(fs, dir / "__consumer_offsets-0", {}, flusher);
    ASSERT_TRUE(log);
    auto append = [&](byte_buffer b) { return (*log)->append_internal(b, timestamp_ms(5000)); };
    ASSERT_TRUE(append(batch));
    ASSERT_TRUE(append(
        encode_commit("g", {{{"t", 0}, committed_offset{10, -1, {}, 1}}}, timestamp_ms(5001))));
    // A group deleted, then its id used again by a new group with one offset.
    auto h = g;
    h.group_id = "h";
    ASSERT_TRUE(append(encode_group(h, timestamp_ms(5002))));
    ASSERT_TRUE(append(
        encode_commit("h", {{{"t", 0}, committed_offset{3, -1, {}, 1}}}, timestamp_ms(5003))));
    ASSERT_TRUE(append(encode_group_tombstone("h", timestamp_ms(5004))));
    ASSERT_TRUE(append(
        encode_commit("h", {{{"t", 1}, committed_offset{4, -1, {}, 1}}}, timestamp_ms(5005))));
  }
  auto log = storage::partition_log::open(fs, dir / "__consumer_offsets-0", {}, flusher);
  ASSERT_TRUE(log);
  group_coordinator gc({});
  auto now = mono_clock::now();
  auto n = load_offsets(**log, gc, now);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(n->groups, 3u);
  EXPECT_EQ(n->offsets, 3u);
  auto d = gc.describe("g");
  EXPECT_EQ(d.state, group_state::stable);
  EXPECT_EQ(d.generation_id, 7);
  EXPECT_EQ(d.protocol, "range");
  ASSERT_EQ(d.members.size(), 2u);
  EXPECT_EQ(d.members[0].member_id, "a-1");
  EXPECT_EQ(d.members[0].assignment, (byte_buffer{3, 4}));
  EXPECT_EQ(d.members[0].metadata, (byte_buffer{0, 1, 2}));
  EXPECT_EQ(gc.offsets("g", {})[topic_partition_key("t", 0)].offset, 10);
  EXPECT_FALSE(gc.heartbeat("g", "a-1", 7, std::string("inst-a"), now));
  auto h = gc.describe("h");
  EXPECT_EQ(h.state, group_state::empty);  // only the offset committed after the deletion
  EXPECT_EQ(h.generation_id, 0);
  auto ho = gc.offsets("h", {});
  ASSERT_EQ(ho.size(), 1u);
  EXPECT_EQ(ho.begin()->first, topic_partition_key("t", 1));
}

TEST(offset_records, malformed_group_records_are_ignored) {
  auto batch = encode_group(two_members(), timestamp_ms(1));
  ASSERT_TRUE(storage::for_each_record(batch, [&](const storage::record_view& rec) {
    bytes_view v = *rec.value;
    // Every truncation of the value is refused, never half applied.
    for (size_t len = 0; len < v.size(); ++len) {
      EXPECT_FALSE(decode_group_record(*rec.key, v.first(len))) << len;
    }
    // A member count far beyond the bytes left.
    byte_buffer huge(v.begin(), v.end());
    size_t count_at = 2 + 2 + 8 + 4 + 2 + 5 + 2 + 3 + 8;
    huge[count_at] = 0x7f;
    EXPECT_FALSE(decode_group_record(*rec.key, bytes_view(huge)));
    // An unknown value version.
    byte_buffer newer(v.begin(), v.end());
    newer[1] = 4;
    EXPECT_FALSE(decode_group_record(*rec.key, bytes_view(newer)));
    return true;
  }));
}

namespace compaction {

// What load_offsets restores, in a comparable form.
struct restored {
  std::map<topic_partition_key, int64_t> g_offsets;
  std::map<topic_partition_key, int64_t> h_offsets;
  int32_t g_generation = -1;
  size_t g_members = 0;
  bool operator==(const restored&) const = default;
};

restored load(storage::partition_log& log) {
  group_coordinator gc({});
  auto n = load_offsets(log, gc, mono_clock::now());
  EXPECT_TRUE(n) << n.error().message();
  restored r;
  for (auto& [tp, o] : gc.offsets("g", {})) r.g_offsets[tp] = o.offset;
  for (auto& [tp, o] : gc.offsets("h", {})) r.h_offsets[tp] = o.offset;
  auto d = gc.describe("g");
  r.g_generation = d.generation_id;
  r.g_members = d.members.size();
  return r;
}

}  // namespace compaction

// __consumer_offsets is compacted (docs/formats/compaction.md): the replay at start must give
// the same groups and offsets on the cleaned log as on the original one, and stay right once
// the tombstones are gone too.
TEST(offset_records, replay_gives_the_same_state_after_compaction) {
  test::temp_dir dir;
  io::posix_filesystem fs;
  storage::flusher flusher;
  storage::log_config cfg;
  cfg.cleanup_compact = true;
  cfg.cleanup_delete = false;
  cfg.retention_ms = -1;
  cfg.min_cleanable_dirty_ratio = 0;
  cfg.flush = storage::flush_policy::os;
  const int64_t t0 = 1'700'000'000'000;
  auto log = storage::partition_log::open(fs, dir / "__consumer_offsets-0", cfg, flusher);
  ASSERT_TRUE(log);
  auto& l = **log;
  auto append = [&](byte_buffer b) { ASSERT_TRUE(l.append_internal(b, timestamp_ms(t0))); };
  auto g = two_members();
  append(encode_group(g, timestamp_ms(t0)));
  auto h = g;
  h.group_id = "h";
  append(encode_group(h, timestamp_ms(t0)));
  for (int i = 0; i < 60; ++i) {
    append(encode_commit("g",
                         {{{"t", i % 3}, committed_offset{100 + i, -1, {}, t0}},
                          {{"u", 0}, committed_offset{i, -1, {}, t0}}},
                         timestamp_ms(t0)));
    append(encode_commit("h", {{{"t", i % 2}, committed_offset{i, -1, {}, t0}}}, timestamp_ms(t0)));
    if (i == 30) {
      g.generation_id = 8;
      append(encode_group(g, timestamp_ms(t0)));
    }
    if (i % 10 == 9) {
      ASSERT_TRUE(l.roll());
    }
  }
  // h is deleted as DeleteGroups does it: the group's tombstone, then its offsets'.
  append(encode_group_tombstone("h", timestamp_ms(t0)));
  append(
      encode_commit("h", {{{"t", 0}, std::nullopt}, {{"t", 1}, std::nullopt}}, timestamp_ms(t0)));
  ASSERT_TRUE(l.roll());
  append(encode_commit("g", {{{"t", 0}, committed_offset{999, -1, {}, t0}}}, timestamp_ms(t0)));

  auto before = compaction::load(l);
  EXPECT_EQ(before.g_generation, 8);
  EXPECT_TRUE(before.h_offsets.empty());
  uint64_t size = l.size_bytes();
  auto owner = [](const std::function<void()>& f) { f(); };
  auto pass = storage::clean_log(l, timestamp_ms(t0 + 1000), owner);
  ASSERT_TRUE(pass && *pass) << (pass ? "nothing to do" : pass.error().message());
  EXPECT_LT(l.size_bytes(), size / 4);
  EXPECT_EQ(compaction::load(l), before);
  // Tombstones removed a day later: h stays gone, g unchanged; and after a restart.
  append(encode_commit("g", {{{"t", 1}, committed_offset{1000, -1, {}, t0}}}, timestamp_ms(t0)));
  ASSERT_TRUE(l.roll());
  before.g_offsets[topic_partition_key("t", 1)] = 1000;
  pass = storage::clean_log(l, timestamp_ms(t0 + 25 * 3600 * 1000), owner);
  ASSERT_TRUE(pass && *pass);
  EXPECT_GT((*pass)->tombstones_removed, 0u);
  EXPECT_EQ(compaction::load(l), before);
  ASSERT_TRUE(l.close());
  log = storage::partition_log::open(fs, dir / "__consumer_offsets-0", cfg, flusher);
  ASSERT_TRUE(log);
  EXPECT_EQ(compaction::load(**log), before);
}

}  // namespace
}  // namespace spate::coordinator
