// The pure parts of `spate group reset-offsets` and `describe`: parsing --topic and
// --to-datetime, choosing each partition's new offset, and the lag figures. No I/O, so
// tests/group_reset_test.cc checks them directly; group_cmd.cc feeds them what the cluster says.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "client/groups.h"

namespace spate::cli {

// "orders" (every partition) or "orders:0,2" (those partitions).
struct topic_spec {
  std::string topic;
  std::vector<int32_t> partitions;  // empty: all
};
result<topic_spec> parse_topic_spec(std::string_view s);

// "2026-11-26T15:04:05", with optional ".mmm" fraction and "Z" or "+hh:mm" / "-hh:mm" zone
// (none: UTC; a date alone is its midnight), as milliseconds since the epoch.
result<int64_t> parse_iso_datetime(std::string_view s);

struct reset_target {
  enum class kind { earliest, latest, offset, datetime, shift };
  kind how = kind::earliest;
  int64_t value = 0;  // the offset, the time (ms) or the shift
};

// What the cluster says about one partition, and the new position chosen for it.
struct partition_position {
  std::optional<int64_t> committed;
  int64_t log_start = 0;
  int64_t log_end = 0;
  std::optional<int64_t> at_time;  // for datetime: the first offset at or after the time
};

// The new committed offset of one partition, clamped to [log_start, log_end] as Kafka's tool
// does; an error for --shift-by on a partition with no committed offset.
result<int64_t> new_offset(const reset_target& t, const partition_position& p,
                           const client::topic_partition& tp);

// Seconds between the oldest unconsumed record's timestamp and `now_ms`; 0 when nothing is
// unconsumed, and never negative (a producer clock ahead of ours).
double lag_seconds(int64_t lag_messages, std::optional<int64_t> oldest_timestamp_ms,
                   int64_t now_ms);

}  // namespace spate::cli
