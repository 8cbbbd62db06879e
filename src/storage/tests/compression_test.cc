// Compressed record batches: storage/compression.h decodes what the real codecs write (in the
// framings Kafka clients use), validate_batch and for_each_record read the records inside,
// and corrupt or over-large payloads are clean errors.
#include "storage/compression.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "storage/errc.h"
#include "storage/record_batch.h"
#include "support/batch_builder.h"
#include "support/compress.h"

namespace spate::storage {
namespace {

namespace bl = batch_layout;
const timestamp_ms now(1'700'000'000'000);

struct codec_case {
  int id;
  test::snappy_framing framing = test::snappy_framing::xerial;
  const char* name;
};

const codec_case all_codecs[] = {{1, test::snappy_framing::xerial, "gzip"},
                                 {2, test::snappy_framing::xerial, "snappy"},
                                 {2, test::snappy_framing::raw, "snappy"},
                                 {3, test::snappy_framing::xerial, "lz4"},
                                 {4, test::snappy_framing::xerial, "zstd"}};

std::string label(const codec_case& c) {
  return std::string(c.name) +
         (c.id == 2 && c.framing == test::snappy_framing::raw ? " (raw)" : "");
}

byte_buffer sample(size_t n) {
  byte_buffer b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>((i * 7) % 251 ^ (i >> 9));
  return b;
}

// A batch of `n` records (key k<i>, value of 50 bytes, timestamps base + 10 i).
byte_buffer records_batch(const codec_case& c, int n, int64_t base = now.value) {
  test::batch_builder b;
  b.codec(c.id, c.framing);
  for (int i = 0; i < n; ++i) {
    b.add("k" + std::to_string(i), std::string(50, static_cast<char>('a' + i % 26)), base + 10 * i);
  }
  return b.build();
}

// Rewrites the body of `batch` (after the header) and fixes batchLength and the CRC.
void replace_body(byte_buffer& batch, const byte_buffer& body) {
  batch.resize(bl::header_size);
  append_bytes(batch, body);
  store_be<int32_t>(batch.data() + bl::batch_length,
                    static_cast<int32_t>(batch.size() - bl::length_field_end));
  test::reseal(batch);
}

TEST(compression, every_codec_round_trips) {
  for (const auto& c : all_codecs) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, size_t{300'000}}) {
      SCOPED_TRACE(label(c) + ", " + std::to_string(n) + " bytes");
      auto raw = sample(n);
      if (n == 0 && c.id == 2 && c.framing == test::snappy_framing::xerial) continue;
      auto packed = test::compress(c.id, raw, c.framing, 4096);
      auto out = decompress(static_cast<compression>(c.id), packed, 0);
      ASSERT_TRUE(out) << out.error().message();
      EXPECT_TRUE(*out == raw);
    }
  }
}

TEST(compression, a_size_hint_only_sizes_the_first_allocation) {
  auto raw = sample(100'000);
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    auto packed = test::compress(c.id, raw, c.framing);
    for (size_t hint : {size_t{1}, size_t{100'000}, size_t{10'000'000}}) {
      auto out = decompress(static_cast<compression>(c.id), packed, hint);
      ASSERT_TRUE(out) << out.error().message();
      EXPECT_TRUE(*out == raw);
    }
  }
}

TEST(compression, concatenated_gzip_members_and_zstd_frames_are_read_whole) {
  auto a = sample(1000);
  auto b = sample(3000);
  byte_buffer both = a;
  append_bytes(both, b);
  for (int id : {1, 3, 4}) {
    auto packed = test::compress(id, a);
    append_bytes(packed, test::compress(id, b));
    auto out = decompress(static_cast<compression>(id), packed, 0);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_TRUE(*out == both) << id;
  }
}

TEST(compression, corrupt_and_truncated_payloads_are_invalid_records) {
  auto raw = sample(20'000);
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    auto packed = test::compress(c.id, raw, c.framing);
    auto codec = static_cast<compression>(c.id);
    auto expect_invalid = [&](bytes_view payload, const std::string& what) {
      auto out = decompress(codec, payload, 0);
      ASSERT_FALSE(out) << what << " decompressed";
      EXPECT_EQ(out.error().code, make_error_code(errc::invalid_records)) << what;
      EXPECT_NE(out.error().detail.find(c.name), std::string::npos) << out.error().detail;
    };
    expect_invalid({}, "an empty payload");
    expect_invalid(bytes_view(packed).first(packed.size() / 2), "half the payload");
    expect_invalid(bytes_view(packed).first(packed.size() - 1), "all but the last byte");
    byte_buffer garbage(packed.size(), 0xA5);
    expect_invalid(garbage, "garbage");
  }
}

TEST(compression, random_damage_never_crashes) {
  std::mt19937_64 rng(7);
  auto raw = sample(5000);
  for (const auto& c : all_codecs) {
    auto packed = test::compress(c.id, raw, c.framing);
    for (int round = 0; round < 300; ++round) {
      auto bad = packed;
      int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f)
        bad[rng() % bad.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
      auto out = decompress(static_cast<compression>(c.id), bad, 0, 1 << 20);
      if (!out)
        EXPECT_EQ(out.error().code, make_error_code(errc::invalid_records));
      else
        EXPECT_LE(out->size(), size_t{1} << 20);
    }
  }
}

TEST(compression, a_decompression_bomb_is_an_error_not_an_allocation) {
  // 80 MiB of zeros packs into a few KiB with every codec; the default ceiling is 64 MiB.
  byte_buffer zeros(size_t{80} << 20, 0);
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    auto packed = test::compress(c.id, zeros, c.framing, size_t{4} << 20);
    EXPECT_LT(packed.size(), size_t{8} << 20);
    auto out = decompress(static_cast<compression>(c.id), packed, 0);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code, make_error_code(errc::invalid_records));
    EXPECT_NE(out.error().detail.find("more than"), std::string::npos) << out.error().detail;
    // A lower ceiling applies just as well.
    auto small = decompress(static_cast<compression>(c.id),
                            test::compress(c.id, sample(10'000), c.framing), 0, 4096);
    ASSERT_FALSE(small);
    EXPECT_EQ(small.error().code, make_error_code(errc::invalid_records));
  }
}

TEST(compression, unknown_codec_is_unsupported) {
  auto out = decompress(static_cast<compression>(5), sample(10), 0);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code, make_error_code(errc::unsupported_compression));
}

// --- Compressed batches ----------------------------------------------------------------------

TEST(compressed_batch, validates_and_iterates_every_record_for_every_codec) {
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    auto b = records_batch(c, 40);
    const byte_buffer sent = b;
    auto info = validate_batch(b, {}, now);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(info->header.codec(), static_cast<compression>(c.id));
    EXPECT_EQ(info->header.records_count, 40);
    EXPECT_EQ(info->size, b.size());
    EXPECT_TRUE(b == sent) << "validation changed the batch";
    // The body really is compressed: 40 records of 50 repeated bytes shrink.
    EXPECT_LT(b.size(), size_t{40} * 50);
    int i = 0;
    ASSERT_TRUE(for_each_record(b, [&](const record_view& r) {
      EXPECT_EQ(r.off, offset(i));
      EXPECT_EQ(r.timestamp, timestamp_ms(now.value + 10 * i));
      EXPECT_EQ(as_string_view(*r.key), "k" + std::to_string(i));
      EXPECT_EQ(r.value->size(), 50u);
      ++i;
      return true;
    }));
    EXPECT_EQ(i, 40);
    // Early stop.
    int seen = 0;
    ASSERT_TRUE(for_each_record(b, [&](const record_view&) { return ++seen < 3; }));
    EXPECT_EQ(seen, 3);
  }
}

TEST(compressed_batch, corrupt_payload_is_invalid_records_with_a_detail) {
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    auto b = records_batch(c, 10);
    byte_buffer body(b.begin() + bl::header_size, b.end());
    body.resize(body.size() / 2);
    replace_body(b, body);  // a valid CRC over a truncated payload
    auto r = validate_batch(b, {}, now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_records));
    EXPECT_NE(r.error().message().find(c.name), std::string::npos) << r.error().message();
    EXPECT_FALSE(for_each_record(b, [](const record_view&) { return true; }));
  }
}

TEST(compressed_batch, record_count_framing_and_max_timestamp_are_checked_inside) {
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    {
      // The header claims one record fewer than the payload holds.
      auto b = records_batch(c, 3);
      store_be<int32_t>(b.data() + bl::records_count, 2);
      store_be<int32_t>(b.data() + bl::last_offset_delta, 1);
      test::reseal(b);
      auto r = validate_batch(b, {}, now);
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, make_error_code(errc::invalid_records)) << r.error().message();
    }
    {
      // One record more than the payload holds.
      auto b = records_batch(c, 3);
      store_be<int32_t>(b.data() + bl::records_count, 4);
      store_be<int32_t>(b.data() + bl::last_offset_delta, 3);
      test::reseal(b);
      auto r = validate_batch(b, {}, now);
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, make_error_code(errc::invalid_records)) << r.error().message();
    }
    {
      // maxTimestamp is not the records' maximum.
      auto b = records_batch(c, 3);
      store_be<int64_t>(b.data() + bl::max_timestamp, now.value + 1000);
      test::reseal(b);
      auto r = validate_batch(b, {}, now);
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, make_error_code(errc::invalid_timestamp)) << r.error().message();
    }
    {
      // A record timestamp outside the window, although the header's are inside it.
      test::batch_builder bb;
      bb.codec(c.id, c.framing).add("a", "1", now.value).add("b", "2", now.value + 5000);
      bb.add("c", "3", now.value + 10);
      auto b = bb.build();
      batch_limits limits;
      limits.max_timestamp_difference_ms = 4000;
      store_be<int64_t>(b.data() + bl::max_timestamp, now.value + 10);
      test::reseal(b);
      auto r = validate_batch(b, limits, now);
      ASSERT_FALSE(r);
      EXPECT_EQ(r.error().code, make_error_code(errc::invalid_timestamp)) << r.error().message();
    }
  }
}

TEST(compressed_batch, records_past_the_decompression_ceiling_are_rejected) {
  for (const auto& c : all_codecs) {
    SCOPED_TRACE(label(c));
    auto b = records_batch(c, 200);  // about 12 KiB of records
    batch_limits limits;
    limits.max_decompressed_bytes = 4096;
    auto r = validate_batch(b, limits, now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_records));
    EXPECT_TRUE(validate_batch(b, {}, now));
  }
}

TEST(compressed_batch, a_bomb_in_a_small_batch_is_rejected) {
  // One record whose 80 MiB value compresses to a few KiB: within max_batch_bytes, over the
  // decompression ceiling.
  for (int id : {1, 4}) {
    test::batch_builder bb;
    bb.codec(id).add("k", std::string(size_t{80} << 20, 'z'), now.value);
    auto b = bb.build();
    ASSERT_LT(b.size(), batch_limits{}.max_batch_bytes);
    auto r = validate_batch(b, {}, now);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_records)) << r.error().message();
  }
}

TEST(compressed_batch, iteration_rejects_an_unknown_codec) {
  auto b = records_batch(all_codecs[0], 2);
  store_be<uint16_t>(b.data() + bl::attributes, 6);
  test::reseal(b);
  auto st = for_each_record(b, [](const record_view&) { return true; });
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, make_error_code(errc::unsupported_compression));
}

}  // namespace
}  // namespace spate::storage
