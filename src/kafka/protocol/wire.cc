#include "kafka/protocol/wire.h"

#include "base/varint.h"

namespace spate::kafka {

uint32_t reader::uvarint() {
  if (!ok()) return 0;
  auto d = varint::decode_unsigned(bytes_view(_in).subspan(_pos), 5);
  if (!d || d->value > UINT32_MAX) {
    fail("bad unsigned varint");
    return 0;
  }
  _pos += d->size;
  return static_cast<uint32_t>(d->value);
}

int32_t reader::varint() {
  if (!ok()) return 0;
  auto d = varint::decode_varint(bytes_view(_in).subspan(_pos));
  if (!d) {
    fail("bad varint");
    return 0;
  }
  _pos += d->second;
  return d->first;
}

int64_t reader::varlong() {
  if (!ok()) return 0;
  auto d = varint::decode_varlong(bytes_view(_in).subspan(_pos));
  if (!d) {
    fail("bad varlong");
    return 0;
  }
  _pos += d->second;
  return d->first;
}

mutable_bytes reader::raw(size_t n) {
  if (!ok() || remaining() < n) {
    fail("truncated");
    return {};
  }
  auto out = _in.subspan(_pos, n);
  _pos += n;
  return out;
}

std::optional<std::string> reader::nullable_string(bool compact) {
  int64_t len;
  if (compact) {
    len = static_cast<int64_t>(uvarint()) - 1;
  } else {
    len = i16();
  }
  if (!ok()) return std::nullopt;
  if (len < -1) {
    fail("negative string length");
    return std::nullopt;
  }
  if (len == -1) return std::nullopt;
  auto b = raw(static_cast<size_t>(len));
  if (!ok()) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string reader::string(bool compact) {
  auto s = nullable_string(compact);
  if (!s) {
    fail("null where a string is required");
    return {};
  }
  return std::move(*s);
}

std::optional<mutable_bytes> reader::nullable_bytes(bool compact) {
  int64_t len;
  if (compact) {
    len = static_cast<int64_t>(uvarint()) - 1;
  } else {
    len = i32();
  }
  if (!ok()) return std::nullopt;
  if (len < -1) {
    fail("negative bytes length");
    return std::nullopt;
  }
  if (len == -1) return std::nullopt;
  auto b = raw(static_cast<size_t>(len));
  if (!ok()) return std::nullopt;
  return b;
}

int32_t reader::array_length(bool compact, size_t min_element_size) {
  int64_t n;
  if (compact) {
    n = static_cast<int64_t>(uvarint()) - 1;
  } else {
    n = i32();
  }
  if (!ok()) return 0;
  if (n < -1) {
    fail("negative array length");
    return 0;
  }
  if (n > 0 && static_cast<uint64_t>(n) * std::max<size_t>(min_element_size, 1) > remaining()) {
    fail("array longer than the request");
    return 0;
  }
  return static_cast<int32_t>(n);
}

void reader::skip_tagged_fields() {
  uint32_t count = uvarint();
  for (uint32_t i = 0; ok() && i < count; ++i) {
    (void)uvarint();  // tag
    uint32_t size = uvarint();
    (void)raw(size);
  }
}

void writer::uvarint(uint32_t v) {
  varint::append_unsigned(_out, v);
}

void writer::varint(int32_t v) {
  varint::append_signed(_out, v);
}

void writer::string(const std::string& s, bool compact) {
  if (compact) {
    uvarint(static_cast<uint32_t>(s.size() + 1));
  } else {
    i16(static_cast<int16_t>(s.size()));
  }
  raw(as_bytes(s));
}

void writer::nullable_string(const std::optional<std::string>& s, bool compact) {
  if (s) return string(*s, compact);
  if (compact) {
    uvarint(0);
  } else {
    i16(-1);
  }
}

void writer::nullable_bytes(std::optional<bytes_view> b, bool compact) {
  if (!b) {
    if (compact) {
      uvarint(0);
    } else {
      i32(-1);
    }
    return;
  }
  bytes_length(b->size(), compact);
  raw(*b);
}

void writer::bytes_length(size_t n, bool compact) {
  if (compact) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(static_cast<int32_t>(n));
  }
}

void writer::array_length(int32_t n, bool compact) {
  if (compact) {
    uvarint(static_cast<uint32_t>(n + 1));
  } else {
    i32(n);
  }
}

}  // namespace spate::kafka
