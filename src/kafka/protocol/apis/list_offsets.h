// ListOffsets (key 2). We advertise 1-2 (profile R): v1 for kafka-python, v2 for librdkafka
// and kafkajs. Timestamps -1 (latest) and -2 (earliest) are the special queries. First
// flexible version: 6.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct list_offsets_request {
  struct partition {
    int32_t partition_index = 0;
    int32_t current_leader_epoch = -1;  // v4+
    int64_t timestamp = 0;
    int32_t max_num_offsets = 1;  // v0 only
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(current_leader_epoch, "current_leader_epoch", since(4));
      v(timestamp, "timestamp");
      v(max_num_offsets, "max_num_offsets", until(0));
    }
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  int32_t replica_id = -1;
  int8_t isolation_level = 0;  // v2+
  std::vector<topic> topics;
  template <class V>
  void describe(V& v) {
    v(replica_id, "replica_id");
    v(isolation_level, "isolation_level", since(2));
    v(topics, "topics");
  }
};

struct list_offsets_response {
  struct partition {
    int32_t partition_index = 0;
    int16_t error_code = 0;
    std::vector<int64_t> old_style_offsets;  // v0 only
    int64_t timestamp = -1;                  // v1+
    int64_t offset = -1;                     // v1+
    int32_t leader_epoch = -1;               // v4+
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(error_code, "error_code");
      v(old_style_offsets, "old_style_offsets", until(0));
      v(timestamp, "timestamp", since(1));
      v(offset, "offset", since(1));
      v(leader_epoch, "leader_epoch", since(4));
    }
  };
  struct topic {
    std::string name;
    std::vector<partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  int32_t throttle_time_ms = 0;  // v2+
  std::vector<topic> topics;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(2));
    v(topics, "topics");
  }
};

struct list_offsets_api {
  static constexpr api_key key = api_key::list_offsets;
  static constexpr const char* name = "ListOffsets";
  static constexpr int16_t min_version = 1;
  static constexpr int16_t max_version = 2;
  static constexpr int16_t first_flexible = 6;
  using request = list_offsets_request;
  using response = list_offsets_response;
};

}  // namespace spate::kafka
