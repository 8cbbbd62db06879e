// The records the producer sends and the consumer returns: key, value, headers, timestamp and
// where in the log they are. Plain values that own their bytes; no librdkafka types.
//
// Keys, values and header values are byte strings (std::string may hold any bytes). A missing
// key or value (std::nullopt) is Kafka's null, which differs from an empty one: a null value is
// a tombstone on a compacted topic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/strong_id.h"

namespace spate::client {

struct header {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const header&) const = default;
};
using header_list = std::vector<header>;

// What producer::produce sends.
struct outgoing_record {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  header_list headers;
  std::optional<partition_id> partition;  // unset: librdkafka's partitioner (hash of the key)
  std::optional<timestamp_ms> timestamp;  // unset: the producer's clock at produce()
};

// Where a produced record landed. With acks=0 the broker does not answer, so offset is -1.
struct record_position {
  std::string topic;
  partition_id partition{-1};
  spate::offset offset{-1};
  timestamp_ms timestamp{-1};
};

enum class timestamp_type { none, create_time, log_append_time };

// A record the consumer read.
struct message {
  std::string topic;
  partition_id partition{-1};
  spate::offset offset{-1};
  timestamp_ms timestamp{-1};
  timestamp_type ts_type = timestamp_type::none;
  std::optional<std::string> key;
  std::optional<std::string> value;
  header_list headers;
};

}  // namespace spate::client
