// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): the checksum of Kafka RecordBatch v2
// (bytes 21..end of a batch) and of Spate's own metadata files.
//
// Uses, as the CPU allows (checked once at start-up): folding with 512-bit carry-less
// multiplication (AVX-512 with VPCLMULQDQ) for inputs of 256 bytes and more; the SSE 4.2 crc32
// instruction; else a slicing-by-8 table. All give identical results; tests check them against
// each other and against the standard check value crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"

namespace spate::crc32c {

// Extends `crc` (0 for a fresh checksum) over `data`.
uint32_t extend(uint32_t crc, bytes_view data);
inline uint32_t value(bytes_view data) {
  return extend(0, data);
}

// The portable implementation, exposed so tests can compare it with the hardware one.
uint32_t extend_portable(uint32_t crc, bytes_view data);
bool hardware_available();
// The folding implementation, for tests; nullopt when this CPU lacks it.
std::optional<uint32_t> extend_folded(uint32_t crc, bytes_view data);

#if defined(__x86_64__)
// The carry-less multipliers that move a 128-bit block of the message `bytes` bytes further on
// (crc32c.cc), for tests: for_low multiplies the block's low quadword, for_high its high one.
struct fold_constants {
  uint64_t for_low;   // x^(8·bytes+63) mod P, reflected, in the top half
  uint64_t for_high;  // x^(8·bytes-1) mod P, the same
};
fold_constants fold_constants_for(uint64_t bytes);
#endif

}  // namespace spate::crc32c
