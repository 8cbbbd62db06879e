// Expected failures of the storage layer. The protocol edge maps each to a Kafka error code
// (kafka/server), in one function; storage itself knows nothing of Kafka's codes.
#pragma once

#include <system_error>

namespace spate::storage {

enum class errc {
  // The batch itself is bad; nothing was written.
  batch_too_small = 1,    // shorter than the 61-byte header
  batch_too_large,        // larger than the log's max_batch_bytes
  batch_length_mismatch,  // batchLength field disagrees with the bytes given
  unsupported_magic,      // magic is not 2
  corrupt_batch,          // CRC-32C mismatch
  invalid_record_count,   // recordsCount is not lastOffsetDelta + 1, or not positive
  invalid_records,        // the records inside an uncompressed batch do not parse
  invalid_timestamp,      // outside the allowed window, or max < base
  control_batch_not_allowed,
  unsupported_compression,  // codec id > 4
  // The log's state.
  offset_out_of_range,  // below the log start or above the log end
  log_failed,           // an earlier I/O failure made the log read-only until reopened
  log_closed,
  corrupt_metadata,  // a metadata file failed its checksum or has an unknown version
  folder_in_use,     // another process holds the data folder's lock
  unknown_partition,
  invalid_config,
  // Idempotent producers (storage/producer_state.h).
  out_of_order_sequence,   // a gap in a producer's sequence numbers
  invalid_producer_epoch,  // an older epoch than the producer's current one: fenced
};

const std::error_category& storage_category();

inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), storage_category()};
}

}  // namespace spate::storage

template <>
struct std::is_error_code_enum<spate::storage::errc> : std::true_type {};
