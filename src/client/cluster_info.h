// cluster_info: what a Metadata request says about the cluster — brokers, topics, partitions,
// leaders and replicas. Every client (admin, producer, consumer) can fetch it; the free
// function below does so with a short-lived client of its own.
//
//   auto info = client::describe_cluster(cfg);
//   if (!info) return info.error();
//   for (auto& b : info->brokers) fmt::print("{} {}:{}\n", b.id, b.host, b.port);
//
// Fetching it never creates a topic: it asks for all topics (or none), not for names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/strong_id.h"
#include "client/config.h"

namespace spate::client {

struct broker_info {
  int32_t id = -1;
  std::string host;
  int port = 0;
};

struct partition_info {
  partition_id id{-1};
  int32_t leader = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
  std::optional<spate::error> error;  // set when the broker reported one for this partition
};

struct topic_info {
  std::string name;
  std::vector<partition_info> partitions;
  std::optional<spate::error> error;
};

struct cluster_info {
  std::optional<std::string> cluster_id;  // unset when the broker does not report one
  int32_t controller_id = -1;             // -1 when unknown
  int32_t answered_by = -1;               // the broker that served the request
  std::vector<broker_info> brokers;
  std::vector<topic_info> topics;  // empty when only brokers were asked for

  // The topic called `name`, or nullptr.
  const topic_info* find(const std::string& name) const;
};

// Which topics describe_cluster asks about.
enum class metadata_scope { brokers_only, all_topics };

// Connects with a client of its own, fetches metadata, disconnects.
result<cluster_info> describe_cluster(const client_config& config,
                                      metadata_scope scope = metadata_scope::all_topics);

}  // namespace spate::client
