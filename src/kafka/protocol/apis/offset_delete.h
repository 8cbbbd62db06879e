// OffsetDelete (key 47). We advertise 0, its only version (kafka-compat.md §4.4): librdkafka
// implements only v0, so the minimum must be 0 or it refuses the request locally (§3.1).
// Deletes a group's committed offsets for some partitions; refused per partition with
// GROUP_SUBSCRIBED_TO_TOPIC while the group still consumes the topic. Never flexible.
#pragma once

#include <cstdint>

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct offset_delete_request {
  struct offset_delete_request_partition {
    int32_t partition_index = 0;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
    }
  };
  struct offset_delete_request_topic {
    std::string name;
    std::vector<offset_delete_request_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  std::string group_id;
  std::vector<offset_delete_request_topic> topics;
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id");
    v(topics, "topics");
  }
};

struct offset_delete_response {
  struct offset_delete_response_partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(error_code, "error_code");
    }
  };
  struct offset_delete_response_topic {
    std::string name;
    std::vector<offset_delete_response_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  int16_t error_code = 0;  // group-level errors; note it comes before throttle_time_ms
  int32_t throttle_time_ms = 0;
  std::vector<offset_delete_response_topic> topics;
  template <class V>
  void describe(V& v) {
    v(error_code, "error_code");
    v(throttle_time_ms, "throttle_time_ms");
    v(topics, "topics");
  }
};

struct offset_delete_api {
  static constexpr api_key key = api_key::offset_delete;
  static constexpr const char* name = "OffsetDelete";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 0;
  // Kafka defines no flexible version ("none"): no version reaches this one.
  static constexpr int16_t first_flexible = INT16_MAX;
  using request = offset_delete_request;
  using response = offset_delete_response;
};

}  // namespace spate::kafka
