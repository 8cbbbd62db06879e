#include "kafka/server/errors.h"

#include "storage/errc.h"

namespace spate::kafka {

error_code to_kafka_error(const error& e) {
  if (e.code.category() == storage::storage_category()) {
    switch (static_cast<storage::errc>(e.code.value())) {
      case storage::errc::batch_too_small:
      case storage::errc::batch_length_mismatch:
      case storage::errc::invalid_record_count:
      case storage::errc::invalid_records:
      case storage::errc::control_batch_not_allowed:
        return error_code::invalid_record;
      case storage::errc::batch_too_large:
        return error_code::message_too_large;
      case storage::errc::unsupported_magic:
        return error_code::unsupported_for_message_format;
      case storage::errc::corrupt_batch:
        return error_code::corrupt_message;
      case storage::errc::invalid_timestamp:
        return error_code::invalid_timestamp;
      case storage::errc::unsupported_compression:
        return error_code::unsupported_compression_type;
      case storage::errc::offset_out_of_range:
        return error_code::offset_out_of_range;
      case storage::errc::unknown_partition:
        return error_code::unknown_topic_or_partition;
      case storage::errc::invalid_config:
        return error_code::invalid_config;
      case storage::errc::log_failed:
      case storage::errc::log_closed:
      case storage::errc::corrupt_metadata:
      case storage::errc::folder_in_use:
        return error_code::kafka_storage_error;
    }
  }
  // Anything from the OS (ENOSPC, EIO, ...) is a storage error the client may retry.
  if (e.code.category() == std::generic_category() || e.code.category() == std::system_category()) {
    return error_code::kafka_storage_error;
  }
  return error_code::unknown_server_error;
}

}  // namespace spate::kafka
