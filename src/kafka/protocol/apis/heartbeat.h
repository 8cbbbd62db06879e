// Heartbeat (key 12). We advertise 0-3 (profile R, kafka-compat.md §5.2): librdkafka and
// kafkajs send 3, kafka-python 1. A heartbeat refreshes the member's session; during a
// rebalance it answers REBALANCE_IN_PROGRESS (§10.1). First flexible version: 4.
//
// By version: v1 adds throttle_time_ms to the response; v2 only changes throttling; v3 adds
// group_instance_id (KIP-345); v4 is v3 made flexible.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct heartbeat_request {
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;  // v3+
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id");
    v(generation_id, "generation_id");
    v(member_id, "member_id");
    v(group_instance_id, "group_instance_id", since(3));
  }
};

struct heartbeat_response {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code");
  }
};

struct heartbeat_api {
  static constexpr api_key key = api_key::heartbeat;
  static constexpr const char* name = "Heartbeat";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 3;
  static constexpr int16_t first_flexible = 4;
  using request = heartbeat_request;
  using response = heartbeat_response;
};

}  // namespace spate::kafka
