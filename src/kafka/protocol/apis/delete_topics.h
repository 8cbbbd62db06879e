// DeleteTopics (key 20). We advertise 0-1 (profile R): librdkafka and kafkajs send 1,
// kafka-python's admin client min(3, our max). Sent to the controller. First flexible
// version: 4.
//
// By version: v1 adds throttle_time_ms to the response. v2 (respond before throttling) and v3
// (may return TOPIC_DELETION_DISABLED) have the v1 layout, so advertising up to 3 needs no
// change here. v5 (error_message) and v6 (topics by name or id) are flexible and not described.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct delete_topics_request {
  std::vector<std::string> topic_names;  // v0-5; v6 replaces it with `topics`
  int32_t timeout_ms = 0;
  template <class V>
  void describe(V& v) {
    v(topic_names, "topic_names", until(5));
    v(timeout_ms, "timeout_ms");
  }
};

struct delete_topics_response {
  struct deletable_topic_result {
    std::string name;
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(name, "name");
      v(error_code, "error_code");
    }
  };
  int32_t throttle_time_ms = 0;  // v1+
  std::vector<deletable_topic_result> responses;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(responses, "responses");
  }
};

struct delete_topics_api {
  static constexpr api_key key = api_key::delete_topics;
  static constexpr const char* name = "DeleteTopics";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 4;
  using request = delete_topics_request;
  using response = delete_topics_response;
};

}  // namespace spate::kafka
