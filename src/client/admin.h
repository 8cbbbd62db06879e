// admin: topic management over librdkafka's Admin API — create, delete, list, describe
// topics, describe and alter their configs, add partitions — plus cluster metadata.
//
//   auto a = client::admin::connect(cfg);          // fails with broker_unreachable in time
//   if (!a) return a.error();
//   SPATE_TRY(a->create_topic({.name = "orders", .partitions = 3}));
//   auto configs = a->describe_configs("orders");
//
// Each call is one request that waits for its answer (bounded by client_config::timeout).
// Owns one librdkafka client; movable, not copyable; use from one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "client/cluster_info.h"
#include "client/config.h"
#include "client/groups.h"

namespace spate::client {

namespace detail {
class handle;
}

struct new_topic {
  std::string name;
  int32_t partitions = -1;          // -1: the broker's default
  int16_t replication_factor = -1;  // -1: the broker's default
  std::map<std::string, std::string> configs;
};

// One topic config as DescribeConfigs reports it.
struct config_entry {
  std::string name;
  std::optional<std::string> value;  // unset for sensitive or unset values
  std::string source;  // librdkafka's name, e.g. "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG"
  bool is_default = false;
  bool read_only = false;
  bool sensitive = false;
  // Set on this topic (rather than inherited from the broker or its defaults).
  bool is_topic_override() const { return source == "DYNAMIC_TOPIC_CONFIG"; }
};

class admin {
 public:
  // Creates the client and checks that a broker answers within config.timeout.
  static result<admin> connect(const client_config& config);

  admin(admin&&) noexcept;
  admin& operator=(admin&&) noexcept;
  ~admin();

  status create_topic(const new_topic& topic);
  status delete_topic(const std::string& name);
  // Grows the topic to `total` partitions (Kafka never shrinks a topic).
  status create_partitions(const std::string& topic, int32_t total);

  // Names of all topics, sorted. Uses Metadata, so it works on any broker.
  result<std::vector<std::string>> list_topics();
  // Partitions, leaders and replicas of one topic; errc::unknown_topic if there is none.
  // Asks for all topics and picks one, so it never auto-creates the topic.
  result<topic_info> describe_topic(const std::string& name);
  result<cluster_info> describe_cluster(metadata_scope scope = metadata_scope::all_topics);

  // Every config of the topic, in the broker's order.
  result<std::vector<config_entry>> describe_configs(const std::string& topic);
  // AlterConfigs (not the incremental form, which librdkafka 2.0 lacks): `configs` becomes the
  // topic's whole set of overrides; a config left out returns to its default. To change one
  // setting, read the overrides with describe_configs and send them all back (see
  // merge_overrides).
  status alter_configs(const std::string& topic, const std::map<std::string, std::string>& configs);

  // Consumer groups (types and an example in groups.h). Every group the cluster's coordinators
  // know, sorted by id.
  result<std::vector<group_listing>> list_groups();
  // State, assignor and members with their assignments; errc::unknown_group if the group does
  // not exist (Kafka describes an unknown group as Dead with no members).
  result<group_info> describe_group(const std::string& group);
  // The group's committed offsets (every partition it has committed for). An unknown group has
  // none.
  result<std::map<topic_partition, int64_t>> committed_offsets(const std::string& group);
  // Commits `offsets` for the group, as a consumer outside the group would (generation -1), so
  // the coordinator refuses it while the group has members: errc::group_not_empty.
  status alter_offsets(const std::string& group, const std::map<topic_partition, int64_t>& offsets);
  // Deletes an empty group and its offsets; errc::unknown_group, errc::group_not_empty.
  status delete_group(const std::string& group);

  // Deletes the records below `before` in each partition (DeleteRecords): the log start offset
  // moves there. Per partition errors (an unknown partition, an offset past the end) fail the
  // whole call, naming the partition.
  status delete_records(const std::map<topic_partition, int64_t>& before);

  // The partition's log start and end offsets (ListOffsets).
  result<std::pair<int64_t, int64_t>> watermarks(const topic_partition& tp);
  // Per partition, the first offset whose record timestamp is >= `time_ms`, or the log end
  // offset if no record is that new.
  result<std::map<topic_partition, int64_t>> offsets_for_time(
      const std::vector<topic_partition>& partitions, int64_t time_ms);

 private:
  explicit admin(std::unique_ptr<detail::handle> h);
  std::unique_ptr<detail::handle> _h;
};

// The topic overrides in `current` with `set` applied and `remove` taken out: what to pass to
// alter_configs to change only those settings.
std::map<std::string, std::string> merge_overrides(const std::vector<config_entry>& current,
                                                   const std::map<std::string, std::string>& set,
                                                   const std::vector<std::string>& remove);

}  // namespace spate::client
