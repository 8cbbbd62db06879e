#include "base/varint.h"

#include <gtest/gtest.h>

#include <limits>

namespace spate {
namespace {

TEST(varint, zigzag_round_trip_and_known_encodings) {
  EXPECT_EQ(varint::zigzag_encode(0), 0u);
  EXPECT_EQ(varint::zigzag_encode(-1), 1u);
  EXPECT_EQ(varint::zigzag_encode(1), 2u);
  EXPECT_EQ(varint::zigzag_encode(-2), 3u);
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{300}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    EXPECT_EQ(varint::zigzag_decode(varint::zigzag_encode(v)), v);
  }
}

TEST(varint, encodes_300_as_protobuf_does) {
  byte_buffer out;
  varint::append_unsigned(out, 300);
  ASSERT_EQ(out, (byte_buffer{0xAC, 0x02}));
  auto d = varint::decode_unsigned(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->value, 300u);
  EXPECT_EQ(d->size, 2u);
  EXPECT_EQ(varint::unsigned_size(300), 2u);
}

TEST(varint, signed_round_trip_at_limits) {
  for (int64_t v : {int64_t{0}, int64_t{-64}, int64_t{63}, int64_t{1} << 40,
                    std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()}) {
    byte_buffer out;
    varint::append_signed(out, v);
    auto d = varint::decode_varlong(out);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->first, v);
    EXPECT_EQ(d->second, out.size());
  }
  byte_buffer out;
  varint::append_signed(out, std::numeric_limits<int32_t>::min());
  auto d = varint::decode_varint(out);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->first, std::numeric_limits<int32_t>::min());
}

TEST(varint, rejects_truncated_and_overlong_input) {
  EXPECT_FALSE(varint::decode_unsigned(byte_buffer{0x80, 0x80}));
  EXPECT_FALSE(varint::decode_unsigned(byte_buffer{}));
  byte_buffer eleven(11, 0x80);
  eleven.back() = 0x01;
  EXPECT_FALSE(varint::decode_unsigned(eleven));
  // A 32-bit varint may not use a sixth byte or overflow in the fifth.
  EXPECT_FALSE(varint::decode_varint(byte_buffer{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}));
  EXPECT_FALSE(varint::decode_varint(byte_buffer{0xff, 0xff, 0xff, 0xff, 0x7f}));
}

}  // namespace
}  // namespace spate
