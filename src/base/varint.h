// Protobuf-style variable-length integers, as Kafka records use them (zig-zag for signed
// VARINT/VARLONG, plain base-128 for UNSIGNED_VARINT). Decoders never read past the view and
// report malformed input (too long, truncated) as nullopt; they are fed untrusted bytes.
#pragma once

#include <cstdint>
#include <optional>

#include "base/bytes.h"

namespace spate::varint {

inline uint64_t zigzag_encode(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
inline int64_t zigzag_decode(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

void append_unsigned(byte_buffer& out, uint64_t v);
inline void append_signed(byte_buffer& out, int64_t v) {
  append_unsigned(out, zigzag_encode(v));
}
// Bytes append_unsigned would write.
size_t unsigned_size(uint64_t v);

struct decoded {
  uint64_t value;
  size_t size;  // bytes consumed
};

// Decodes an unsigned varint of at most max_bytes (5 for 32-bit, 10 for 64-bit) from the
// front of `in`.
std::optional<decoded> decode_unsigned(bytes_view in, size_t max_bytes = 10);

// A signed 32-bit VARINT (at most 5 bytes) / 64-bit VARLONG (at most 10 bytes).
std::optional<std::pair<int32_t, size_t>> decode_varint(bytes_view in);
std::optional<std::pair<int64_t, size_t>> decode_varlong(bytes_view in);

}  // namespace spate::varint
