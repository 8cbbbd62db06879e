#include "base/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#include <nmmintrin.h>
#endif

namespace spate::crc32c {
namespace {

constexpr uint32_t poly = 0x82F63B78u;

// tables[k][b]: CRC of byte b followed by k zero bytes (slicing-by-8).
constexpr std::array<std::array<uint32_t, 256>, 8> make_tables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}
constexpr auto tables = make_tables();

#if defined(__x86_64__)
// GF(2) product of a and b modulo the polynomial, in the reflected representation (bit 31 is
// x^0). Slow; only used to build the tables below.
uint32_t multiply_mod_poly(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31;
  uint32_t p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ poly : b >> 1;
  }
  return p;
}

// x^(8n) mod P: what a CRC register is multiplied by when n zero bytes pass through it.
uint32_t x_pow_8n(uint64_t n) {
  uint32_t result = 1u << 31;  // x^0
  uint32_t square = 1u << 23;  // x^8
  for (; n != 0; n >>= 1) {
    if (n & 1) result = multiply_mod_poly(square, result);
    square = multiply_mod_poly(square, square);
  }
  return result;
}

// Advancing a CRC register over n zero bytes is linear in the register, so it is four table
// lookups, one per register byte.
struct zeros_shift {
  std::array<std::array<uint32_t, 256>, 4> t;
  explicit zeros_shift(uint64_t n) {
    uint32_t k = x_pow_8n(n);
    for (uint32_t j = 0; j < 4; ++j) {
      for (uint32_t b = 0; b < 256; ++b) t[j][b] = multiply_mod_poly(k, b << (8 * j));
    }
  }
  uint32_t operator()(uint32_t x) const {
    return t[0][x & 0xff] ^ t[1][(x >> 8) & 0xff] ^ t[2][(x >> 16) & 0xff] ^ t[3][x >> 24];
  }
};

constexpr size_t big_block = 8192;
constexpr size_t small_block = 1024;
const zeros_shift shift_big(big_block);
const zeros_shift shift_small(small_block);

// Three crc32 chains over three consecutive blocks of `block` bytes, joined by linearity:
// crc(a·b) = shift_|b|(crc(a)) ^ crc_from_zero(b). One chain is bound by the instruction's
// 3-cycle latency (~8 GB/s here, 20 % of the broker's CPU under load: bench/RESULTS.md);
// three independent chains keep the unit busy every cycle.
template <size_t block>
__attribute__((target("sse4.2"))) uint64_t extend_three_way(uint64_t c0, const uint8_t*& p,
                                                            size_t& n, const zeros_shift& shift) {
  while (n >= 3 * block) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    for (size_t i = 0; i < block; i += 8) {
      uint64_t w0;
      uint64_t w1;
      uint64_t w2;
      std::memcpy(&w0, p + i, 8);
      std::memcpy(&w1, p + block + i, 8);
      std::memcpy(&w2, p + 2 * block + i, 8);
      c0 = _mm_crc32_u64(c0, w0);
      c1 = _mm_crc32_u64(c1, w1);
      c2 = _mm_crc32_u64(c2, w2);
    }
    c0 = shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1);
    c0 = shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c2);
    p += 3 * block;
    n -= 3 * block;
  }
  return c0;
}

// The register `c` taken over the last `n` bytes at `p` with the crc32 instruction, and the
// result inverted: the end of both hardware paths.
__attribute__((target("sse4.2"))) uint32_t finish_sse42(uint64_t c, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    c = _mm_crc32_u64(c, w);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
  return ~c32;
}

__attribute__((target("sse4.2"))) uint32_t extend_sse42(uint32_t crc, bytes_view data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint64_t c = static_cast<uint32_t>(~crc);
  c = extend_three_way<big_block>(c, p, n, shift_big);
  c = extend_three_way<small_block>(c, p, n, shift_small);
  return finish_sse42(c, p, n);
}

// x^e mod P for any e, in the 32-bit reflected representation.
uint32_t x_pow(uint64_t e) {
  return multiply_mod_poly(x_pow_8n(e / 8), 1u << (31 - e % 8));
}

// The constants that move a 128-bit block of the message `bytes` bytes further on (folding),
// for carry-less multiplication. A block loaded from memory is reflected (bit j is x^(127-j)):
// its low quadword holds the higher-degree half H of H·x^64 + L, and moved on by D bits it is
// H·x^(D+64) + L·x^D (mod P). Each power is reduced to 32 bits and placed in the top half of a
// 64-bit reflected quadword (bit 63 is x^0). The carry-less product of two reflected
// quadwords has x^(126-k) at bit k, which read as a reflected 128-bit block is one power of x
// more than the product: so each constant carries one power less.
fold_constants fold_by(uint64_t bytes) {
  uint64_t d = 8 * bytes;
  return {static_cast<uint64_t>(x_pow(d + 63)) << 32, static_cast<uint64_t>(x_pow(d - 1)) << 32};
}

const fold_constants fold_256 = fold_by(256);  // one lane to the same lane of the next 256 bytes
const fold_constants fold_64 = fold_by(64);    // one 512-bit register to the next
const fold_constants fold_48 = fold_by(48);    // the lanes of the last register onto its last
const fold_constants fold_32 = fold_by(32);
const fold_constants fold_16 = fold_by(16);

// Folding with carry-less multiplication (Intel's "Fast CRC computation for generic
// polynomials using PCLMULQDQ", 2009), 512 bits at a time: four registers of four 128-bit
// lanes each take in 256 bytes per step, every lane independent, so the multipliers stay busy:
// 50 GB/s at 1 KiB and 83 at 16 KiB here, against 8 and 20 for the three crc32 chains
// (bench/RESULTS.md, session 11). What is left at the end is one 128-bit value congruent to the
// message so far, whose CRC the crc32 instruction gives over its 16 bytes; the last few bytes go
// the same way.
#define SPATE_CRC_FOLD_TARGET __attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.2")))

SPATE_CRC_FOLD_TARGET inline __m512i fold_zmm(__m512i x, __m512i k, __m512i data) {
  return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                   _mm512_clmulepi64_epi128(x, k, 0x11), data, 0x96);
}

SPATE_CRC_FOLD_TARGET inline __m128i fold_xmm(__m128i x, const fold_constants& f, __m128i data) {
  __m128i k = _mm_set_epi64x(static_cast<long long>(f.for_high), static_cast<long long>(f.for_low));
  return _mm_ternarylogic_epi64(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11),
                                data, 0x96);
}

SPATE_CRC_FOLD_TARGET inline __m512i broadcast(const fold_constants& f) {
  return _mm512_maskz_broadcast_i32x4(0xffff, _mm_set_epi64x(static_cast<long long>(f.for_high),
                                                             static_cast<long long>(f.for_low)));
}

constexpr size_t fold_min_bytes = 256;

SPATE_CRC_FOLD_TARGET uint32_t extend_folded_impl(uint32_t crc, bytes_view data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  if (n < fold_min_bytes) return extend_sse42(crc, data);
  // The register's starting value joins the message's first four bytes (linearity).
  __m512i x0 = _mm512_xor_si512(_mm512_loadu_si512(p),
                                _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(~crc))));
  __m512i x1 = _mm512_loadu_si512(p + 64);
  __m512i x2 = _mm512_loadu_si512(p + 128);
  __m512i x3 = _mm512_loadu_si512(p + 192);
  p += 256;
  n -= 256;
  const __m512i k256 = broadcast(fold_256);
  while (n >= 256) {
    x0 = fold_zmm(x0, k256, _mm512_loadu_si512(p));
    x1 = fold_zmm(x1, k256, _mm512_loadu_si512(p + 64));
    x2 = fold_zmm(x2, k256, _mm512_loadu_si512(p + 128));
    x3 = fold_zmm(x3, k256, _mm512_loadu_si512(p + 192));
    p += 256;
    n -= 256;
  }
  const __m512i k64 = broadcast(fold_64);
  x1 = fold_zmm(x0, k64, x1);
  x2 = fold_zmm(x1, k64, x2);
  x3 = fold_zmm(x2, k64, x3);
  // The four lanes of x3 onto its last one.
  __m128i x = _mm512_maskz_extracti32x4_epi32(0xf, x3, 3);
  x = fold_xmm(_mm512_maskz_extracti32x4_epi32(0xf, x3, 0), fold_48, x);
  x = fold_xmm(_mm512_maskz_extracti32x4_epi32(0xf, x3, 1), fold_32, x);
  x = fold_xmm(_mm512_maskz_extracti32x4_epi32(0xf, x3, 2), fold_16, x);
  while (n >= 16) {
    x = fold_xmm(x, fold_16, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    p += 16;
    n -= 16;
  }
  uint64_t c = _mm_crc32_u64(0, static_cast<uint64_t>(_mm_cvtsi128_si64(x)));
  c = _mm_crc32_u64(c, static_cast<uint64_t>(_mm_extract_epi64(x, 1)));
  return finish_sse42(c, p, n);
}

bool folding_supported() {
  return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("pclmul") &&
         __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("vpclmulqdq");
}
#endif

using extend_fn = uint32_t (*)(uint32_t, bytes_view);

extend_fn choose() {
#if defined(__x86_64__)
  if (folding_supported()) return extend_folded_impl;
  if (__builtin_cpu_supports("sse4.2")) return extend_sse42;
#endif
  return extend_portable;
}

const extend_fn chosen = choose();

}  // namespace

uint32_t extend_portable(uint32_t crc, bytes_view data) {
  const uint8_t* p = data.data();
  size_t n = data.size();
  uint32_t c = ~crc;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    if constexpr (std::endian::native == std::endian::big) {
      lo = byte_swap(lo);
      hi = byte_swap(hi);
    }
    lo ^= c;
    c = tables[7][lo & 0xff] ^ tables[6][(lo >> 8) & 0xff] ^ tables[5][(lo >> 16) & 0xff] ^
        tables[4][lo >> 24] ^ tables[3][hi & 0xff] ^ tables[2][(hi >> 8) & 0xff] ^
        tables[1][(hi >> 16) & 0xff] ^ tables[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) c = (c >> 8) ^ tables[0][(c ^ *p++) & 0xff];
  return ~c;
}

uint32_t extend(uint32_t crc, bytes_view data) {
  return chosen(crc, data);
}

bool hardware_available() {
  return chosen != extend_portable;
}

#if defined(__x86_64__)
fold_constants fold_constants_for(uint64_t bytes) {
  return fold_by(bytes);
}
#endif

std::optional<uint32_t> extend_folded(uint32_t crc, bytes_view data) {
#if defined(__x86_64__)
  if (chosen == extend_folded_impl) return extend_folded_impl(crc, data);
#endif
  (void)crc;
  (void)data;
  return std::nullopt;
}

}  // namespace spate::crc32c
