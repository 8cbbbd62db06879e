#include "storage/record_batch.h"

#include <gtest/gtest.h>

#include "storage/batch_writer.h"
#include "storage/errc.h"
#include "support/batch_builder.h"

namespace spate::storage {
namespace {

const timestamp_ms now(1'700'000'000'000);

TEST(record_batch, valid_batch_passes_and_header_reads_back) {
  auto b = test::batch_builder()
               .add("k1", "v1", now.value)
               .add("k2", std::nullopt, now.value + 5)
               .build();
  auto info = validate_batch(b, {}, now);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->header.records_count, 2);
  EXPECT_EQ(info->header.last_offset_delta, 1);
  EXPECT_EQ(info->header.base_timestamp, now);
  EXPECT_EQ(info->header.max_timestamp, timestamp_ms(now.value + 5));
  EXPECT_EQ(info->header.producer_id, -1);
  EXPECT_EQ(info->size, b.size());
}

TEST(record_batch, records_decode_with_offsets_and_timestamps) {
  auto b = test::batch_builder().add("a", "1", 100).add(std::nullopt, "2", 150).build();
  set_base_offset(b, offset(40));
  std::vector<record_view> seen;
  ASSERT_TRUE(for_each_record(b, [&](const record_view& r) {
    seen.push_back(r);
    return true;
  }));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].off, offset(40));
  EXPECT_EQ(seen[1].off, offset(41));
  EXPECT_EQ(seen[1].timestamp, timestamp_ms(150));
  EXPECT_EQ(as_string_view(*seen[0].key), "a");
  EXPECT_FALSE(seen[1].key.has_value());
}

TEST(record_batch, base_offset_is_outside_the_crc) {
  auto b = test::make_batch(3, 10);
  set_base_offset(b, offset(123456));
  EXPECT_TRUE(validate_batch(b, {}, now));
}

TEST(record_batch, each_defect_has_its_own_error) {
  auto good = test::make_batch(2, 10);
  auto expect = [](byte_buffer b, errc code, batch_limits limits = {}) {
    auto r = validate_batch(b, limits, now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(code)) << r.error().message();
  };
  expect(byte_buffer(good.begin(), good.begin() + 40), errc::batch_too_small);
  {
    auto b = good;
    b.push_back(0);  // trailing byte: length field no longer matches
    expect(b, errc::batch_length_mismatch);
  }
  {
    auto b = good;
    b[16] = 1;
    test::reseal(b);
    expect(b, errc::unsupported_magic);
  }
  {
    auto b = good;
    b.back() ^= 0xff;
    expect(b, errc::corrupt_batch);
  }
  {
    auto b = good;
    store_be<int32_t>(b.data() + 57, 5);
    test::reseal(b);
    expect(b, errc::invalid_record_count);
  }
  {
    auto b = good;
    store_be<uint16_t>(b.data() + 21, 0x20);  // control
    test::reseal(b);
    expect(b, errc::control_batch_not_allowed);
  }
  {
    auto b = good;
    store_be<uint16_t>(b.data() + 21, 7);  // codec 7
    test::reseal(b);
    expect(b, errc::unsupported_compression);
  }
  {
    auto b = good;
    store_be<int64_t>(b.data() + 35, 1);  // max timestamp before base timestamp
    test::reseal(b);
    expect(b, errc::invalid_timestamp);
  }
  {
    batch_limits limits;
    limits.max_timestamp_difference_ms = 1000;
    auto b = test::make_batch(1, 1, now.value - 5000);
    expect(b, errc::invalid_timestamp, limits);
  }
  {
    batch_limits limits;
    limits.max_batch_bytes = good.size() - 1;
    expect(good, errc::batch_too_large, limits);
  }
  {
    // A record whose length runs past the batch.
    auto b = good;
    b[61] = 0x7e;  // varint 63
    test::reseal(b);
    expect(b, errc::invalid_records);
  }
}

TEST(record_batch, max_timestamp_must_be_the_records_maximum) {
  // The header claims 1000 while a record says 5000: the time index would lie.
  auto b = test::batch_builder().add("a", "1", 1000).add("b", "2", 5000).build();
  store_be<int64_t>(b.data() + 35, 1000);
  test::reseal(b);
  auto r = validate_batch(b, {}, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_timestamp));
}

TEST(record_batch, every_record_timestamp_is_checked_against_the_window) {
  batch_limits limits;
  limits.max_timestamp_difference_ms = 1000;
  auto b = test::batch_builder()
               .add("a", "1", now.value)
               .add("b", "2", now.value - 5000)
               .add("c", "3", now.value)
               .build();
  auto r = validate_batch(b, limits, now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, make_error_code(errc::invalid_timestamp));
}

// Regressions found by fuzz_batch_validator: signed overflow in timestamp arithmetic.
TEST(record_batch, extreme_timestamps_are_rejected_without_overflow) {
  batch_limits limits;
  limits.max_timestamp_difference_ms = 1000;
  auto far = test::batch_builder().add(test::test_record{"a", "1", {}, INT64_MIN + 5}).build();
  auto r = validate_batch(far, limits, now);
  ASSERT_FALSE(r);
  // A record whose delta pushes base + delta past INT64_MAX.
  auto b = test::batch_builder().add("a", "1", INT64_MAX - 1).add("b", "2", INT64_MAX - 1).build();
  store_be<int64_t>(b.data() + 27, INT64_MAX - 1);
  b[61 + 2] = 0x04;  // first record's timestampDelta varlong: +2, past INT64_MAX
  test::reseal(b);
  auto o = validate_batch(b, {}, now);
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, make_error_code(errc::invalid_records)) << o.error().message();
}

TEST(batch_writer, builds_batches_that_validate_and_read_back) {
  batch_writer w(now);
  w.add(as_bytes("k1"), as_bytes("v1"));
  w.add(as_bytes("k2"), std::nullopt);  // tombstone
  auto b = w.finish();
  auto info = validate_batch(b, {}, now);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->header.records_count, 2);
  std::vector<std::pair<std::string, bool>> seen;
  ASSERT_TRUE(for_each_record(b, [&](const record_view& r) {
    seen.emplace_back(std::string(as_string_view(*r.key)), r.value.has_value());
    return true;
  }));
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, bool>>{{"k1", true}, {"k2", false}}));
}

TEST(record_batch, compressed_batches_validate_and_keep_their_codec) {
  auto b = test::batch_builder().codec(4).add("k", "v").build();
  auto r = validate_batch(b, {}, now);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->header.codec(), compression::zstd);
}

TEST(record_batch, log_append_time_rewrites_max_timestamp_and_crc) {
  auto b = test::make_batch(2, 4, 1000);
  set_log_append_time(b, timestamp_ms(99999));
  auto r = validate_batch(b, {}, now);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header.max_timestamp, timestamp_ms(99999));
  EXPECT_TRUE(r->header.attributes & batch_attributes::timestamp_log_append);
}

}  // namespace
}  // namespace spate::storage
