// Metadata (key 3). We advertise 0-4 (profile R); fields of later versions are described so
// raising the maximum is one line. First flexible version: 9.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct metadata_request {
  struct topic {
    std::string name;
    template <class V>
    void describe(V& v) {
      v(name, "name");
    }
  };
  // v0: an empty array means all topics. v1+: null means all topics, empty means none.
  std::optional<std::vector<topic>> topics;
  bool allow_auto_topic_creation = true;  // v4+
  template <class V>
  void describe(V& v) {
    v(topics, "topics");
    v(allow_auto_topic_creation, "allow_auto_topic_creation", since(4));
  }
};

struct metadata_response {
  struct broker {
    int32_t node_id = 0;
    std::string host;
    int32_t port = 0;
    std::optional<std::string> rack;  // v1+
    template <class V>
    void describe(V& v) {
      v(node_id, "node_id");
      v(host, "host");
      v(port, "port");
      v(rack, "rack", since(1));
    }
  };
  struct partition {
    int16_t error_code = 0;
    int32_t partition_index = 0;
    int32_t leader_id = 0;
    int32_t leader_epoch = -1;  // v7+
    std::vector<int32_t> replica_nodes;
    std::vector<int32_t> isr_nodes;
    std::vector<int32_t> offline_replicas;  // v5+
    template <class V>
    void describe(V& v) {
      v(error_code, "error_code");
      v(partition_index, "partition_index");
      v(leader_id, "leader_id");
      v(leader_epoch, "leader_epoch", since(7));
      v(replica_nodes, "replica_nodes");
      v(isr_nodes, "isr_nodes");
      v(offline_replicas, "offline_replicas", since(5));
    }
  };
  struct topic {
    int16_t error_code = 0;
    std::string name;
    bool is_internal = false;  // v1+
    std::vector<partition> partitions;
    int32_t topic_authorized_operations = INT32_MIN;  // v8+
    template <class V>
    void describe(V& v) {
      v(error_code, "error_code");
      v(name, "name");
      v(is_internal, "is_internal", since(1));
      v(partitions, "partitions");
      v(topic_authorized_operations, "topic_authorized_operations", since(8));
    }
  };
  int32_t throttle_time_ms = 0;  // v3+
  std::vector<broker> brokers;
  std::optional<std::string> cluster_id;  // v2+
  int32_t controller_id = -1;             // v1+
  std::vector<topic> topics;
  int32_t cluster_authorized_operations = INT32_MIN;  // v8-10
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(3));
    v(brokers, "brokers");
    v(cluster_id, "cluster_id", since(2));
    v(controller_id, "controller_id", since(1));
    v(topics, "topics");
    v(cluster_authorized_operations, "cluster_authorized_operations", versions{8, 10});
  }
};

struct metadata_api {
  static constexpr api_key key = api_key::metadata;
  static constexpr const char* name = "Metadata";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;
  static constexpr int16_t first_flexible = 9;
  using request = metadata_request;
  using response = metadata_response;
};

}  // namespace spate::kafka
