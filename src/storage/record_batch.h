// Kafka RecordBatch v2 (magic 2), as stored in segment files byte for byte.
// Layout and the worked example: docs/formats/record-batch.md.
//
// `validate_batch` checks a batch received from a client before anything is written;
// `batch_header` reads the fixed 61-byte header of a batch already in the log.
//
//   auto info = storage::validate_batch(bytes, limits, now);
//   if (!info) return info.error();              // nothing written
//   storage::set_base_offset(bytes, next);       // not covered by the CRC
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/bytes.h"
#include "base/result.h"
#include "base/strong_id.h"

namespace spate::storage {

// Byte positions inside the header (docs/formats/record-batch.md).
namespace batch_layout {
constexpr size_t base_offset = 0;
constexpr size_t batch_length = 8;
constexpr size_t partition_leader_epoch = 12;
constexpr size_t magic = 16;
constexpr size_t crc = 17;
constexpr size_t attributes = 21;
constexpr size_t last_offset_delta = 23;
constexpr size_t base_timestamp = 27;
constexpr size_t max_timestamp = 35;
constexpr size_t producer_id = 43;
constexpr size_t producer_epoch = 51;
constexpr size_t base_sequence = 53;
constexpr size_t records_count = 57;
constexpr size_t header_size = 61;
// batchLength counts the bytes after itself.
constexpr size_t length_field_end = 12;
}  // namespace batch_layout

enum class compression : uint8_t { none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4 };

// The ceiling on a compressed batch's decompressed records: 64 MiB, far above what a batch
// under Kafka's 1 MiB message.max.bytes default holds in practice.
constexpr size_t default_max_decompressed_bytes = size_t{64} << 20;

namespace batch_attributes {
constexpr uint16_t codec_mask = 0x07;
constexpr uint16_t timestamp_log_append = 0x08;
constexpr uint16_t transactional = 0x10;
constexpr uint16_t control = 0x20;
}  // namespace batch_attributes

// The decoded fixed header of a batch.
struct batch_header {
  offset base_offset;
  int32_t batch_length = 0;  // bytes after the length field
  int8_t magic = 0;
  uint32_t crc = 0;
  uint16_t attributes = 0;
  int32_t last_offset_delta = 0;
  timestamp_ms base_timestamp;
  timestamp_ms max_timestamp;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t records_count = 0;

  size_t total_size() const { return batch_layout::length_field_end + batch_length; }
  offset last_offset() const { return base_offset + last_offset_delta; }
  offset next_offset() const { return base_offset + last_offset_delta + 1; }
  compression codec() const {
    return static_cast<compression>(attributes & batch_attributes::codec_mask);
  }
  bool is_control() const { return attributes & batch_attributes::control; }
  bool is_transactional() const { return attributes & batch_attributes::transactional; }

  // Reads the header; `bytes` must hold at least header_size bytes (asserted).
  static batch_header parse(bytes_view bytes);
};

// Limits a log applies to incoming batches (from its log_config).
struct batch_limits {
  size_t max_batch_bytes = 1048588;  // Kafka's message.max.bytes default
  bool allow_control = false;        // only the broker's own transaction markers
  // CreateTime timestamps more than this far from `now` are rejected (Kafka's
  // message.timestamp.difference.max.ms); the default accepts any.
  int64_t max_timestamp_difference_ms = INT64_MAX;
  // A compressed batch whose records decompress to more than this is rejected (a
  // "decompression bomb"); see storage/compression.h.
  size_t max_decompressed_bytes = default_max_decompressed_bytes;
  // A compacted topic keeps the newest record per key, so a record without a key could never
  // be found again; Kafka refuses it at produce time (INVALID_RECORD), and so do we.
  bool require_keys = false;
};

// What validation learned about a batch.
struct batch_info {
  batch_header header;
  size_t size = 0;
};

// Checks everything a client could get wrong: size and length field, magic, CRC-32C, record
// count against lastOffsetDelta, codec, timestamps, and the record framing itself (each record
// parses, offset deltas run 0..n-1, maxTimestamp is the records' maximum), decompressing the
// records of a compressed batch to do so. Never reads out of bounds; a corrupt or over-large
// compressed payload is errc::invalid_records.
result<batch_info> validate_batch(bytes_view batch, const batch_limits& limits, timestamp_ms now);

// Structural checks only (no CRC, no limits): what recovery uses to decide where a segment's
// valid prefix ends, before it verifies the CRC.
bool plausible_header(bytes_view header_bytes, size_t max_batch_bytes);
// CRC-32C over bytes 21..end matches the stored one.
bool crc_matches(bytes_view batch);

// Overwrites the base offset and partition leader epoch (neither is covered by the CRC).
void set_base_offset(mutable_bytes batch, offset base);
// Marks the batch LogAppendTime with `now` as its max timestamp and recomputes the CRC.
void set_log_append_time(mutable_bytes batch, timestamp_ms now);

// One record of a batch, as views into the batch bytes (uncompressed) or into the decompressed
// records (compressed): valid only during the for_each_record callback that receives it.
struct record_view {
  offset off;
  timestamp_ms timestamp;
  std::optional<bytes_view> key;
  std::optional<bytes_view> value;
  int32_t headers_count = 0;
  // The encoded header entries after the count, so the cleaner can copy them unchanged.
  bytes_view raw_headers;
};

// Calls `fn` for each record of a batch (`batch` holds the whole batch); stops early if `fn`
// returns false. A compressed batch's records are decompressed first, into at most
// `max_decompressed_bytes`. Fails with invalid_records on malformed framing or a corrupt or
// over-large compressed payload, unsupported_compression on a codec id above 4.
status for_each_record(bytes_view batch, const std::function<bool(const record_view&)>& fn,
                       size_t max_decompressed_bytes = default_max_decompressed_bytes);

}  // namespace spate::storage
