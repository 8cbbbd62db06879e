// groups: consumer groups as seen from outside — list, describe, committed offsets, change
// them, delete a group — over librdkafka's Admin API, plus the partition facts that describing
// a group's lag needs: watermarks, offsets by time and the timestamp of the first record at an
// offset. What `spate group` is built on.
//
//   auto a = client::admin::connect(cfg);
//   auto g = a->describe_group("billing");           // errc::unknown_group if there is none
//   auto committed = a->committed_offsets("billing");
//   auto [low, high] = *a->watermarks({"orders", 0});
//   SPATE_TRY(a->alter_offsets("billing", {{{"orders", 0}, 42}}));   // the group must be empty
//
// The functions are members of `admin` (admin.h); this header holds their types. Consumer
// group state names are Kafka's ("Stable", "Empty", "PreparingRebalance",
// "CompletingRebalance", "Dead"; "Unknown" when the broker's ListGroups is too old to say).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "client/config.h"

namespace spate::client {

struct topic_partition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const topic_partition&) const = default;
};

struct group_listing {
  std::string group_id;
  std::string state;
  bool is_simple = false;  // no members ever joined: only standalone commits (or no protocol)
};

struct group_member {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string host;
  std::vector<topic_partition> assignment;
};

struct group_info {
  std::string group_id;
  std::string state;
  std::string assignor;  // the chosen protocol, e.g. "range"; empty while Empty
  bool is_simple = false;
  int32_t coordinator = -1;  // the coordinator's broker id
  std::vector<group_member> members;
};

// The timestamp (ms) of the first record at or after each given offset — for the oldest
// unconsumed record of each partition, the position a group has committed. A partition with no
// record there (the offset is the end) is left out of the answer. Reads with a short-lived
// consumer, no group.
result<std::map<topic_partition, int64_t>> first_record_timestamps(
    const client_config& config, const std::map<topic_partition, int64_t>& positions);

}  // namespace spate::client
