// libFuzzer target: storage::validate_batch on untrusted bytes, as partition_log::append runs
// it on every produced batch, then storage::for_each_record on the batches it accepts.
//
// Input layout: one mode byte, then the batch bytes. Mode bits:
//   0x01  rewrite the CRC-32C to match, so that mutations get past the checksum and reach the
//         header and record checks (a fuzzer cannot forge a CRC on its own);
//   0x02  allow control batches (what the broker's own transaction markers need);
//   0x04  bound timestamps to one hour around "now" (Kafka's message.timestamp.difference);
//   0x08  a small maximum batch size (256 bytes).
//
// Properties checked, besides "never crashes, never reads out of bounds, no UB", and "never
// allocates past the decompression ceiling" (a small one here, 1 MiB, so that bombs are found
// quickly): an accepted batch, compressed or not, iterates to exactly recordsCount records with
// offsets base..last, and an accepted batch's reported size is its length.
//
// Besides make_seeds.py's seed-* inputs, corpus/fuzz_batch_validator/codec-* are small batches
// compressed with each real codec (gzip, snappy xerial and raw, lz4 frame, zstd), written with
// tests/support/compress.h, so that mutations reach the decompressors.
#include <cstdio>
#include <cstdlib>

#include "base/crc32c.h"
#include "storage/record_batch.h"

namespace {

using namespace spate;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_batch_validator: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace bl = storage::batch_layout;
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  byte_buffer batch(data + 1, data + size);
  if ((mode & 0x01) && batch.size() >= bl::header_size) {
    store_be<uint32_t>(batch.data() + bl::crc,
                       crc32c::value(bytes_view(batch).subspan(bl::attributes)));
  }
  storage::batch_limits limits;
  limits.allow_control = mode & 0x02;
  if (mode & 0x04) limits.max_timestamp_difference_ms = 3'600'000;
  if (mode & 0x08) limits.max_batch_bytes = 256;
  limits.max_decompressed_bytes = size_t{1} << 20;
  const timestamp_ms now{1'700'000'000'000};

  auto info = storage::validate_batch(batch, limits, now);
  if (!info) return 0;
  if (info->size != batch.size()) fail("accepted batch: size differs from its length");

  const auto& h = info->header;
  int64_t seen = 0;
  auto st = storage::for_each_record(
      batch,
      [&](const storage::record_view& r) {
        // Unsigned: a producer may write any base offset (the log overwrites it).
        if (static_cast<uint64_t>(r.off.value) !=
            static_cast<uint64_t>(h.base_offset.value) + static_cast<uint64_t>(seen)) {
          fail("record offsets are not base..last");
        }
        ++seen;
        return true;
      },
      limits.max_decompressed_bytes);
  if (!st) fail("accepted batch: records do not iterate");
  if (seen != h.records_count) fail("accepted batch: record count differs");
  return 0;
}
