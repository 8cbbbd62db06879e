// The records the coordinator keeps in its internal topic (__consumer_offsets): one per
// committed offset, keyed by (group, topic, partition), newest wins; a null value deletes.
// Format and worked example: docs/formats/group-records.md.
//
//   auto batch = encode_commit("g", offsets, wall_now());   // a RecordBatch to append
//   SPATE_TRY(load_offsets(log, gc));                       // at start: replay the log
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

// Replays every record of `log` into `gc`; returns how many offset records were applied.
result<size_t> load_offsets(storage::partition_log& log, group_coordinator& gc);

}  // namespace spate::coordinator
