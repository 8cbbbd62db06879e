// libFuzzer target: the input is one request frame body, i.e. the bytes after the int32 size
// prefix, as the connection hands it to the protocol layer. The header is parsed; if its key
// is in api_list, or in group_api_list (described, not yet served), the body is decoded with
// that API's request type at the version the header names (any version, not only the
// advertised ones: the decoder must be safe for all).
//
// Properties checked, besides "never crashes, never reads out of bounds, no UB":
//   * a successful decode re-encodes into a frame that decodes again, and encoding that
//     second decode gives identical bytes (decode and encode agree on every field);
//   * the re-encoded header carries the same key, version, correlation id and client id.
// The first encoding need not equal the input: tagged fields are skipped, booleans other than
// 0/1 read as true, and so on.
#include <cstdio>
#include <cstdlib>

#include "kafka/protocol/group_registry.h"
#include "kafka/protocol/registry.h"

namespace {

using namespace spate;
using namespace spate::kafka;

[[noreturn]] void fail(const char* api, int16_t version, const char* what) {
  std::fprintf(stderr, "fuzz_request_decoder: %s v%d: %s\n", api, version, what);
  std::abort();
}

template <class A>
void decode_and_round_trip(const request_header& parsed, mutable_bytes frame) {
  request_header hdr = parsed;
  typename A::request req;
  if (!decode_request<A>(frame, hdr, req)) return;  // rejected: fine, as long as it is safe

  byte_buffer once = encode_request<A>(hdr.version, hdr.correlation_id, hdr.client_id, req);
  byte_buffer body(once.begin() + 4, once.end());
  auto hdr2 = parse_request_header(body);
  if (!hdr2) fail(A::name, hdr.version, "re-encoded header does not parse");
  if (hdr2->key != A::key || hdr2->version != hdr.version ||
      hdr2->correlation_id != hdr.correlation_id || hdr2->client_id != hdr.client_id) {
    fail(A::name, hdr.version, "re-encoded header differs");
  }
  typename A::request again;
  if (!decode_request<A>(body, *hdr2, again)) {
    fail(A::name, hdr.version, "re-encoded request does not decode");
  }
  byte_buffer twice = encode_request<A>(hdr.version, hdr.correlation_id, hdr.client_id, again);
  if (once != twice) fail(A::name, hdr.version, "encode(decode(encode(x))) != encode(x)");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Decoding takes a mutable view (produced batches are given offsets in place): copy.
  byte_buffer frame(data, data + size);
  auto hdr = parse_request_header(frame);
  if (!hdr) return 0;
  auto decode = [&]<class A>() {
    if (hdr->key == A::key) decode_and_round_trip<A>(*hdr, frame);
  };
  for_each_api(decode, api_list{});
  for_each_api(decode, group_api_list{});
  return 0;
}
