// The vocabulary of the stream library: the records the engine takes in and hands out (the
// seam to the Kafka runtime), time, windows and window results.
//
// Times are Kafka's: milliseconds since the Unix epoch (timestamp_ms). `min_time` stands for
// "no time yet" (a watermark before any record) and `max_time` for "end of input".
//
//   input_record in{.topic = "orders", .partition = partition_id(0), .offset = offset(17),
//                   .key = "u1", .value = R"({"user_id":"u1","amount":5})",
//                   .timestamp = timestamp_ms(1'700'000'000'000)};
//   windowed<std::string, int64_t> r;  // r.key, r.window.start/end, r.value
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/strong_id.h"
#include "client/record.h"

namespace spate::stream {

using duration = std::chrono::milliseconds;

inline constexpr timestamp_ms min_time{std::numeric_limits<int64_t>::min()};
inline constexpr timestamp_ms max_time{std::numeric_limits<int64_t>::max()};

// t + d without overflow: saturates at min_time/max_time, so "watermark + lateness" stays
// ordered even at the end of input.
constexpr timestamp_ms add_saturating(timestamp_ms t, int64_t d) {
  int64_t out = 0;
  if (__builtin_add_overflow(t.value, d, &out)) return d > 0 ? max_time : min_time;
  return timestamp_ms(out);
}

// One record read from a Kafka topic, as the runtime (or the test driver) hands it to
// engine::process. Null key or value is Kafka's null.
struct input_record {
  std::string topic;
  partition_id partition{0};
  spate::offset offset{0};
  std::optional<std::string> key;
  std::optional<std::string> value;
  timestamp_ms timestamp{-1};  // the record's timestamp; -1: none
  client::header_list headers;
};

// A record as the client's consumer returns it, for engine::process.
inline input_record to_input_record(client::message m) {
  return input_record{std::move(m.topic),  m.partition,        m.offset,
                      std::move(m.key),    std::move(m.value), m.timestamp,
                      std::move(m.headers)};
}

// One record a pipeline writes (a `to(topic)` step, or a repartitioning key_by). The runtime
// produces it as it is; unless `partition` is set, the partition is left to the producer's
// partitioner (hash of the key).
struct output_record {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;
  timestamp_ms timestamp{-1};
  client::header_list headers;  // set on dead letters ("spate.error") and repartition records
  std::optional<partition_id> partition;  // set on repartition records (Kafka's partitioner)
};

// Where an element came from: the source record, or nothing for derived results (a window's
// result has no single source record; partition and offset are then -1).
struct record_origin {
  std::string_view topic;  // points into the engine's topic names: valid while it lives
  partition_id partition{-1};
  spate::offset offset{-1};
};

// A time window [start, end): start inclusive, end exclusive. Its last timestamp, end - 1, is
// what the watermark has to pass before the window's result is final.
struct window {
  timestamp_ms start{0};
  timestamp_ms end{0};
  constexpr timestamp_ms max_timestamp() const { return timestamp_ms(end.value - 1); }
  constexpr bool contains(timestamp_ms t) const { return start <= t && t < end; }
  constexpr auto operator<=>(const window&) const = default;
};

// The result of an aggregation over one key's window. A window step emits one when the
// watermark passes the window's end, and again (an update with the same key and window) for
// each late-but-allowed record; session windows emit under the merged window's bounds.
template <class K, class R>
struct windowed {
  K key{};
  stream::window window;
  R value{};
  bool operator==(const windowed&) const = default;
};

// Names a side output of element type T: late records of a window step, or what a process
// function sends with ctx.output(tag, value). Compared by name; the type must agree.
template <class T>
struct output_tag {
  std::string name;
};

}  // namespace spate::stream
