// Kafka wire primitives: a bounds-checked reader over a request frame and a writer that
// appends to a buffer. Layouts: ../../../docs/formats/ is for disk; the wire types are those of
// the Kafka protocol guide (INT8..INT64, STRING, NULLABLE_STRING, BYTES, ARRAY, their COMPACT_
// forms, UNSIGNED_VARINT, TAG_BUFFER), summarised in ../shared/docs/kafka-compat.md §2.2.
//
// The reader never throws and never reads out of bounds: the first malformed or truncated
// field marks it failed (ok() == false), records why, and every later read returns a zero
// value. Decoders check ok() once at the end. Counts are checked against the bytes left, so a
// hostile array length cannot make us allocate gigabytes.
//
//   kafka::reader r(frame);
//   int16_t key = r.i16();
//   auto id = r.nullable_string();
//   if (!r.ok()) return malformed(r.error());
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"

namespace spate::kafka {

class reader {
 public:
  explicit reader(mutable_bytes in) : _in(in) {}

  bool ok() const { return _error == nullptr; }
  const char* error() const { return _error ? _error : ""; }
  size_t remaining() const { return _in.size() - _pos; }
  size_t position() const { return _pos; }
  // Marks the reader failed (first reason wins).
  void fail(const char* why) {
    if (!_error) _error = why;
  }

  int8_t i8() { return fixed<int8_t>(); }
  int16_t i16() { return fixed<int16_t>(); }
  int32_t i32() { return fixed<int32_t>(); }
  int64_t i64() { return fixed<int64_t>(); }
  uint16_t u16() { return fixed<uint16_t>(); }
  uint32_t u32() { return fixed<uint32_t>(); }
  bool boolean() { return i8() != 0; }
  uint32_t uvarint();
  int32_t varint();
  int64_t varlong();

  // STRING / COMPACT_STRING (never null).
  std::string string(bool compact);
  // NULLABLE_STRING / COMPACT_NULLABLE_STRING.
  std::optional<std::string> nullable_string(bool compact);
  // BYTES / COMPACT_BYTES and their nullable forms, as views into the frame (mutable so that
  // record batches can be given offsets in place). nullopt means null.
  std::optional<mutable_bytes> nullable_bytes(bool compact);
  // An ARRAY / COMPACT_ARRAY count; -1 means null. A count that cannot fit in the bytes left
  // (each element takes at least `min_element_size` bytes) fails the reader.
  int32_t array_length(bool compact, size_t min_element_size = 1);
  // Skips a TAG_BUFFER (flexible versions): we define no tagged fields we must read.
  void skip_tagged_fields();
  mutable_bytes raw(size_t n);

 private:
  template <class T>
  T fixed() {
    if (!ok() || remaining() < sizeof(T)) {
      fail("truncated");
      return T{};
    }
    T v = load_be<T>(_in.data() + _pos);
    _pos += sizeof(T);
    return v;
  }

  mutable_bytes _in;
  size_t _pos = 0;
  const char* _error = nullptr;
};

class writer {
 public:
  explicit writer(byte_buffer& out) : _out(out) {}

  void i8(int8_t v) { _out.push_back(static_cast<uint8_t>(v)); }
  void i16(int16_t v) { append_be(_out, v); }
  void i32(int32_t v) { append_be(_out, v); }
  void i64(int64_t v) { append_be(_out, v); }
  void u32(uint32_t v) { append_be(_out, v); }
  void boolean(bool v) { i8(v ? 1 : 0); }
  void uvarint(uint32_t v);
  void varint(int32_t v);
  void string(const std::string& s, bool compact);
  void nullable_string(const std::optional<std::string>& s, bool compact);
  void nullable_bytes(std::optional<bytes_view> b, bool compact);
  // The length prefix of non-null BYTES whose n bytes are written by someone else.
  void bytes_length(size_t n, bool compact);
  void array_length(int32_t n, bool compact);  // -1: null
  void empty_tagged_fields() { _out.push_back(0); }
  void raw(bytes_view b) { append_bytes(_out, b); }
  size_t size() const { return _out.size(); }
  byte_buffer& buffer() { return _out; }

 private:
  byte_buffer& _out;
};

}  // namespace spate::kafka
