// Describing a Kafka message once, as data, and deriving its codec from that description.
//
// A message (or nested struct) lists its fields in order with `describe`, each with the
// versions it exists in. The same description drives the decoder and the encoder below, so
// a field added in v5 is added in one place and both directions follow:
//
//   struct produce_request_partition {
//     int32_t index = 0;
//     kafka::records records;
//     template <class V> void describe(V& v) {
//       v(index, "index");
//       v(records, "records");
//     }
//   };
//
// Field types map to wire types by C++ type: int8..int64/bool -> INTn/BOOLEAN, std::string ->
// STRING, std::optional<std::string> -> NULLABLE_STRING, bytes/std::optional<bytes> -> BYTES,
// records -> RECORDS (nullable), std::vector<T> -> ARRAY, std::optional<std::vector<T>> ->
// nullable ARRAY, uuid -> UUID, and a struct with describe() -> an inline struct. In flexible
// versions the compact forms are used and every struct ends with a TAG_BUFFER.
// Fields absent in the version being decoded keep their default member initialiser, which is
// therefore the protocol's default for that field.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "base/bytes.h"
#include "kafka/protocol/wire.h"

namespace spate::kafka {

// Versions a field exists in: [min, max].
struct versions {
  int16_t min = 0;
  int16_t max = INT16_MAX;
  constexpr bool contains(int16_t v) const { return v >= min && v <= max; }
};
constexpr versions since(int16_t v) {
  return {v, INT16_MAX};
}
constexpr versions until(int16_t v) {
  return {0, v};
}

// BYTES owned by the message (small fields: group metadata, assignments).
struct bytes {
  byte_buffer data;
  bool operator==(const bytes&) const = default;
};

using uuid = std::array<uint8_t, 16>;

// Bytes of a message that the encoder does not copy: it writes only their length, and notes
// where in the frame they belong (a `splice`), so that whoever sends the frame sends them from
// where they already are. The broker's Fetch uses it for ranges of segment files, sent with
// sendfile; this layer does no I/O, so it sees only the size, and the sender downcasts.
struct external_bytes {
  virtual ~external_bytes() = default;
  virtual uint64_t size() const = 0;
};

// Where external bytes go in an encoded frame: before byte `at` of the encoded buffer.
struct splice {
  size_t at = 0;
  std::shared_ptr<const external_bytes> bytes;
};

// RECORDS: record batches. Decoded from a request, `view` points into the request frame
// (mutable: the log assigns base offsets in place, with no copy). A response built by the
// broker fills `owned`, or `external` to send the bytes without copying them (see
// encode_response_frame). Null unless one of them is set.
struct records {
  std::optional<mutable_bytes> view;
  std::optional<byte_buffer> owned;
  std::shared_ptr<const external_bytes> external;
  bool is_null() const { return !view && !owned && !external; }
  bytes_view data() const {
    if (owned) return *owned;
    if (view) return *view;
    return {};
  }
};

class decoder;
class encoder;

// A struct that lists its fields for visitor V.
template <class T, class V>
concept describable = requires(T& t, V& v) {
  t.describe(v);
};

// Reads a message in a given version. Errors are recorded in the reader.
class decoder {
 public:
  decoder(reader& r, int16_t version, bool flexible)
      : _r(r), _version(version), _flexible(flexible) {}

  template <class T>
  void operator()(T& field, const char* /*name*/, versions v = {}) {
    if (v.contains(_version) && _r.ok()) read(field);
  }

  int16_t version() const { return _version; }

  template <class T>
  void read_struct(T& s) {
    s.describe(*this);
    if (_flexible) _r.skip_tagged_fields();
  }

 private:
  void read(int8_t& v) { v = _r.i8(); }
  void read(int16_t& v) { v = _r.i16(); }
  void read(int32_t& v) { v = _r.i32(); }
  void read(int64_t& v) { v = _r.i64(); }
  void read(uint32_t& v) { v = _r.u32(); }
  void read(bool& v) { v = _r.boolean(); }
  void read(std::string& v) { v = _r.string(_flexible); }
  void read(std::optional<std::string>& v) { v = _r.nullable_string(_flexible); }
  void read(bytes& v) {
    auto b = _r.nullable_bytes(_flexible);
    if (!b) return _r.fail("null where bytes are required");
    v.data.assign(b->begin(), b->end());
  }
  void read(std::optional<bytes>& v) {
    auto b = _r.nullable_bytes(_flexible);
    if (!b) {
      v.reset();
      return;
    }
    v = bytes{byte_buffer(b->begin(), b->end())};
  }
  void read(records& v) {
    auto b = _r.nullable_bytes(_flexible);
    v.view = b;
    v.owned.reset();
    v.external.reset();
  }
  void read(uuid& v) {
    auto b = _r.raw(16);
    if (_r.ok()) std::copy(b.begin(), b.end(), v.begin());
  }
  template <class T>
  void read(std::vector<T>& v) {
    int32_t n = _r.array_length(_flexible);
    if (n < 0) return _r.fail("null where an array is required");
    read_elements(v, n);
  }
  template <class T>
  void read(std::optional<std::vector<T>>& v) {
    int32_t n = _r.array_length(_flexible);
    if (!_r.ok() || n < 0) {
      v.reset();
      return;
    }
    v.emplace();
    read_elements(*v, n);
  }
  // Reserves at most this many elements up front. A count is checked against the bytes left
  // (at least one byte per element), but an element takes far more memory than one byte: a
  // 40 MB frame claiming 40M topics would reserve 2.2 GB before failing. Beyond the cap the
  // vector grows with the elements that actually decode.
  static constexpr int32_t max_reserve = 1024;

  template <class T>
  void read_elements(std::vector<T>& v, int32_t n) {
    v.clear();
    v.reserve(static_cast<size_t>(std::min(n, max_reserve)));
    for (int32_t i = 0; i < n && _r.ok(); ++i) {
      v.emplace_back();
      read(v.back());
    }
  }
  template <class T>
  requires describable<T, decoder>
  void read(T& s) { read_struct(s); }

  reader& _r;
  int16_t _version;
  bool _flexible;
};

// Writes a message in a given version. Describe() is non-const by design (one function for
// both directions); the encoder only reads the fields.
class encoder {
 public:
  // `splices` receives where external records go; without it, a message with external
  // records cannot be encoded (a bug: asserted).
  encoder(writer& w, int16_t version, bool flexible, std::vector<splice>* splices = nullptr)
      : _w(w), _version(version), _flexible(flexible), _splices(splices) {}

  template <class T>
  void operator()(T& field, const char* /*name*/, versions v = {}) {
    if (v.contains(_version)) write(field);
  }

  int16_t version() const { return _version; }

  template <class T>
  void write_struct(T& s) {
    s.describe(*this);
    if (_flexible) _w.empty_tagged_fields();
  }

 private:
  void write(int8_t v) { _w.i8(v); }
  void write(int16_t v) { _w.i16(v); }
  void write(int32_t v) { _w.i32(v); }
  void write(int64_t v) { _w.i64(v); }
  void write(uint32_t v) { _w.u32(v); }
  void write(bool v) { _w.boolean(v); }
  void write(const std::string& v) { _w.string(v, _flexible); }
  void write(const std::optional<std::string>& v) { _w.nullable_string(v, _flexible); }
  void write(const bytes& v) { _w.nullable_bytes(bytes_view(v.data), _flexible); }
  void write(const std::optional<bytes>& v) {
    _w.nullable_bytes(v ? std::optional<bytes_view>(v->data) : std::nullopt, _flexible);
  }
  void write(const records& v) {
    if (v.external) {
      SPATE_ASSERT(_splices != nullptr);
      _w.bytes_length(v.external->size(), _flexible);
      _splices->push_back({_w.size(), v.external});
      return;
    }
    _w.nullable_bytes(v.is_null() ? std::nullopt : std::optional<bytes_view>(v.data()), _flexible);
  }
  void write(const uuid& v) { _w.raw(v); }
  template <class T>
  void write(std::vector<T>& v) {
    _w.array_length(static_cast<int32_t>(v.size()), _flexible);
    for (auto& e : v) write(e);
  }
  template <class T>
  void write(std::optional<std::vector<T>>& v) {
    if (!v) return _w.array_length(-1, _flexible);
    write(*v);
  }
  template <class T>
  requires describable<T, encoder>
  void write(T& s) { write_struct(s); }

  writer& _w;
  int16_t _version;
  bool _flexible;
  std::vector<splice>* _splices;
};

}  // namespace spate::kafka
