// Internal: how operators lay out their state keys, so that one key's entries are adjacent and
// ordered by time in the store (prefix scans find a key's sessions, in start order).
//
//   window entry:  be32 key length | key bytes | start | end
//   timer entry:   kind byte ('e' event time, 'p' processing time) | time | key bytes
//
// Times are int64 with the sign bit flipped, big-endian, so bytewise order is numeric order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "spate/stream/types.h"

namespace spate::stream::detail {

inline void append_time(std::string& out, timestamp_ms t) {
  uint64_t u = static_cast<uint64_t>(t.value) ^ (uint64_t(1) << 63);
  char b[8];
  store_be<uint64_t>(reinterpret_cast<uint8_t*>(b), u);
  out.append(b, 8);
}

inline timestamp_ms read_time(std::string_view s, size_t pos) {
  uint64_t u = read_be<uint64_t>(as_bytes(s), pos);
  return timestamp_ms(static_cast<int64_t>(u ^ (uint64_t(1) << 63)));
}

inline std::string key_prefix(std::string_view key) {
  std::string out;
  out.reserve(4 + key.size() + 16);
  char b[4];
  store_be<uint32_t>(reinterpret_cast<uint8_t*>(b), static_cast<uint32_t>(key.size()));
  out.append(b, 4);
  out.append(key);
  return out;
}

// Appends the window entry of (key, w) to `out` (a reused buffer: no allocation per lookup).
inline void append_window_state_key(std::string& out, std::string_view key, const window& w) {
  char b[4];
  store_be<uint32_t>(reinterpret_cast<uint8_t*>(b), static_cast<uint32_t>(key.size()));
  out.append(b, 4);
  out.append(key);
  append_time(out, w.start);
  append_time(out, w.end);
}

inline std::string window_state_key(std::string_view key, const window& w) {
  std::string out;
  out.reserve(4 + key.size() + 16);
  append_window_state_key(out, key, w);
  return out;
}

struct window_state_entry {
  std::string_view key;
  stream::window window;
};

// nullopt for bytes that are not a window entry (a corrupt store).
inline std::optional<window_state_entry> parse_window_state_key(std::string_view s) {
  if (s.size() < 4) return std::nullopt;
  uint32_t n = read_be<uint32_t>(as_bytes(s), 0);
  if (s.size() != 4 + size_t(n) + 16) return std::nullopt;
  return window_state_entry{s.substr(4, n), {read_time(s, 4 + n), read_time(s, 12 + n)}};
}

inline std::string timer_state_key(char kind, timestamp_ms t, std::string_view key) {
  std::string out(1, kind);
  append_time(out, t);
  out.append(key);
  return out;
}

}  // namespace spate::stream::detail
