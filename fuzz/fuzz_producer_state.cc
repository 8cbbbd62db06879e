// libFuzzer target: the producer-state snapshot reader (storage::producer_state::load), which
// reads files from the data folder that a crash, a bad disk or a person may have mangled, and
// the sequence checks on whatever state it accepts.
//
// Input layout: one mode byte, then the snapshot bytes. Mode bit 0x01 rewrites the trailing
// CRC-32C to match, so that mutations get past the checksum and reach the field checks.
//
// Properties, besides "never crashes, never reads out of bounds, no UB": an accepted snapshot
// re-serializes to bytes that load again and serialize identically (the encoding is canonical
// after one round); check() and record() on the loaded state with headers derived from the
// input never fail in any way other than the documented errors.
#include <cstdio>
#include <cstdlib>

#include "base/crc32c.h"
#include "storage/errc.h"
#include "storage/producer_state.h"

namespace {

using namespace spate;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_producer_state: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  byte_buffer snap(data + 1, data + size);
  if ((mode & 0x01) && snap.size() >= 4) {
    store_be<uint32_t>(snap.data() + snap.size() - 4,
                       crc32c::value(bytes_view(snap).first(snap.size() - 4)));
  }
  // The offset the file would be named after: the one it claims, so that the name check passes.
  offset at(snap.size() >= 16 ? load_be<int64_t>(snap.data() + 8) : 0);
  auto state = storage::producer_state::load(snap, at);
  if (!state) return 0;

  auto once = state->serialize(at);
  auto again = storage::producer_state::load(once, at);
  if (!again) fail("a re-serialized snapshot does not load");
  if (again->serialize(at) != once) fail("serialization is not stable");

  // Drive the checks with headers made from the snapshot's own numbers.
  for (const auto& [pid, e] : state->entries()) {
    for (const auto& b : e.batches) {
      storage::batch_header h;
      h.producer_id = pid;
      h.producer_epoch = e.epoch;
      h.base_sequence = b.first_sequence;
      h.last_offset_delta =
          static_cast<int32_t>((int64_t{b.last_sequence} - b.first_sequence) & 0xFFFF);
      h.base_offset = b.first_offset;
      auto c = state->check(h);
      if (!c) {
        auto code = static_cast<storage::errc>(c.error().code.value());
        if (code != storage::errc::out_of_order_sequence &&
            code != storage::errc::invalid_producer_epoch &&
            code != storage::errc::invalid_records) {
          fail("unexpected error from check()");
        }
      }
      if (c && !c->duplicate && h.base_sequence >= 0 && h.producer_epoch >= 0) state->record(h);
    }
  }
  return 0;
}
