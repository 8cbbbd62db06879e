#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <cstring>
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

// The hardware path joins three interleaved chains for inputs of 3 KiB and more; lengths around
// each block boundary, unaligned starts and a non-zero starting CRC must all agree.
TEST(crc32c, interleaved_chains_agree_at_every_block_boundary) {
  std::mt19937 rng(11);
  byte_buffer data(200'000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  std::vector<size_t> lengths;
  for (size_t edge : {3 * 1024, 3 * 8192, 6 * 8192, 3 * 8192 + 3 * 1024}) {
    for (size_t d = 0; d < 17; ++d) {
      lengths.push_back(edge - 8 + d);
    }
  }
  for (int i = 0; i < 100; ++i) lengths.push_back(rng() % 150'000);
  for (size_t len : lengths) {
    for (size_t start : {0, 1, 5}) {
      bytes_view v = bytes_view(data).subspan(start, len);
      uint32_t seed = static_cast<uint32_t>(rng());
      EXPECT_EQ(crc32c::extend(seed, v), crc32c::extend_portable(seed, v)) << len << "@" << start;
    }
  }
}

#if defined(__x86_64__)
// A carry-less product of two quadwords, in software.
std::pair<uint64_t, uint64_t> clmul(uint64_t a, uint64_t b) {
  uint64_t lo = 0;
  uint64_t hi = 0;
  for (int i = 0; i < 64; ++i) {
    if ((b >> i) & 1) {
      lo ^= a << i;
      if (i > 0) hi ^= a >> (64 - i);
    }
  }
  return {lo, hi};
}

// The folding constants, checked on any x86 CPU with a software multiply: a 16-byte block
// folded `bytes` further on must have the CRC of the block followed by that many zero bytes
// (both from a zero register, the linearity the folding rests on).
TEST(crc32c, fold_constants_move_a_block_by_their_distance) {
  std::mt19937_64 rng(17);
  for (uint64_t bytes : {16, 32, 48, 64, 256}) {
    auto k = crc32c::fold_constants_for(bytes);
    for (int round = 0; round < 20; ++round) {
      uint64_t lo = rng();
      uint64_t hi = rng();
      auto [a0, a1] = clmul(lo, k.for_low);
      auto [b0, b1] = clmul(hi, k.for_high);
      byte_buffer block(16);
      byte_buffer folded(16);
      std::memcpy(block.data(), &lo, 8);
      std::memcpy(block.data() + 8, &hi, 8);
      uint64_t f0 = a0 ^ b0;
      uint64_t f1 = a1 ^ b1;
      std::memcpy(folded.data(), &f0, 8);
      std::memcpy(folded.data() + 8, &f1, 8);
      byte_buffer moved = block;
      moved.resize(16 + bytes, 0);
      // extend(~0, m) is ~(the register after m from zero): compare those.
      EXPECT_EQ(crc32c::extend_portable(~0u, folded), crc32c::extend_portable(~0u, moved))
          << bytes << " bytes, round " << round;
    }
  }
}
#endif

// The folding path (AVX-512 VPCLMULQDQ) takes 256 bytes and more: it must agree with the
// table at every length around its steps (256-byte blocks, 16-byte tail blocks, the last
// 8 and 1 bytes), from unaligned starts and any starting CRC. Skipped where the CPU lacks
// it (the constants are checked above on any x86 CPU).
TEST(crc32c, folding_agrees_with_the_table_at_every_length_and_start) {
  std::mt19937 rng(13);
  byte_buffer data(40'000);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  if (!crc32c::extend_folded(0, data)) GTEST_SKIP() << "no AVX-512 VPCLMULQDQ on this CPU";
  auto under_test = [&](uint32_t seed, bytes_view v) { return *crc32c::extend_folded(seed, v); };
  for (size_t len = 0; len < 1300; ++len) {
    size_t start = rng() % 64;
    uint32_t seed = static_cast<uint32_t>(rng());
    bytes_view v = bytes_view(data).subspan(start, len);
    ASSERT_EQ(under_test(seed, v), crc32c::extend_portable(seed, v)) << len << "@" << start;
  }
  for (int i = 0; i < 200; ++i) {
    size_t len = rng() % 39'000;
    size_t start = rng() % 1000;
    uint32_t seed = i % 2 ? 0 : static_cast<uint32_t>(rng());
    bytes_view v = bytes_view(data).subspan(start, len);
    ASSERT_EQ(under_test(seed, v), crc32c::extend_portable(seed, v)) << len << "@" << start;
  }
  // Runs of zeros and of ones, besides the random bytes above.
  byte_buffer zeros(4096, 0x00);
  byte_buffer ones(4096, 0xff);
  EXPECT_EQ(under_test(0, zeros), crc32c::extend_portable(0, zeros));
  EXPECT_EQ(under_test(0, ones), crc32c::extend_portable(0, ones));
}

}  // namespace
}  // namespace spate
