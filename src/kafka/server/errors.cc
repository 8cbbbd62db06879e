#include "kafka/server/errors.h"

#include "kafka/coordinator/errc.h"
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
      case storage::errc::out_of_order_sequence:
        return error_code::out_of_order_sequence_number;
      case storage::errc::invalid_producer_epoch:
        return error_code::invalid_producer_epoch;
      case storage::errc::log_failed:
      case storage::errc::log_closed:
      case storage::errc::corrupt_metadata:
      case storage::errc::folder_in_use:
        return error_code::kafka_storage_error;
    }
  }
  if (e.code.category() == coordinator::coordinator_category()) {
    return to_kafka_error(e.code);
  }
  // Anything from the OS (ENOSPC, EIO, ...) is a storage error the client may retry.
  if (e.code.category() == std::generic_category() || e.code.category() == std::system_category()) {
    return error_code::kafka_storage_error;
  }
  return error_code::unknown_server_error;
}

error_code to_kafka_error(std::error_code e) {
  if (!e) return error_code::none;
  if (e.category() != coordinator::coordinator_category()) return to_kafka_error(error(e));
  switch (static_cast<coordinator::errc>(e.value())) {
    case coordinator::errc::unknown_member_id:
      return error_code::unknown_member_id;
    case coordinator::errc::illegal_generation:
      return error_code::illegal_generation;
    case coordinator::errc::rebalance_in_progress:
      return error_code::rebalance_in_progress;
    case coordinator::errc::inconsistent_group_protocol:
      return error_code::inconsistent_group_protocol;
    case coordinator::errc::invalid_session_timeout:
      return error_code::invalid_session_timeout;
    case coordinator::errc::member_id_required:
      return error_code::member_id_required;
    case coordinator::errc::fenced_instance_id:
      return error_code::fenced_instance_id;
    case coordinator::errc::group_id_not_found:
      return error_code::group_id_not_found;
    case coordinator::errc::non_empty_group:
      return error_code::non_empty_group;
    case coordinator::errc::invalid_group_id:
      return error_code::invalid_group_id;
    case coordinator::errc::coordinator_not_available:
      return error_code::coordinator_not_available;
    case coordinator::errc::group_max_size_reached:
      return error_code::group_max_size_reached;
    case coordinator::errc::invalid_commit_offset_size:
      return error_code::invalid_commit_offset_size;
  }
  return error_code::unknown_server_error;
}

}  // namespace spate::kafka
