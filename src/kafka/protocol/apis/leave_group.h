// LeaveGroup (key 13). We advertise 0-1 (profile R, kafka-compat.md §5.2): all three clients
// send 1 (librdkafka's maximum), kafkajs would send up to 3. librdkafka static members never
// send it (§10.5). First flexible version: 4.
//
// By version: v1 adds throttle_time_ms to the response; v2 only changes throttling; v3
// replaces the single member_id with a batch of members (member id + group instance id) and
// answers per member; v4 is v3 made flexible. The v3-v4 form is described so that raising
// the maximum is one line; v5 (a reason per member) is not.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct leave_group_request {
  struct member_identity {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // null: a dynamic member
    template <class V>
    void describe(V& v) {
      v(member_id, "member_id");
      v(group_instance_id, "group_instance_id");
    }
  };
  std::string group_id;
  std::string member_id;                 // v0-2
  std::vector<member_identity> members;  // v3+
  template <class V>
  void describe(V& v) {
    v(group_id, "group_id");
    v(member_id, "member_id", until(2));
    v(members, "members", since(3));
  }
};

struct leave_group_response {
  struct member_response {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // null for a dynamic member
    int16_t error_code = 0;
    template <class V>
    void describe(V& v) {
      v(member_id, "member_id");
      v(group_instance_id, "group_instance_id");
      v(error_code, "error_code");
    }
  };
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<member_response> members;  // v3+
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code");
    v(members, "members", since(3));
  }
};

struct leave_group_api {
  static constexpr api_key key = api_key::leave_group;
  static constexpr const char* name = "LeaveGroup";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 1;
  static constexpr int16_t first_flexible = 4;
  using request = leave_group_request;
  using response = leave_group_response;
};

}  // namespace spate::kafka
