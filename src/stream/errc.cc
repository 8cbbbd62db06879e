#include "spate/stream/errc.h"

#include <string>

namespace spate::stream {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "stream"; }
  std::string message(int v) const override {
    switch (static_cast<errc>(v)) {
      case errc::invalid_topology:
        return "invalid stream topology";
      case errc::deserialization_failed:
        return "record could not be deserialized";
      case errc::invalid_timestamp:
        return "record has no valid event timestamp";
      case errc::unknown_topic:
        return "no source reads this topic";
      case errc::user_function_failed:
        return "a user function threw";
      case errc::state_store_failed:
        return "state store failed";
      case errc::engine_failed:
        return "engine stopped after an earlier failure";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::misplaced_key:
        return "record is not in the partition its key's partitioning promised";
    }
    return "unknown stream error " + std::to_string(v);
  }
};

}  // namespace

const std::error_category& stream_category() {
  static const category c;
  return c;
}

}  // namespace spate::stream
