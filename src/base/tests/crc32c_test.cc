#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <random>

namespace spate {
namespace {

TEST(crc32c, standard_check_value) {
  EXPECT_EQ(crc32c::value(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c::extend_portable(0, as_bytes("123456789")), 0xE3069283u);
}

TEST(crc32c, empty_input_is_zero) {
  EXPECT_EQ(crc32c::value({}), 0u);
}

// RFC 3720 (iSCSI) B.4 test vectors.
TEST(crc32c, rfc3720_vectors) {
  byte_buffer zeros(32, 0x00);
  byte_buffer ones(32, 0xff);
  byte_buffer inc(32);
  for (int i = 0; i < 32; ++i) inc[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(crc32c::value(zeros), 0x8A9136AAu);
  EXPECT_EQ(crc32c::value(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c::value(inc), 0x46DD794Eu);
}

TEST(crc32c, hardware_and_portable_agree_and_extend_composes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 200; ++round) {
    byte_buffer data(rng() % 5000);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    uint32_t whole = crc32c::value(data);
    EXPECT_EQ(whole, crc32c::extend_portable(0, data));
    size_t cut = data.empty() ? 0 : rng() % data.size();
    uint32_t part = crc32c::extend(0, bytes_view(data).first(cut));
    EXPECT_EQ(crc32c::extend(part, bytes_view(data).subspan(cut)), whole);
  }
}

}  // namespace
}  // namespace spate
