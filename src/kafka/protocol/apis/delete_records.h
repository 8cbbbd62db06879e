// DeleteRecords (key 21). We advertise 0-1: librdkafka and kafkajs send 1. v1 has the v0
// layout (it only responds before throttling). First flexible version: 2.
//
// Each partition's `offset` is the new log start offset: records below it are deleted; -1
// means the high watermark.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct delete_records_request {
  struct delete_records_partition {
    int32_t partition_index = 0;
    int64_t offset = 0;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(offset, "offset");
    }
  };
  struct delete_records_topic {
    std::string name;
    std::vector<delete_records_partition> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  std::vector<delete_records_topic> topics;
  int32_t timeout_ms = 0;
  template <class V>
  void describe(V& v) {
    v(topics, "topics");
    v(timeout_ms, "timeout_ms");
  }
};

struct delete_records_response {
  struct delete_records_partition_result {
    int32_t partition_index = 0;
    int64_t low_watermark = 0;
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(partition_index, "partition_index");
      v(low_watermark, "low_watermark");
      v(error_code, "error_code");
    }
  };
  struct delete_records_topic_result {
    std::string name;
    std::vector<delete_records_partition_result> partitions;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partitions, "partitions");
    }
  };
  int32_t throttle_time_ms = 0;
  std::vector<delete_records_topic_result> topics;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms");
    v(topics, "topics");
  }
};

struct delete_records_api {
  static constexpr api_key key = api_key::delete_records;
  static constexpr const char* name = "DeleteRecords";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 2;
  using request = delete_records_request;
  using response = delete_records_response;
};

}  // namespace spate::kafka
