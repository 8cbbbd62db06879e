// be_cursor: reads big-endian fields one after another from untrusted bytes (metadata files,
// internal records). The first short read marks it failed (ok == false) and every later read
// returns a zero value, so a decoder checks `ok` once at the end.
//
//   be_cursor c{bytes};
//   auto version = c.num<uint16_t>();
//   bytes_view name = c.take(c.num<uint16_t>());
//   if (!c.ok) return corrupt();
#pragma once

#include "base/bytes.h"

namespace spate {

struct be_cursor {
  bytes_view b;
  size_t pos = 0;
  bool ok = true;

  template <class T>
  T num() {
    if (!ok || b.size() - pos < sizeof(T)) {
      ok = false;
      return T{};
    }
    T v = load_be<T>(b.data() + pos);
    pos += sizeof(T);
    return v;
  }
  // The next n bytes, or an empty view (and ok == false) if fewer are left.
  bytes_view take(size_t n) {
    if (!ok || b.size() - pos < n) {
      ok = false;
      return {};
    }
    bytes_view v = b.subspan(pos, n);
    pos += n;
    return v;
  }
};

}  // namespace spate
