#include "kafka/protocol/wire.h"

#include <gtest/gtest.h>

namespace spate::kafka {
namespace {

TEST(wire, primitives_round_trip_big_endian) {
  byte_buffer buf;
  writer w(buf);
  w.i8(-2);
  w.i16(0x0102);
  w.i32(-7);
  w.i64(0x0102030405060708);
  w.string("abc", false);
  w.nullable_string(std::nullopt, false);
  w.string("xy", true);
  w.nullable_string(std::nullopt, true);
  w.nullable_bytes(as_bytes("hi"), false);
  w.array_length(3, true);
  w.i8(1);
  w.i8(2);
  w.i8(3);
  EXPECT_EQ(buf[1], 0x01);
  EXPECT_EQ(buf[2], 0x02);
  reader r(buf);
  EXPECT_EQ(r.i8(), -2);
  EXPECT_EQ(r.i16(), 0x0102);
  EXPECT_EQ(r.i32(), -7);
  EXPECT_EQ(r.i64(), 0x0102030405060708);
  EXPECT_EQ(r.string(false), "abc");
  EXPECT_FALSE(r.nullable_string(false));
  EXPECT_EQ(r.string(true), "xy");
  EXPECT_FALSE(r.nullable_string(true));
  auto b = r.nullable_bytes(false);
  ASSERT_TRUE(b);
  EXPECT_EQ(as_string_view(*b), "hi");
  EXPECT_EQ(r.array_length(true), 3);
  EXPECT_EQ(r.i8() + r.i8() + r.i8(), 6);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(wire, truncation_fails_once_and_returns_zeroes) {
  byte_buffer buf{0x00, 0x05, 'a', 'b'};  // string of 5, only 2 bytes
  reader r(buf);
  EXPECT_EQ(r.string(false), "");
  EXPECT_FALSE(r.ok());
  EXPECT_STREQ(r.error(), "truncated");
  EXPECT_EQ(r.i32(), 0);
}

TEST(wire, hostile_array_length_is_refused_before_allocation) {
  byte_buffer buf{0x7f, 0xff, 0xff, 0xff, 0x00};
  reader r(buf);
  EXPECT_EQ(r.array_length(false), 0);
  EXPECT_FALSE(r.ok());
  byte_buffer neg{0xff, 0xff, 0xff, 0xfe};
  reader r2(neg);
  r2.array_length(false);
  EXPECT_FALSE(r2.ok());
}

TEST(wire, tagged_fields_are_skipped) {
  // Two tags: (0, 2 bytes), (5, 0 bytes), then an int8.
  byte_buffer buf{0x02, 0x00, 0x02, 0xaa, 0xbb, 0x05, 0x00, 0x7f};
  reader r(buf);
  r.skip_tagged_fields();
  EXPECT_EQ(r.i8(), 0x7f);
  EXPECT_TRUE(r.ok());
}

}  // namespace
}  // namespace spate::kafka
