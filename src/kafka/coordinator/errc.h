// Expected outcomes of group coordination. They mirror the Kafka group error codes one to one
// (kafka/server maps them in errors.cc) but belong to this module, which knows no wire format.
#pragma once

#include <system_error>

namespace spate::coordinator {

enum class errc {
  unknown_member_id = 1,
  illegal_generation,
  rebalance_in_progress,
  inconsistent_group_protocol,
  invalid_session_timeout,
  member_id_required,
  fenced_instance_id,
  group_id_not_found,
  non_empty_group,
  invalid_group_id,
  coordinator_not_available,
  group_max_size_reached,
  invalid_commit_offset_size,
};

const std::error_category& coordinator_category();

inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), coordinator_category()};
}

}  // namespace spate::coordinator

template <>
struct std::is_error_code_enum<spate::coordinator::errc> : std::true_type {};
