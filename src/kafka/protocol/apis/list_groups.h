// ListGroups (key 16). We advertise 0-2 (profile R, kafka-compat.md §5.2): librdkafka's Admin
// API, kafkajs and kafka-python's admin client send 2, librdkafka's legacy
// rd_kafka_list_groups() 0. librdkafka's Admin API would send the flexible v3-v4 if we
// advertised them. First flexible version: 3.
//
// By version: the v0-v2 request is empty; v1 adds throttle_time_ms to the response; v2 only
// changes throttling; v3 is v2 made flexible. v4 (a states filter, sent as a tagged field,
// and group_state per group) and v5 (group_type) are not described.
#pragma once

#include "kafka/protocol/api.h"

namespace spate::kafka {

struct list_groups_request {
  template <class V>
  void describe(V&) {}
};

struct list_groups_response {
  struct listed_group {
    std::string group_id;
    std::string protocol_type;
    template <class V>
    void describe(V& v) {
      v(group_id, "group_id");
      v(protocol_type, "protocol_type");
    }
  };
  int32_t throttle_time_ms = 0;  // v1+
  int16_t error_code = 0;
  std::vector<listed_group> groups;
  template <class V>
  void describe(V& v) {
    v(throttle_time_ms, "throttle_time_ms", since(1));
    v(error_code, "error_code");
    v(groups, "groups");
  }
};

struct list_groups_api {
  static constexpr api_key key = api_key::list_groups;
  static constexpr const char* name = "ListGroups";
  static constexpr int16_t min_version = 0;
  static constexpr int16_t max_version = 2;
  static constexpr int16_t first_flexible = 3;
  using request = list_groups_request;
  using response = list_groups_response;
};

}  // namespace spate::kafka
