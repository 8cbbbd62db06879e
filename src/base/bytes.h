// Byte views and big-endian access: Kafka's wire and batch formats are big-endian, and every
// format in docs/formats/ is too. Readers take a span and an index, and never read past it
// (callers check sizes first; an out-of-range read is a bug and asserts).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "base/assert.h"

namespace spate {

using bytes_view = std::span<const uint8_t>;
using mutable_bytes = std::span<uint8_t>;
using byte_buffer = std::vector<uint8_t>;

inline bytes_view as_bytes(std::string_view s) {
  return bytes_view(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view as_string_view(bytes_view b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

// std::byteswap is C++23; g++ 12 in C++20 mode has the builtins.
template <class U>
constexpr U byte_swap(U v) {
  if constexpr (sizeof(U) == 2) return static_cast<U>(__builtin_bswap16(v));
  if constexpr (sizeof(U) == 4) return static_cast<U>(__builtin_bswap32(v));
  if constexpr (sizeof(U) == 8) return static_cast<U>(__builtin_bswap64(v));
  return v;
}

template <class T>
requires std::is_integral_v<T>
inline T load_be(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    v = static_cast<T>(byte_swap(static_cast<std::make_unsigned_t<T>>(v)));
  }
  return v;
}

template <class T>
requires std::is_integral_v<T>
inline void store_be(uint8_t* p, T v) {
  if constexpr (std::endian::native == std::endian::little && sizeof(T) > 1) {
    v = static_cast<T>(byte_swap(static_cast<std::make_unsigned_t<T>>(v)));
  }
  std::memcpy(p, &v, sizeof(T));
}

// Bounds-checked big-endian read at `pos` of a view.
template <class T>
inline T read_be(bytes_view b, size_t pos) {
  SPATE_ASSERT(pos + sizeof(T) <= b.size());
  return load_be<T>(b.data() + pos);
}

// Appends big-endian integers to a growing buffer.
template <class T>
inline void append_be(byte_buffer& out, T v) {
  size_t n = out.size();
  out.resize(n + sizeof(T));
  store_be<T>(out.data() + n, v);
}

inline void append_bytes(byte_buffer& out, bytes_view b) {
  out.insert(out.end(), b.begin(), b.end());
}

}  // namespace spate
