#include "kafka/coordinator/errc.h"

#include <string>

namespace spate::coordinator {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "coordinator"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::unknown_member_id:
        return "unknown member id";
      case errc::illegal_generation:
        return "stale or unknown generation";
      case errc::rebalance_in_progress:
        return "the group is rebalancing";
      case errc::inconsistent_group_protocol:
        return "protocol type or protocols do not match the group's";
      case errc::invalid_session_timeout:
        return "session timeout outside the allowed range";
      case errc::member_id_required:
        return "rejoin with the member id given";
      case errc::fenced_instance_id:
        return "a newer member holds this group.instance.id";
      case errc::group_id_not_found:
        return "no such group";
      case errc::non_empty_group:
        return "the group still has members";
      case errc::invalid_group_id:
        return "invalid group id";
      case errc::coordinator_not_available:
        return "the group is being removed";
      case errc::group_max_size_reached:
        return "the group is full";
      case errc::invalid_commit_offset_size:
        return "commit metadata too large";
    }
    return "coordinator error " + std::to_string(v);
  }
};

}  // namespace

const std::error_category& coordinator_category() {
  static const category c;
  return c;
}

}  // namespace spate::coordinator
