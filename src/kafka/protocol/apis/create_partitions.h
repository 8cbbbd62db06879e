// CreatePartitions (key 37). We advertise 0-1: librdkafka 2.0.2 implements only v0 (so the
// minimum must be 0, kafka-compat.md §3.1), kafkajs and kafka-python's admin client send 1.
// v1 has the v0 layout (it only responds before throttling). Sent to the controller. First
// flexible version: 2.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct create_partitions_request {
  struct create_partitions_assignment {
    std::vector<int32_t> broker_ids;
    template <class V>
    void describe(V& v) {
      v(broker_ids, "broker_ids");
    }
  };
  struct create_partitions_topic {
    std::string name;
    int32_t count = 0;  // the new total partition count
    // One entry per new partition, or null to let the broker place them.
    std::optional<std::vector<create_partitions_assignment>> assignments;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(count, "count");
      v(assignments, "assignments");
    }
  };
  std::vector<create_partitions_topic> topics;
  int32_t timeout_ms = 0;
  bool validate_only = false;
  template <class V>
  void describe(V& v) {
    v(topics, "topics");
    v(timeout_ms, "timeout_ms");
    v(validate_only, "validate_only");
  }
};

struct create_partitions_response {
  struct create_partitions_topic_result {
    std::string name;
    int16_t error_code = 0;
    std::optional<std::string> error_message;  // null if there was no error
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(error_code, "error_code");
      v(error_message, "error_message");
    }
  };
  int32_t throttle_time_ms = 0;
  std::vector<create_partitions_topic_result> results;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms");
    v(results, "results");
  }
};

struct create_partitions_api {
  static constexpr api_key key = api_key::create_partitions;
  static constexpr const char* name = "CreatePartitions";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 2;
  using request = create_partitions_request;
  using response = create_partitions_response;
};

}  // namespace spate::kafka
