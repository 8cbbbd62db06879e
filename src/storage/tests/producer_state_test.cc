#include "storage/producer_state.h"

#include <gtest/gtest.h>

#include "storage/errc.h"

namespace spate::storage {
namespace {

// The header of a batch of `n` records from producer `pid` starting at `seq`, placed at `base`.
batch_header header(int64_t pid, int16_t epoch, int32_t seq, int32_t n, int64_t base = 0,
                    int64_t ts = 1000) {
  batch_header h;
  h.producer_id = pid;
  h.producer_epoch = epoch;
  h.base_sequence = seq;
  h.last_offset_delta = n - 1;
  h.records_count = n;
  h.base_offset = offset(base);
  h.max_timestamp = timestamp_ms(ts);
  h.magic = 2;
  return h;
}

errc code_of(const result<producer_check>& r) {
  return static_cast<errc>(r.error().code.value());
}

TEST(producer_state_test, non_idempotent_batches_are_never_checked) {
  producer_state s;
  // kafkajs writes epoch 0 / sequence 0 with producer id -1: not idempotent.
  for (int i = 0; i < 3; ++i) {
    auto c = s.check(header(-1, 0, 0, 1));
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->duplicate);
    s.record(header(-1, 0, 0, 1, i));
  }
  EXPECT_EQ(s.size(), 0u);
}

TEST(producer_state_test, in_sequence_batches_are_accepted_and_a_gap_is_refused) {
  producer_state s;
  ASSERT_TRUE(s.check(header(7, 0, 0, 3)));
  s.record(header(7, 0, 0, 3, 0));
  ASSERT_TRUE(s.check(header(7, 0, 3, 2)));
  s.record(header(7, 0, 3, 2, 3));
  auto gap = s.check(header(7, 0, 6, 1));
  ASSERT_FALSE(gap);
  EXPECT_EQ(code_of(gap), errc::out_of_order_sequence);
  auto behind = s.check(header(7, 0, 4, 1));  // overlaps, matches no batch
  ASSERT_FALSE(behind);
  EXPECT_EQ(code_of(behind), errc::out_of_order_sequence);
}

TEST(producer_state_test, duplicate_of_any_of_the_last_five_batches_returns_its_offsets) {
  producer_state s;
  int64_t base = 100;
  for (int i = 0; i < 7; ++i) {
    s.record(header(1, 0, i * 2, 2, base));
    base += 2;
  }
  // Batches 2..6 (sequences 4..13) are cached; batch 1 (sequences 2..3) has been evicted.
  for (int i = 2; i < 7; ++i) {
    auto c = s.check(header(1, 0, i * 2, 2));
    ASSERT_TRUE(c) << i;
    ASSERT_TRUE(c->duplicate) << i;
    EXPECT_EQ(c->duplicate->first_offset, offset(100 + i * 2));
    EXPECT_EQ(c->duplicate->last_offset, offset(101 + i * 2));
  }
  auto evicted = s.check(header(1, 0, 2, 2));
  ASSERT_FALSE(evicted);
  EXPECT_EQ(code_of(evicted), errc::out_of_order_sequence);
  // Same first sequence, different length: not a duplicate.
  auto other = s.check(header(1, 0, 12, 1));
  EXPECT_FALSE(other);
}

TEST(producer_state_test, epochs_fence_older_and_restart_numbering) {
  producer_state s;
  s.record(header(5, 3, 0, 1, 0));
  s.record(header(5, 3, 1, 1, 1));
  auto old = s.check(header(5, 2, 2, 1));
  ASSERT_FALSE(old);
  EXPECT_EQ(code_of(old), errc::invalid_producer_epoch);
  auto bad_start = s.check(header(5, 4, 2, 1));
  ASSERT_FALSE(bad_start);
  EXPECT_EQ(code_of(bad_start), errc::out_of_order_sequence);
  ASSERT_TRUE(s.check(header(5, 4, 0, 1)));
  s.record(header(5, 4, 0, 1, 2));
  // The old epoch is now fenced even for a batch that was a duplicate before.
  auto fenced = s.check(header(5, 3, 1, 1));
  ASSERT_FALSE(fenced);
  EXPECT_EQ(code_of(fenced), errc::invalid_producer_epoch);
}

TEST(producer_state_test, sequences_wrap_at_int32_max) {
  producer_state s;
  s.record(header(9, 0, INT32_MAX - 1, 2, 0));  // INT32_MAX-1, INT32_MAX
  EXPECT_EQ(last_sequence_of(INT32_MAX - 1, 1), INT32_MAX);
  EXPECT_EQ(last_sequence_of(INT32_MAX, 2), 1);
  ASSERT_TRUE(s.check(header(9, 0, 0, 3)));
  s.record(header(9, 0, 0, 3, 2));
  ASSERT_TRUE(s.check(header(9, 0, 3, 1)));
  auto wrong = s.check(header(9, 0, INT32_MAX, 1));
  EXPECT_FALSE(wrong);
}

TEST(producer_state_test, unknown_producer_may_start_anywhere) {
  producer_state s;
  auto c = s.check(header(11, 0, 500, 1));
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->duplicate);
}

TEST(producer_state_test, idempotent_batch_needs_a_sequence_and_an_epoch) {
  producer_state s;
  auto no_seq = s.check(header(3, 0, -1, 1));
  ASSERT_FALSE(no_seq);
  EXPECT_EQ(code_of(no_seq), errc::invalid_records);
  EXPECT_FALSE(s.check(header(3, -1, 0, 1)));
}

TEST(producer_state_test, remove_below_and_expire_forget_producers) {
  producer_state s;
  s.record(header(1, 0, 0, 1, 10, 1000));
  s.record(header(2, 0, 0, 1, 20, 5000));
  s.remove_below(offset(11));
  EXPECT_EQ(s.entries().count(1), 0u);
  EXPECT_EQ(s.entries().count(2), 1u);
  s.expire(5001);
  EXPECT_EQ(s.size(), 0u);
}

TEST(producer_state_test, snapshot_round_trips_and_rejects_corruption) {
  producer_state s;
  for (int i = 0; i < 8; ++i) s.record(header(i % 3, static_cast<int16_t>(i % 3), i, 1, i));
  auto bytes = s.serialize(offset(8));
  auto back = producer_state::load(bytes, offset(8));
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_EQ(back->size(), s.size());
  for (const auto& [pid, e] : s.entries()) {
    const auto& b = back->entries().at(pid);
    EXPECT_EQ(b.epoch, e.epoch);
    EXPECT_EQ(b.last_timestamp, e.last_timestamp);
    ASSERT_EQ(b.batches.size(), e.batches.size());
    for (size_t i = 0; i < e.batches.size(); ++i) {
      EXPECT_EQ(b.batches[i].first_sequence, e.batches[i].first_sequence);
      EXPECT_EQ(b.batches[i].first_offset, e.batches[i].first_offset);
      EXPECT_EQ(b.batches[i].last_offset, e.batches[i].last_offset);
    }
  }
  EXPECT_FALSE(producer_state::load(bytes, offset(9)));  // named for another offset
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] ^= 0x40;
    EXPECT_FALSE(producer_state::load(bad, offset(8))) << "flipped byte " << i;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(producer_state::load(bytes_view(bytes).first(n), offset(8))) << n;
  }
}

// Offsets a real snapshot cannot hold are corruption: a batch at or past the offset the
// snapshot was taken at, and an offset so near INT64_MAX that a batch's last offset would
// overflow (found by fuzz_producer_state; its input is in the fuzzer's corpus).
TEST(producer_state_test, snapshot_with_impossible_offsets_is_refused) {
  producer_state s;
  s.record(header(1, 0, 0, 1, 8));
  auto past = s.serialize(offset(8));
  EXPECT_FALSE(producer_state::load(past, offset(8)));
  EXPECT_TRUE(producer_state::load(s.serialize(offset(9)), offset(9)));
  const offset huge(INT64_MAX - 33);
  producer_state t;
  t.record(header(1, 0, 0, 1, INT64_MAX - 40));
  EXPECT_FALSE(producer_state::load(t.serialize(huge), huge));
  EXPECT_FALSE(producer_state::load(producer_state().serialize(offset(-1)), offset(-1)));
}

}  // namespace
}  // namespace spate::storage
