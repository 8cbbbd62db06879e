// DescribeGroups (key 15). We advertise 0-4: profile R's 0-2 (kafka-compat.md §5.2) plus the
// two non-flexible versions after it, because librdkafka's Admin API (up to 4) reports static
// members' group.instance.id only from v4 (`spate group describe` shows it). kafkajs and
// kafka-python's admin client send 2, librdkafka's legacy rd_kafka_list_groups() 0. First
// flexible version: 5.
//
// By version: v1 adds throttle_time_ms to the response; v2 only changes throttling; v3 adds
// include_authorized_operations to the request and authorized_operations to each group; v4
// adds group_instance_id to each member; v5 is v4 made flexible. v6 (an error_message per
// group, GROUP_ID_NOT_FOUND) is not described.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct describe_groups_request {
  std::vector<std::string> groups;
  bool include_authorized_operations = false;  // v3+
  template <class V>
  void describe(V& v) {
    v(groups, "groups");
    v(include_authorized_operations, "include_authorized_operations", since(3));
  }
};

struct describe_groups_response {
  struct described_group_member {
    std::string member_id;
    std::optional<std::string> group_instance_id;  // v4+
    std::string client_id;
    std::string client_host;
    kafka::bytes member_metadata;    // the selected protocol's metadata; Stable groups only
    kafka::bytes member_assignment;  // Stable groups only
    template <class V>
    void describe(V& v) {
      v(member_id, "member_id");
      v(group_instance_id, "group_instance_id", since(4));
      v(client_id, "client_id");
      v(client_host, "client_host");
      v(member_metadata, "member_metadata");
      v(member_assignment, "member_assignment");
    }
  };
  struct described_group {
    int16_t error_code = 0;
    std::string group_id;
    std::string group_state;    // "Stable", "Empty", ... or "" on error
    std::string protocol_type;  // "" if unknown
    std::string protocol_data;  // the selected protocol's name; Stable groups only
    std::vector<described_group_member> members;  // empty for a Dead group
    // v3+. INT32_MIN means "not requested" (Kafka's AUTHORIZED_OPERATIONS_OMITTED).
    int32_t authorized_operations = INT32_MIN;
    template <class V>
    void describe(V& v) {
      v(error_code, "error_code");
      v(group_id, "group_id");
      v(group_state, "group_state");
      v(protocol_type, "protocol_type");
      v(protocol_data, "protocol_data");
      v(members, "members");
      v(authorized_operations, "authorized_operations", since(3));
    }
  };
  int32_t throttle_time_ms = 0;  // v1+
  std::vector<described_group> groups;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(groups, "groups");
  }
};

struct describe_groups_api {
  static constexpr api_key key = api_key::describe_groups;
  static constexpr const char* name = "DescribeGroups";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 4;
  static constexpr int16_t first_flexible = 5;
  using request = describe_groups_request;
  using response = describe_groups_response;
};

}  // namespace spate::kafka
