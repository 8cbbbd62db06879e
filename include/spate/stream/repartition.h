// Repartition topics: what the Kafka runtime writes between the two halves of a task split at a
// key_by, so that every record of a key reaches the one task that holds the key's state.
//
// The record format (headers `spate.seq` on data, `spate.wm` on watermark control records) is
// specified with a worked example in docs/formats/stream-repartition.md; the constants below
// are that spec's.
//
//   int32_t p = kafka_partition("u42", 4);               // Kafka's default partitioner
//   auto h = encode_sequence_header({.task = 1, .sequence = 17});
//   auto c = decode_watermark_header(bytes);             // errc::deserialization_failed if bad
//
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "spate/stream/types.h"

namespace spate::stream {

// Kafka's murmur2 (the Java client's Utils.murmur2, librdkafka's rd_murmur2): 32-bit MurmurHash2
// of `data` with seed 0x9747b28c, as a signed int like the Java client returns it.
int32_t murmur2(std::string_view data);

// The partition Kafka's default partitioner picks for a non-null key: Java's DefaultPartitioner
// / BuiltInPartitioner and librdkafka's "murmur2"/"murmur2_random":
// (murmur2(key) & 0x7fffffff) % partitions. A topic any Kafka client produced keyed by the same
// bytes is therefore co-partitioned with a repartition topic.
int32_t kafka_partition(std::string_view key, int32_t partitions);

// "<application_id>-<step name>-repartition".
std::string repartition_topic(std::string_view application_id, std::string_view step);

inline constexpr std::string_view sequence_header = "spate.seq";
inline constexpr std::string_view watermark_header = "spate.wm";
inline constexpr uint8_t repartition_format_version = 1;

// On each data record: which upstream task wrote it and that task's sequence number for it
// (1, 2, 3, ... over all records the task writes to this topic, in writing order).
struct sequence_stamp {
  int32_t task = 0;
  int64_t sequence = 0;
  bool operator==(const sequence_stamp&) const = default;
};

// On each watermark control record (null key, null value): the upstream task's watermark for
// this topic, and whether it is idle (every partition it reads is idle: leave it out of the
// minimum until it sends again).
struct watermark_stamp {
  int32_t task = 0;
  timestamp_ms watermark = min_time;
  bool idle = false;
  bool operator==(const watermark_stamp&) const = default;
};

// 13 bytes: version, be32 task, be64 sequence.
std::string encode_sequence_header(const sequence_stamp& s);
result<sequence_stamp> decode_sequence_header(std::string_view bytes);
// 14 bytes: version, be32 task, be64 watermark (two's complement), flags (bit 0: idle).
std::string encode_watermark_header(const watermark_stamp& w);
result<watermark_stamp> decode_watermark_header(std::string_view bytes);

}  // namespace spate::stream
