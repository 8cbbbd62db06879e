#include "spate/stream/serde.h"

#include <cstdint>
#include <string>

namespace spate::stream {
namespace detail {

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t min_cp[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

error deserialization_error(std::string_view serde_name, std::string_view what) {
  return error(errc::deserialization_failed, std::string(serde_name) + ": " + std::string(what));
}

}  // namespace detail

serde<std::string> bytes_serde() {
  return serde<std::string>{
      "bytes", [](const std::string& v) { return v; },
      [](std::string_view s) -> result<std::string> { return std::string(s); }};
}

serde<std::string> string_serde() {
  return serde<std::string>{"string", [](const std::string& v) { return v; },
                            [](std::string_view s) -> result<std::string> {
                              if (!detail::valid_utf8(s)) {
                                return detail::deserialization_error("string", "invalid UTF-8");
                              }
                              return std::string(s);
                            }};
}

}  // namespace spate::stream
