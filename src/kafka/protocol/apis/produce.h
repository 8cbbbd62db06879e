// Produce (key 0). We advertise 0-7: only v3+ (magic 2) is ever sent by our clients, but
// librdkafka 2.0.2 turns gzip/snappy/lz4 off unless v0 is in range (kafka-compat.md §1 rule
// 2). Requests below v3 are refused. First flexible version: 9.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct produce_request {
  struct partition_produce_data {
    int32_t index = 0;
    kafka::records records;
    template <class V>
    void describe(V& v) {
      v(index, "index");
      v(records, "records");
    }
  };
  struct topic_produce_data {
    std::string name;
    std::vector<partition_produce_data> partition_data;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partition_data, "partition_data");
    }
  };
  std::optional<std::string> transactional_id;  // v3+
  int16_t acks = 0;
  int32_t timeout_ms = 0;
  std::vector<topic_produce_data> topic_data;
  template <class V>
  void describe(V& v) {
    v(transactional_id, "transactional_id", since(3));
    v(acks, "acks");
    v(timeout_ms, "timeout_ms");
    v(topic_data, "topic_data");
  }
};

struct produce_response {
  struct batch_index_and_error_message {
    int32_t batch_index = 0;
    std::optional<std::string> batch_index_error_message;
    template <class V>
    void describe(V& v) {
      v(batch_index, "batch_index");
      v(batch_index_error_message, "batch_index_error_message");
    }
  };
  struct partition_response {
    int32_t index = 0;
    int16_t error_code = 0;
    int64_t base_offset = -1;
    int64_t log_append_time_ms = -1;                           // v2+
    int64_t log_start_offset = -1;                             // v5+
    std::vector<batch_index_and_error_message> record_errors;  // v8+
    std::optional<std::string> error_message;                  // v8+
    template <class V>
    void describe(V& v) {
      v(index, "index");
      v(error_code, "error_code");
      v(base_offset, "base_offset");
      v(log_append_time_ms, "log_append_time_ms", since(2));
      v(log_start_offset, "log_start_offset", since(5));
      v(record_errors, "record_errors", since(8));
      v(error_message, "error_message", since(8));
    }
  };
  struct topic_response {
    std::string name;
    std::vector<partition_response> partition_responses;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(partition_responses, "partition_responses");
    }
  };
  std::vector<topic_response> responses;
  int32_t throttle_time_ms = 0;  // v1+
  template <class V>
  void describe(V& v) {
    v(responses, "responses");
    v(throttle_time_ms, "throttle_time_ms", since(1));
  }
};

struct produce_api {
  static constexpr api_key key = api_key::produce;
  static constexpr const char* name = "Produce";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 7;
  static constexpr int16_t first_flexible = 9;
  using request = produce_request;
  using response = produce_response;
};

}  // namespace spate::kafka
