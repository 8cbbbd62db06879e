// SyncGroup (key 14). We advertise 0-3 (profile R, kafka-compat.md §5.2): librdkafka and
// kafkajs send 3, kafka-python 1. The leader sends every member's assignment; followers send
// none and are parked until the leader's arrives (§10.1). First flexible version: 4.
//
// By version: v1 adds throttle_time_ms to the response; v2 only changes throttling; v3 adds
// group_instance_id (KIP-345); v4 is v3 made flexible. v5 (protocol_type and protocol_name
// in both directions, KIP-559) is not described.
//
// Assignments are opaque bytes to the broker (§10.4): each member gets its own, or empty
// bytes if the leader left it out.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct sync_group_request {
  struct sync_group_request_assignment {
    std::string member_id;
    kafka::bytes assignment;  // ConsumerProtocol Assignment, opaque to the broker
    template <class V>
    void describe(V& v) {
      v(member_id, "member_id");
      v(assignment, "assignment");
    }
  };
  std::string group_id;
  int32_t generation_id = 0;
  std::string member_id;
  std::optional<std::string> group_instance_id;            // v3+
  std::vector<sync_group_request_assignment> assignments;  // the leader's; empty from others
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id");
    v(generation_id, "generation_id");
    v(member_id, "member_id");
    v(group_instance_id, "group_instance_id", since(3));
    v(assignments, "assignments");
  }
};

struct sync_group_response {
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  kafka::bytes assignment;  // this member's assignment
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code");
    v(assignment, "assignment");
  }
};

struct sync_group_api {
  static constexpr api_key key = api_key::sync_group;
  static constexpr const char* name = "SyncGroup";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 3;
  static constexpr int16_t first_flexible = 4;
  using request = sync_group_request;
  using response = sync_group_response;
};

}  // namespace spate::kafka
