// Decompression of the records of a compressed RecordBatch (attributes bits 0-2), the way Kafka's
// LogValidator and FileRecords.searchForTimestamp read them. Spate stores compressed batches as
// the producer sent them and never re-compresses; it decompresses only to check the records
// (validate_batch) and to find a record by time (segment::find_timestamp).
//
// The framings are those Kafka clients write (docs/formats/record-batch.md, "Compression"):
//   gzip    an RFC 1952 gzip stream (zlib streams are accepted too);
//   snappy  the xerial / snappy-java framing (magic "\x82SNAPPY\0", version, compatible
//           version, then blocks of int32 big-endian length + raw snappy), or one raw snappy
//           block when the magic is absent (librdkafka writes raw);
//   lz4     the LZ4 frame format;
//   zstd    one or more zstd frames, content size optional.
//
//   auto records = storage::decompress(h.codec(), batch.subspan(61), 0);
//   if (!records) return records.error();   // errc::invalid_records, detail says why
//
// The output is bounded (`max_size`): a payload that inflates past it is an error, not an
// allocation, so a small "decompression bomb" cannot exhaust memory. Never throws, never reads
// outside `payload`. Stateless; safe on any thread.
#pragma once

#include <cstddef>

#include "base/bytes.h"
#include "base/result.h"
#include "storage/record_batch.h"

namespace spate::storage {

// Decompresses `payload` (the bytes after a batch's 61-byte header) written with `codec`.
// `size_hint` is the expected output size (0 if unknown) and only sizes the first allocation.
// Fails with errc::invalid_records for a corrupt, truncated or over-large payload, and with
// errc::unsupported_compression for a codec id above 4. `compression::none` returns a copy.
result<byte_buffer> decompress(compression codec, bytes_view payload, size_t size_hint,
                               size_t max_size = default_max_decompressed_bytes);

}  // namespace spate::storage
