#include "base/varint.h"

namespace spate::varint {

void append_unsigned(byte_buffer& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

size_t unsigned_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

std::optional<decoded> decode_unsigned(bytes_view in, size_t max_bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < in.size() && i < max_bytes; ++i) {
    uint8_t b = in[i];
    v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
    if ((b & 0x80) == 0) {
      // The last allowed byte may only carry the bits that fit (e.g. 1 bit in byte 10).
      if (i == max_bytes - 1 && max_bytes == 10 && b > 1) return std::nullopt;
      if (i == max_bytes - 1 && max_bytes == 5 && b > 0x0f) return std::nullopt;
      return decoded{v, i + 1};
    }
  }
  return std::nullopt;  // truncated or too long
}

std::optional<std::pair<int32_t, size_t>> decode_varint(bytes_view in) {
  auto d = decode_unsigned(in, 5);
  if (!d) return std::nullopt;
  return std::pair{static_cast<int32_t>(zigzag_decode(d->value)), d->size};
}

std::optional<std::pair<int64_t, size_t>> decode_varlong(bytes_view in) {
  auto d = decode_unsigned(in, 10);
  if (!d) return std::nullopt;
  return std::pair{zigzag_decode(d->value), d->size};
}

}  // namespace spate::varint
