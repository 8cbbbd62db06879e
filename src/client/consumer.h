// consumer: reads chosen partitions of a topic from a chosen position — the beginning, the
// end, an offset, the first record at or after a time (ListOffsets by timestamp) or the last
// N records — and returns records with key, value, headers, timestamp, partition and offset.
//
//   auto c = client::consumer::connect(cfg);
//   if (!c) return c.error();
//   SPATE_TRY(c->assign("orders", {}, start_position::beginning()));   // {}: all partitions
//   while (true) {
//     auto ev = c->poll(std::chrono::milliseconds(500));
//     if (!ev) return ev.error();
//     if (!*ev) continue;                                              // nothing yet
//     if (auto* m = std::get_if<message>(&**ev)) use(*m);
//     else break;                                                      // end_of_partition
//   }
//
// It reads without a consumer group: nothing is committed and no group coordinator is needed
// (the CLI's `spate consume`, tests, tools). Group consumption belongs to a separate type.
// Movable, not copyable; one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "client/cluster_info.h"
#include "client/config.h"
#include "client/record.h"

namespace spate::client {

// Where reading a partition starts.
struct start_position {
  enum class kind { beginning, end, offset, timestamp, last };
  kind where = kind::end;
  int64_t value = 0;  // the offset, the timestamp (ms), or how many records before the end

  static start_position beginning() { return {kind::beginning, 0}; }
  static start_position end() { return {kind::end, 0}; }
  static start_position at(spate::offset o) { return {kind::offset, o.value}; }
  static start_position at_time(timestamp_ms t) { return {kind::timestamp, t.value}; }
  static start_position last(int64_t n) { return {kind::last, n}; }
  bool operator==(const start_position&) const = default;
};

// "beginning" | "end" | "<offset>" | "@<timestamp-ms>" | "-<n>" (the last n records).
result<start_position> parse_start_position(std::string_view s);

// Reading caught up with the partition's end (its high watermark) at `next`. Reported each time
// the end is reached; more records may follow.
struct end_of_partition {
  std::string topic;
  partition_id partition{-1};
  spate::offset next{-1};
};

using consumer_event = std::variant<message, end_of_partition>;

class consumer {
 public:
  // Creates the consumer and checks that a broker answers within config.timeout.
  static result<consumer> connect(const client_config& config);

  consumer(consumer&&) noexcept;
  consumer& operator=(consumer&&) noexcept;
  ~consumer();

  // The topic's partition ids, from Metadata (which never creates the topic here);
  // errc::unknown_topic if it does not exist.
  result<std::vector<partition_id>> partitions(const std::string& topic);

  // Starts reading `topic`'s partitions `parts` (all of them when empty) at `from`. A
  // timestamp is resolved per partition; with no record at or after it, reading starts at the
  // end. Call at most once per topic.
  status assign(const std::string& topic, std::vector<partition_id> parts, start_position from);

  // The next record or end-of-partition, waiting up to `wait`; nullopt if none came. An error
  // is about one partition (e.g. an offset out of range) or the connection; is_retriable()
  // says whether reading may go on.
  result<std::optional<consumer_event>> poll(std::chrono::milliseconds wait);

  // Every (topic, partition) assigned so far.
  std::vector<std::pair<std::string, partition_id>> assignment() const;

  result<cluster_info> describe_cluster(metadata_scope scope = metadata_scope::all_topics);

 private:
  struct state;
  explicit consumer(std::unique_ptr<state> s);
  std::unique_ptr<state> _s;
};

}  // namespace spate::client
