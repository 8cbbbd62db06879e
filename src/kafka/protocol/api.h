// Request/response framing and the shape every API description has.
//
// An API is a type with its key, name, version range, first flexible version, and request and
// response message types (see apis/*.h). `api_list` in registry.h names them all; dispatch,
// the ApiVersions table and per-API metric labels are derived from that one list.
//
//   auto frame = ...;                        // bytes after the int32 size prefix
//   auto hdr = parse_request_header(frame);  // key, version, correlation id, client id
//   produce_api::request req;
//   auto st = decode_request<produce_api>(frame, *hdr, req);
//   byte_buffer out = encode_response<produce_api>(*hdr, resp);   // size prefix included
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "kafka/protocol/message.h"
#include "kafka/protocol/wire.h"

namespace spate::kafka {

enum class api_key : int16_t {
  produce = 0,
  fetch = 1,
  list_offsets = 2,
  metadata = 3,
  offset_commit = 8,
  offset_fetch = 9,
  find_coordinator = 10,
  join_group = 11,
  heartbeat = 12,
  leave_group = 13,
  sync_group = 14,
  describe_groups = 15,
  list_groups = 16,
  sasl_handshake = 17,
  api_versions = 18,
  create_topics = 19,
  delete_topics = 20,
  delete_records = 21,
  init_producer_id = 22,
  add_partitions_to_txn = 24,
  add_offsets_to_txn = 25,
  end_txn = 26,
  txn_offset_commit = 28,
  describe_configs = 32,
  alter_configs = 33,
  create_partitions = 37,
  delete_groups = 42,
  offset_delete = 47,
};

// What every API description provides (checked where it is used).
template <class A>
concept api = requires {
  { A::key } -> std::convertible_to<api_key>;
  { A::name } -> std::convertible_to<const char*>;
  { A::min_version } -> std::convertible_to<int16_t>;
  { A::max_version } -> std::convertible_to<int16_t>;
  // The first flexible version per the Kafka message definitions, even if we do not
  // advertise it: it decides the header versions.
  { A::first_flexible } -> std::convertible_to<int16_t>;
  typename A::request;
  typename A::response;
};

struct request_header {
  api_key key;
  int16_t version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string> client_id;
  size_t body_offset = 0;  // where the body starts in the frame (after any tag buffer)
};

// Kafka's maximum frame a broker accepts by default (socket.request.max.bytes).
constexpr size_t default_max_frame_bytes = 100 * 1024 * 1024;

// Reads the request header v1 fields (key, version, correlation id, non-compact client id).
// Whether a tag buffer follows depends on the API's flexible versions; the caller, which knows
// the API, calls skip_header_tags for flexible requests.
result<request_header> parse_request_header(mutable_bytes frame);

// Request header v2 (flexible) ends with a tag buffer after the client id.
template <api A>
constexpr bool is_flexible(int16_t version) {
  return version >= A::first_flexible;
}

// Whether what is left of a request body is only empty tag buffers (zero bytes) that API A
// tolerates after its body (`A::accepts_extra_tag_buffers`, set for a client quirk that the
// API's description explains). Every other API rejects trailing bytes.
template <api A>
bool only_extra_tag_buffers(reader& r, bool flexible) {
  if constexpr (requires { A::accepts_extra_tag_buffers; }) {
    if (!flexible || !A::accepts_extra_tag_buffers) return false;
    auto rest = r.raw(r.remaining());
    return r.ok() && std::all_of(rest.begin(), rest.end(), [](uint8_t b) { return b == 0; });
  } else {
    return false;
  }
}

// Decodes the body of a request for API A. The frame stays owned by the caller; records in
// the request point into it.
template <api A>
status decode_request(mutable_bytes frame, request_header& hdr, typename A::request& out) {
  reader r(frame);
  (void)r.raw(hdr.body_offset);
  bool flexible = is_flexible<A>(hdr.version);
  if (flexible) {
    r.skip_tagged_fields();
    hdr.body_offset = r.position();
  }
  decoder d(r, hdr.version, flexible);
  d.read_struct(out);
  if (!r.ok()) {
    return error(std::make_error_code(std::errc::bad_message),
                 std::string(A::name) + " v" + std::to_string(hdr.version) + ": " + r.error());
  }
  if (r.remaining() != 0 && !only_extra_tag_buffers<A>(r, flexible)) {
    return error(std::make_error_code(std::errc::bad_message),
                 std::string(A::name) + " v" + std::to_string(hdr.version) + ": " +
                     std::to_string(r.remaining()) + " trailing bytes");
  }
  return ok();
}

// A response frame in pieces: the encoded bytes, with external bytes to be sent in between
// (splices, in order). Its size prefix already counts the external bytes.
struct response_frame {
  byte_buffer encoded;
  std::vector<splice> splices;
  uint64_t size() const {
    uint64_t n = encoded.size();
    for (const auto& s : splices) n += s.bytes->size();
    return n;
  }
};

// Encodes a whole response frame: int32 size, response header, body. ApiVersions responses
// always use header v0 (no tag buffer), whatever their version (kafka-compat.md §7).
// Records set as `external` are not copied: they become splices.
template <api A>
response_frame encode_response_frame(int32_t correlation_id, int16_t version,
                                     typename A::response& body) {
  response_frame f;
  f.encoded.reserve(256);
  writer w(f.encoded);
  w.i32(0);  // size, patched below
  w.i32(correlation_id);
  bool flexible = is_flexible<A>(version);
  if (flexible && A::key != api_key::api_versions) w.empty_tagged_fields();
  encoder e(w, version, flexible, &f.splices);
  e.write_struct(body);
  uint64_t size = f.size() - 4;
  SPATE_ASSERT(size <= static_cast<uint64_t>(INT32_MAX));
  store_be<int32_t>(f.encoded.data(), static_cast<int32_t>(size));
  return f;
}

// The same as one contiguous buffer, for responses without external records (and tests).
template <api A>
byte_buffer encode_response(int32_t correlation_id, int16_t version, typename A::response& body) {
  auto f = encode_response_frame<A>(correlation_id, version, body);
  SPATE_ASSERT(f.splices.empty());
  return std::move(f.encoded);
}

// Encodes a request frame (for tests and tools that speak to a broker directly).
template <api A>
byte_buffer encode_request(int16_t version, int32_t correlation_id,
                           const std::optional<std::string>& client_id, typename A::request& body) {
  byte_buffer out;
  writer w(out);
  w.i32(0);
  w.i16(static_cast<int16_t>(A::key));
  w.i16(version);
  w.i32(correlation_id);
  w.nullable_string(client_id, false);
  bool flexible = is_flexible<A>(version);
  if (flexible) w.empty_tagged_fields();
  encoder e(w, version, flexible);
  e.write_struct(body);
  store_be<int32_t>(out.data(), static_cast<int32_t>(out.size() - 4));
  return out;
}

// Decodes a response frame body (after the size prefix) for tests and tools.
template <api A>
status decode_response(mutable_bytes frame, int16_t version, int32_t& correlation_id,
                       typename A::response& out) {
  reader r(frame);
  correlation_id = r.i32();
  bool flexible = is_flexible<A>(version);
  if (flexible && A::key != api_key::api_versions) r.skip_tagged_fields();
  decoder d(r, version, flexible);
  d.read_struct(out);
  if (!r.ok() || r.remaining() != 0) {
    return error(std::make_error_code(std::errc::bad_message),
                 std::string(A::name) + " response: " + (r.ok() ? "trailing bytes" : r.error()));
  }
  return ok();
}

}  // namespace spate::kafka
