// The records the coordinator keeps in its internal topic (__consumer_offsets): one per
// committed offset, keyed by (group, topic, partition), and one per group holding its
// metadata (generation, leader, members, assignments), keyed by the group; newest wins, a null
// value deletes. Format and worked example: docs/formats/group-records.md.
//
//   auto batch = encode_commit("g", offsets, wall_now());   // a RecordBatch to append
//   auto meta = encode_group(snapshot, wall_now());         // or encode_group_tombstone("g")
//   SPATE_TRY(load_offsets(log, gc, mono_now));             // at start: replay the log
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "kafka/coordinator/group_coordinator.h"
#include "storage/partition_log.h"

namespace spate::coordinator {

constexpr const char* offsets_topic = "__consumer_offsets";

// One batch holding a record per offset (a null `committed_offset` deletes that partition's).
byte_buffer encode_commit(
    const std::string& group,
    const std::vector<std::pair<topic_partition_key, std::optional<committed_offset>>>& offsets,
    timestamp_ms now);

struct offset_record {
  std::string group;
  topic_partition_key partition;
  std::optional<committed_offset> value;  // nullopt: deleted
};
// nullopt if the record is not an offset record of a version we know.
std::optional<offset_record> decode_offset_record(bytes_view key, std::optional<bytes_view> value);

// One batch holding the group's metadata record (key version 2, value version 3).
byte_buffer encode_group(const group_snapshot& g, timestamp_ms now);
// One batch deleting the group's metadata record (the group was deleted).
byte_buffer encode_group_tombstone(const std::string& group, timestamp_ms now);

struct group_record {
  std::string group;
  std::optional<group_snapshot> value;  // nullopt: deleted
  int64_t state_timestamp_ms = -1;
};
// nullopt if the record is not a group-metadata record of a version we know.
std::optional<group_record> decode_group_record(bytes_view key, std::optional<bytes_view> value);

struct loaded_records {
  size_t offsets = 0;  // offset records applied
  size_t groups = 0;   // group-metadata records applied
};
// Replays every record of `log` into `gc`, in log order, so the newest record of each key
// wins. Restored members' sessions start at `now`.
result<loaded_records> load_offsets(storage::partition_log& log, group_coordinator& gc,
                                    mono_clock::time_point now);

}  // namespace spate::coordinator
