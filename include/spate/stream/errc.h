// Expected failures of the stream library: what engine::process, the test driver and a
// topology's build() report. User code that throws is caught at the record boundary and comes
// back as `user_function_failed`, naming the record; nothing in the library aborts on input.
//
//   auto s = eng.process(rec);
//   if (!s && s.error().code == stream::errc::deserialization_failed) { ... }
#pragma once

#include <system_error>

#include "base/result.h"

namespace spate::stream {

enum class errc {
  invalid_topology = 1,    // the pipeline definition is inconsistent (build() says why)
  deserialization_failed,  // a record's key or value did not decode with its serde
  invalid_timestamp,       // event time requested but the record has none (< 0)
  unknown_topic,           // a record for a topic no source reads
  user_function_failed,    // a map/filter/process/aggregate function threw
  state_store_failed,      // the state store reported an I/O failure; the engine stopped
  engine_failed,           // an earlier failure stopped the engine; recreate and restore it
  invalid_argument,        // a call made out of order or with a bad value
  misplaced_key,           // a key_by_record_key step met a record its input's partitioning
                           // promise excludes (a null key, or a key of another task)
};

const std::error_category& stream_category();

inline std::error_code make_error_code(errc e) {
  return {static_cast<int>(e), stream_category()};
}

}  // namespace spate::stream

template <>
struct std::is_error_code_enum<spate::stream::errc> : std::true_type {};
