#include "spate/stream/windows.h"

#include <string>

namespace spate::stream::detail {

std::string window_spec::describe() const {
  switch (what) {
    case kind::tumbling:
      return "tumbling(" + std::to_string(size) + "ms)";
    case kind::hopping:
      return "hopping(" + std::to_string(size) + "ms, " + std::to_string(advance) + "ms)";
    case kind::session:
      return "session(" + std::to_string(gap) + "ms)";
  }
  return "?";
}

std::string window_spec::validate() const {
  switch (what) {
    case kind::tumbling:
      if (size <= 0) return "tumbling window size must be positive";
      return {};
    case kind::hopping:
      if (size <= 0 || advance <= 0) return "hopping window size and advance must be positive";
      // Larger advances would leave gaps no window covers, and a record there would look late.
      if (advance > size) return "hopping window advance must not exceed its size";
      return {};
    case kind::session:
      if (gap <= 0) return "session gap must be positive";
      return {};
  }
  return "unknown window kind";
}

}  // namespace spate::stream::detail
